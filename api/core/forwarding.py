"""How a request reaches the app: through trusted reverse proxies (their ``X-Forwarded-*`` headers
are believed, werkzeug's ProxyFix), with doubled slashes in its path (served, not redirected), and at
the root of the Packet API's old host (served as the API's paths)."""
from __future__ import annotations

import ipaddress
import re

from werkzeug.middleware.proxy_fix import ProxyFix

from api.core.urls import API_PREFIX

_SLASHES = re.compile(r"/{2,}")
# hosts whose clients call the API at the root of the host (https://api.packet.net/projects): packet-python's
# default end point. An installation that answers as that name (docs/migrate-from-equinix.md) serves them.
ROOT_API_HOSTS = frozenset({"api.packet.net"})


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


class RootApiHost:
    """WSGI middleware: a request to a host of ``ROOT_API_HOSTS`` whose path is not the API's
    (``/projects/x``) is served as ``/metal/v1/projects/x``; any other host is passed on as it came."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        host = (environ.get("HTTP_HOST") or "").lower()
        if host.rsplit(":", 1)[0] in ROOT_API_HOSTS:
            path = environ.get("PATH_INFO") or ""
            if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
                environ["PATH_INFO"] = API_PREFIX + path
        return self.app(environ, start_response)


def wrap(wsgi_app, networks: list):
    """``wsgi_app`` behind the middlewares (proxies first: they decide the client's address and the host)."""
    inner = RootApiHost(CollapseSlashes(wsgi_app))
    return TrustedProxies(inner, networks) if networks else inner
