"""Render a dnsmasq configuration (DHCP + TFTP + iPXE chain-loading) from
Ingot's inventory, so an operator runs a stock dnsmasq on the provisioning
network and Ingot never speaks DHCP itself.

What the rendered file does (see docs/dnsmasq.md):

- every NIC of every enrolled machine gets a ``dhcp-host`` line tagging it as
  Ingot's; a machine's first NIC gets a static lease on its device's private
  IPv4 address when it has a device, otherwise an address from the operator's
  ``--dhcp-range``;
- a PXE ROM that is not iPXE yet gets the iPXE binary for its architecture over TFTP, by the
  client architecture it announces (DHCP option 93): BIOS ``undionly.kpxe``, x86-64 UEFI
  ``ipxe.efi`` (or ``snponly.efi``), arm64 UEFI ``ipxe-arm64.efi``;
- iPXE on a known machine chains to the machine's own script URL
  (``/metal/v1/boot/ipxe/<boot token>``), and iPXE on an unknown host chains
  to ``/metal/v1/boot/ipxe?mac=${net0/mac}`` (``&metro=<code>`` with
  ``--metro``): Ingot tells it to retry later and records an event for the
  operator, or, where the metro discovers unknown MACs, inspects it;
- with ``--lease-hook FILE`` dnsmasq runs that script (written next to the
  config) on every lease, and it tells Ingot about BMCs taking addresses.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tempfile
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core.config import Settings
from api.core.db import NoDatabase, open_existing
from api.core.secrets import SecretBox, secret_key
from api.core.strict_input import escape_controls
from api.models import Device, IpPool, Machine, Metro, ProvisioningNetwork

_RANGE_OK = re.compile(r"[A-Za-z0-9:.,_-]+")  # fullmatch
_IFACE_OK = re.compile(r"[A-Za-z0-9_.:-]{1,15}")


@dataclasses.dataclass
class DnsmasqOptions:
    ipxe_base_url: str                      # how machines reach Ingot, e.g. http://10.0.0.2:8080
    dhcp_ranges: list[str] = dataclasses.field(default_factory=list)  # verbatim dnsmasq dhcp-range values
    interface: str | None = None
    tftp_root: str = "/srv/tftp"
    bios_loader: str = "undionly.kpxe"
    efi_loader: str = "ipxe.efi"            # x86-64 UEFI (Debian's ipxe package: ipxe.efi, snponly.efi)
    arm64_efi_loader: str = "ipxe-arm64.efi"
    lease_time: str = "12h"
    metro: str | None = None                # only machines of this metro (code)
    static_leases: bool = True              # devices' private IPv4 as static leases
    lease_hook: str | None = None           # dhcp-script: the lease hook's path (BMC discovery)


class DnsmasqError(ValueError):
    """An option that would produce a broken or unsafe configuration."""


def _tag(machine: Machine) -> str:
    return "m" + machine.id.replace("-", "")[:12]


def _host_name(name: str) -> str:
    """A DHCP host name dnsmasq accepts (letters, digits, hyphens)."""
    cleaned = re.sub(r"[^A-Za-z0-9-]", "-", name.split(".")[0]).strip("-")
    return cleaned[:63] or "host"


def _validate(opts: DnsmasqOptions) -> None:
    if not re.fullmatch(r"https?://[^\s,#]+", opts.ipxe_base_url or ""):
        raise DnsmasqError("the iPXE base URL must be an http(s) URL without spaces, commas or '#' "
                           "(set INGOT_EXTERNAL_URL or pass --ipxe-url)")
    for r in opts.dhcp_ranges:
        if not _RANGE_OK.fullmatch(r):
            raise DnsmasqError(f"dhcp-range {r!r}: only letters, digits and , . : _ - are allowed")
    if opts.interface and not _IFACE_OK.fullmatch(opts.interface):
        raise DnsmasqError(f"interface {opts.interface!r} is not an interface name")
    for value in (opts.tftp_root, opts.bios_loader, opts.efi_loader, opts.arm64_efi_loader, opts.lease_time) + (
            (opts.lease_hook,) if opts.lease_hook is not None else ()):
        if not value or any(c in value for c in ",#\n\r"):
            raise DnsmasqError(f"{value!r}: must be non-empty, without commas, '#' or newlines")


def _address(value: str | None) -> bool:
    try:
        ipaddress.ip_address(value or "")
    except ValueError:
        return False
    return True


def _private_v4(device: Device | None, pools: list[IpPool]) -> str | None:
    if device is None:
        return None
    nets = [ipaddress.ip_network(p.cidr) for p in pools]
    for a in device.ip_assignments:
        if a.kind == "private_ipv4":
            ip = ipaddress.ip_address(a.address)
            if any(ip in n for n in nets):
                return a.address
    return None


def render(session: Session, opts: DnsmasqOptions) -> str:
    """The dnsmasq configuration for the current inventory.

    Raises:
        DnsmasqError: an option is unusable (named in the message).
    """
    _validate(opts)
    base = opts.ipxe_base_url.rstrip("/")
    mq = select(Machine).options(selectinload(Machine.nics)).order_by(Machine.hostname)
    pq = select(IpPool).where(IpPool.kind == "private_ipv4").order_by(IpPool.cidr)
    if opts.metro:
        metro = session.scalar(select(Metro).where(Metro.code == opts.metro))
        if metro is None:
            raise DnsmasqError(f"metro {opts.metro!r} does not exist")
        mq = mq.where(Machine.metro_id == metro.id)
        pq = pq.where(IpPool.metro_id == metro.id)
    machines = list(session.scalars(mq))
    pools = list(session.scalars(pq)) if opts.static_leases else []
    devices = {d.machine_id: d for d in session.scalars(
        select(Device).where(Device.machine_id.in_([m.id for m in machines]), Device.deleted_at.is_(None))
        .options(selectinload(Device.ip_assignments)))} if machines else {}

    out: list[str] = [
        "# dnsmasq configuration for Ingot's provisioning network",
        "# rendered by `ingot admin dnsmasq-config`" + (f" for metro {opts.metro}" if opts.metro else "")
        + " (the same inventory renders the same bytes)",
        "# Re-render after enrolling machines or creating devices, then reload dnsmasq",
        "# (a host missing here still boots: it gets a dynamic address and is found by MAC).",
        "# Contains per-machine boot tokens: keep it readable by root and dnsmasq only.",
        "",
        "# DHCP and TFTP only; leave DNS to the network's resolver",
        "port=0",
        "log-dhcp",
    ]
    if opts.interface:
        out += [f"interface={opts.interface}", "bind-interfaces"]
    out += ["", "# address ranges"]
    for r in opts.dhcp_ranges:
        out.append(f"dhcp-range={r}")
    for p in pools:
        net = ipaddress.ip_network(p.cidr)
        out.append(f"# Ingot private pool {p.cidr}: static leases for devices' private addresses")
        out.append(f"dhcp-range=set:ingot-static,{net.network_address},static,{net.netmask},{opts.lease_time}")
        if _address(p.gateway):  # the API keeps it an address; an older row may not be one
            out.append(f"dhcp-option=tag:ingot-static,option:router,{p.gateway}")
    if not opts.dhcp_ranges and not pools:
        out.append("# no --dhcp-range given and no private pool: only hosts with a static lease get an address")

    out += [
        "",
        "# first stage: PXE ROMs that are not iPXE yet get iPXE over TFTP, the build for the client",
        "# architecture they announce (option 93): 0 BIOS, 7 and 9 x86-64 UEFI, 11 arm64 UEFI",
        "enable-tftp",
        f"tftp-root={opts.tftp_root}",
        "dhcp-match=set:ipxe,175",
        "dhcp-match=set:efi-x86_64,option:client-arch,7",
        "dhcp-match=set:efi-x86_64,option:client-arch,9",
        "dhcp-match=set:efi-arm64,option:client-arch,11",
        f"dhcp-boot=tag:!ipxe,tag:efi-x86_64,{opts.efi_loader}",
        f"dhcp-boot=tag:!ipxe,tag:efi-arm64,{opts.arm64_efi_loader}",
        f"dhcp-boot=tag:!ipxe,tag:!efi-x86_64,tag:!efi-arm64,{opts.bios_loader}",
        "",
        "# second stage: iPXE of a host Ingot does not know asks by MAC (Ingot logs an event, or,",
        "# where the metro discovers unknown MACs, inspects the host)",
        f"dhcp-boot=tag:ipxe,tag:!ingot,{base}/metal/v1/boot/ipxe?mac=${{net0/mac}}"
        + (f"&metro={opts.metro}" if opts.metro else ""),
        "",
        "# known machines: a tag per machine, a static lease where its device has a private address,",
        "# and iPXE chains to the machine's own script",
    ]
    if opts.lease_hook:
        out += ["# every lease is told to Ingot by this script (BMC discovery; it holds the metro's hook secret)",
                f"dhcp-script={opts.lease_hook}", ""]
    seen_names: set[str] = set()
    for m in machines:
        if not m.nics:
            out.append(escape_controls(f"# {m.hostname}: no NICs enrolled; it can only boot as an unknown host"))
            continue
        tag = _tag(m)
        device = devices.get(m.id)
        ip = _private_v4(device, pools)
        # names come from the API, which refuses control characters; escaped here all the same, as a
        # line break in a comment would make the rest of it a directive
        out.append(escape_controls(f"# {m.hostname} ({m.state}" + (f", device {device.hostname}" if device else "")
                                   + ")"))
        for i, nic in enumerate(m.nics):
            name = _host_name(m.hostname if i == 0 else f"{m.hostname}-{nic.name or i}")
            if name in seen_names:
                name = _host_name(f"{name}-{nic.mac.replace(':', '')[-6:]}")
            seen_names.add(name)
            fields = [nic.mac, "set:ingot", f"set:{tag}"]
            if i == 0 and ip:
                fields.append(ip)
            fields += [name, opts.lease_time]
            out.append("dhcp-host=" + ",".join(fields))
        out.append(f"dhcp-boot=tag:ipxe,tag:{tag},{base}/metal/v1/boot/ipxe/{m.boot_token}")
    return "\n".join(out) + "\n"


LEASE_HOOK = r"""#!/bin/sh
# Ingot's DHCP lease hook for metro {metro} (dnsmasq dhcp-script), written by `ingot admin dnsmasq-config`.
# dnsmasq runs it as: add|old|del MAC IP [HOSTNAME]; it tells Ingot, which probes new BMCs.
# It holds the metro's lease hook secret: keep it readable by root and dnsmasq only.
case "$1" in add|old) ;; *) exit 0 ;; esac
clean() {{ printf '%s' "$1" | tr -cd 'A-Za-z0-9.:_-' | cut -c1-64; }}
body="{{\"action\": \"$1\", \"mac\": \"$(clean "$2")\", \"ip\": \"$(clean "$3")\","
body="$body \"hostname\": \"$(clean "${{4:-}}")\"}}"
url='{url}'
if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 10 -H 'Content-Type: application/json' --data "$body" "$url" >/dev/null 2>&1
else
    wget -q -T 10 -O /dev/null --header 'Content-Type: application/json' --post-data "$body" "$url" 2>/dev/null
