"""Userdata checks: ``POST /userdata/validate`` says whether cloud-init would understand it."""
from __future__ import annotations

import yaml

from api.core.errors import Invalid

# the first lines cloud-init recognises (its user-data formats)
FORMATS = ("#!", "#cloud-config", "#include", "#cloud-boothook", "#upstart-job", "#part-handler",
           "#cloud-config-archive", "#cloud-config-jsonp", "## template: jinja", "Content-Type: multipart/")


def validate(userdata: str) -> None:
    """Raises Invalid (naming ``userdata``) unless it is empty or in a format cloud-init reads;
    a ``#cloud-config`` must also be a YAML mapping."""
    text = userdata.lstrip("\ufeff")
    if not text.strip():
        return
    if not text.startswith(FORMATS):
        raise Invalid("userdata: not a format cloud-init reads (start it with #cloud-config, #! or another "
                      "cloud-init header)")
    if text.startswith("#cloud-config") and not text.startswith(("#cloud-config-archive", "#cloud-config-jsonp")):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise Invalid(f"userdata: the #cloud-config is not valid YAML ({str(exc).splitlines()[0]})") from None
        if doc is not None and not isinstance(doc, dict):
            raise Invalid("userdata: a #cloud-config must be a YAML mapping")
