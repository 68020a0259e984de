"""Unattended-install configs (Ubuntu autoinstall, Debian preseed) for a device."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.boot.ipxe import render_operator_template
from api.models import Device

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                   keep_trailing_newline=True)
_env.filters["shell_quote"] = shlex.quote

_USER_OK = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def _safe_user(name: str | None) -> str:
    """The OS's default user if it is a plain Unix user name, else root."""
    return name if name and _USER_OK.fullmatch(name) else "root"


BUILTIN = {"autoinstall": "ubuntu-autoinstall.yaml.j2", "preseed": "debian-preseed.cfg.j2"}


def render(device: Device, *, agent_url: str, metadata_url: str, phone_home_url: str, root_password: str,
           base_url: str) -> str:
    """The OS's unattended-install config for ``device``; the OS record's own
    template wins over the built-in one for its kind.

    Template values: ``agent_url`` (the installer's own one-time URL: its config,
    progress and result), ``metadata_url`` (the installed system's metadata: the
    NoCloud seed, user state), ``phone_home_url`` (the installed system's one-time
    phone-home, to be written to the disk), ``root_password``, ``ssh_keys``, ``hostname``…

    Raises:
        LookupError: the OS has no install config (image or custom_ipxe).
    """
    os_row = device.operating_system
    values = dict(device=device, os=os_row, hostname=device.hostname, agent_url=agent_url,
                  metadata_url=metadata_url, phone_home_url=phone_home_url,
                  base_url=base_url, root_password=root_password,
                  ssh_keys=[k.key for k in device.ssh_keys], userdata=device.userdata,
                  mirror_host="deb.debian.org", default_user=_safe_user(os_row.default_user))
    if os_row.install_template:
        return render_operator_template(os_row.install_template, **values)
    if os_row.install_kind in BUILTIN:
        return _env.get_template(BUILTIN[os_row.install_kind]).render(**values)
    raise LookupError(f"operating system {os_row.slug} has no unattended-install config")