fi
exit 0
"""


def lease_hook_script(url: str, metro: str) -> str:
    """The lease hook: a POSIX shell script posting each new or renewed lease to ``url``."""
    if not re.match(r"^https?://[A-Za-z0-9._~:/%-]+$", url):
        raise DnsmasqError(f"unusable lease hook URL {url!r}")
    return LEASE_HOOK.format(url=url, metro=metro)


def write_atomically(path: str, text: str, mode: int = 0o640) -> None:
    """Replace ``path`` in one rename (dnsmasq never reads half a file), mode 0640 (or ``mode``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ingot-dnsmasq-", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@click.command("dnsmasq-config")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the configuration to FILE (atomically) instead of standard output.")
@click.option("--ipxe-url", default=None,
              help="Base URL machines use to reach Ingot [default: INGOT_EXTERNAL_URL].")
@click.option("--dhcp-range", "dhcp_ranges", multiple=True,
              help="A dnsmasq dhcp-range value for hosts without a static lease, e.g. "
                   "'10.0.0.100,10.0.0.200,255.255.255.0,1h' (repeatable).")
@click.option("--interface", default=None, help="Serve DHCP/TFTP on this interface only.")
@click.option("--tftp-root", default="/srv/tftp", show_default=True,
              help="Directory holding the iPXE binaries (Debian package ipxe: /usr/lib/ipxe).")
