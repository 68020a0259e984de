"""How a request reaches the app: through trusted reverse proxies (their ``X-Forwarded-*`` headers
are believed, werkzeug's ProxyFix) and with doubled slashes in its path (served, not redirected)."""
from __future__ import annotations

import ipaddress
import re

from werkzeug.middleware.proxy_fix import ProxyFix

_SLASHES = re.compile(r"/{2,}")


class TrustedProxies:
    """WSGI middleware: a request from one of ``networks`` gets its client address, scheme, host
    and port from the proxy's ``X-Forwarded-For/-Proto/-Host/-Port`` (one proxy hop); any other
    request is passed on as it came (its forwarded headers are not believed)."""

    def __init__(self, app, networks: list):
        self.app = app
        self.networks = list(networks)
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def __call__(self, environ, start_response):
        if self.trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


class CollapseSlashes:
    """WSGI middleware: ``/metal/v1//projects/x`` is served as ``/metal/v1/projects/x`` (some
    Equinix clients build such paths; werkzeug would answer a redirect, to ``http://`` behind TLS)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or ""
        if "//" in path:
            environ["PATH_INFO"] = _SLASHES.sub("/", path)
        return self.app(environ, start_response)


def wrap(wsgi_app, networks: list):
    """``wsgi_app`` behind both middlewares (proxies first: they decide the client's address)."""
    inner = CollapseSlashes(wsgi_app)
    return TrustedProxies(inner, networks) if networks else inner
