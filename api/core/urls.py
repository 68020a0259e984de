"""The URL layout every layer agrees on: the API's prefix, the paths that need
no token, the paths that carry a secret (and how logs hide it), and the base
URL machines use to reach Ingot."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import request

from api.core.config import Settings, current_settings
from api.core.strict_input import escape_controls

API_PREFIX = "/metal/v1"
# paths under the API prefix that need no X-Auth-Token
PUBLIC_API_PATHS = (f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs", f"{API_PREFIX}/boot/")
# paths that carry a secret in the URL (metadata secrets, boot credentials, boot tokens, inspection tokens,
# a metro's DHCP lease-hook token: discovery)
SECRET_IN_PATH = re.compile(r"(/metadata/|%s/boot/(?:ipxe|inspection|discovery)/)([^/\s?#]+)" % re.escape(API_PREFIX))


def redact_path(path: str) -> str:
    """``path`` (or a request line) with a per-device metadata secret, a boot
    credential or a boot token replaced by ``[redacted]`` and control characters
    escaped (a decoded ``%0A`` must not start a forged log line), for logs."""
    return escape_controls(SECRET_IN_PATH.sub(lambda m: m.group(1) + "[redacted]", path))


def external_url() -> str:
    """The base URL machines use to reach Ingot (``INGOT_EXTERNAL_URL`` or this request's)."""
    return (current_settings().external_url or request.host_url).rstrip("/")


def sos_address(settings: Settings) -> str | None:
    """A device's ``sos`` (the spec's "hostname used to connect via SOS"): where Ingot's serial
    console answers, ``host`` on port 22 (so Equinix-era ``ssh {device-id}@{sos}`` works unchanged)
    else ``host:port`` (``ssh ssh://{device-id}@{sos}``); None while it is off."""
    port = settings.serial_console_port
    if not port:
        return None
    host = (settings.serial_console_public_host or urlsplit(settings.external_url).hostname
            or settings.serial_console_host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"   # an IPv6 address
    return host if port == 22 else f"{host}:{port}"