@click.option("--bios-loader", default="undionly.kpxe", show_default=True)
@click.option("--efi-loader", default="ipxe.efi", show_default=True,
              help="iPXE for x86-64 UEFI clients (ipxe.efi, or snponly.efi to use the firmware's NIC driver).")
@click.option("--arm64-efi-loader", default="ipxe-arm64.efi", show_default=True,
              help="iPXE for arm64 UEFI clients (built from ipxe.org's bin-arm64-efi/).")
@click.option("--lease-time", default="12h", show_default=True)
@click.option("--metro", default=None, help="Only the machines and pools of this metro (code).")
@click.option("--no-static-leases", is_flag=True, help="Do not give devices' private addresses as static leases.")
@click.option("--lease-hook", type=click.Path(dir_okay=False), default=None,
              help="Write the metro's DHCP lease hook (BMC discovery) to FILE and run it on every lease "
                   "(needs --metro, with BMC discovery on).")
def dnsmasq_config(output, ipxe_url, dhcp_ranges, interface, tftp_root, bios_loader, efi_loader, arm64_efi_loader,
                   lease_time, metro, no_static_leases, lease_hook):
    """Render dnsmasq's DHCP/TFTP/iPXE config from the inventory.

    To standard output unless --output is given.
    """
    settings = Settings.from_env()
    opts = DnsmasqOptions(ipxe_base_url=(ipxe_url or settings.external_url or "").rstrip("/"),
                          dhcp_ranges=list(dhcp_ranges), interface=interface, tftp_root=tftp_root,
                          bios_loader=bios_loader, efi_loader=efi_loader, arm64_efi_loader=arm64_efi_loader,
                          lease_time=lease_time, metro=metro, static_leases=not no_static_leases,
                          lease_hook=os.path.abspath(lease_hook) if lease_hook else None)
    try:
        database = open_existing(settings.resolved_database_url, settings.where())
    except NoDatabase as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with database.Session() as s:
            text = render(s, opts)
            hook = _lease_hook(s, opts, settings) if lease_hook else None
    except DnsmasqError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        database.dispose()
    if hook is not None:
        write_atomically(opts.lease_hook, hook, mode=0o750)
        click.echo(f"wrote the lease hook {opts.lease_hook}", err=True)
    if output:
        write_atomically(output, text)
        click.echo(f"wrote {output}; reload dnsmasq to apply it", err=True)
    else:
        click.echo(text, nl=False)


def _lease_hook(session: Session, opts: DnsmasqOptions, settings: Settings) -> str:
    """The metro's lease hook script (its secret decrypted with the server's key).

    Raises:
        DnsmasqError: no --metro, or BMC discovery is off there.
    """
    if not opts.metro:
        raise DnsmasqError("--lease-hook needs --metro: the hook's secret belongs to one metro")
    net = session.scalar(select(ProvisioningNetwork).join(Metro, Metro.id == ProvisioningNetwork.metro_id)
                         .where(Metro.code == opts.metro))
    if net is None or not net.bmc_discovery or not net.lease_hook_token_enc:
        raise DnsmasqError(f"BMC discovery is off in metro {opts.metro}: turn it on first "
                           "(PUT /locations/metros/{id}/provisioning-network {\"bmc_discovery\": true})")
    try:
        token = SecretBox(secret_key(settings)).decrypt(net.lease_hook_token_enc)
    except (RuntimeError, ValueError) as exc:
        raise DnsmasqError(str(exc)) from None
    return lease_hook_script(f"{opts.ipxe_base_url.rstrip('/')}/metal/v1/boot/discovery/{token}/leases", opts.metro)
