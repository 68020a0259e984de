"""Every error as ``{"errors": ["field: reason", ...]}``, never an HTML page —
including those the HTTP servers write themselves before any application code
runs (a request line too long: 414, headers too large: 431, a malformed request:
400): the embedded server's cheroot (``ingot serve``) through :class:`JsonErrorConnection`,
gunicorn through :func:`gunicorn_write_error` (installed by ``deploy/gunicorn.conf.py``)."""
from __future__ import annotations

import json
import logging
import socket

from cheroot import errors as cheroot_errors
from cheroot.server import HTTPConnection, HTTPRequest
from flask import Flask, jsonify
from gunicorn.util import write_nonblock
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from api.core.errors import ServiceError

log = logging.getLogger("ingot.errors")


def flatten_messages(messages, prefix: str = "") -> list[str]:
    """Turn marshmallow/webargs nested messages into ``"field: reason"`` lines."""
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            # webargs nests by location ("json", "query"); those are not fields
            if not prefix and key in ("json", "query", "form", "headers", "path", "files"):
                out.extend(flatten_messages(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            out.extend(flatten_messages(value, name))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(flatten_messages(item, prefix))
    else:
        text = str(messages)
        if text == "Unknown field.":
            text = "is not a known field"
        out.append(f"{prefix}: {text}" if prefix else text)
    return out


def error_response(status: int, messages: list[str]):
    resp = jsonify({"errors": messages})
    resp.status_code = status
    return resp


def service_error_response(error: ServiceError):
    """A ServiceError's answer: its status, messages and headers (``Retry-After`` of a 429)."""
    resp = error_response(error.status, error.messages)
    resp.headers.update(error.headers)
    return resp


def http_exception_messages(error: HTTPException) -> list[str]:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages:
        return flatten_messages(messages)
    if data.get("message"):
        return [str(data["message"])]
    return [error.description or error.name]


def _disk_full(error: OperationalError) -> bool:
    """SQLite's SQLITE_FULL / a PostgreSQL "No space left on device"."""
    text = str(error.orig).lower()
    return "database or disk is full" in text or "no space left on device" in text or "disk full" in text


MAX_HEADER_BYTES = 65536  # request line and headers together, as http.server and gunicorn allow
MAX_HEADERS = 100         # header lines, as http.server and gunicorn allow


class _OneLeadingSlash:
    """A request's stream whose request line's target, when it begins with ``//``, begins with one slash."""

    def __init__(self, rfile):
        self._rfile = rfile

    def readline(self, *args):
        line = self._rfile.readline(*args)
        method, space, target = line.partition(b" ")
        return method + b" /" + target.lstrip(b"/") if space and target.startswith(b"//") else line

    def __getattr__(self, name):
        return getattr(self._rfile, name)


class JsonErrorRequest(HTTPRequest):
    """cheroot's request parser with http.server's limits (431 for more than :data:`MAX_HEADERS` headers
    or headers over :data:`MAX_HEADER_BYTES`, where cheroot says 413 or nothing) and its own error pages
    (400, 414, 431, 408, 500, 503...) as JSON."""

    def read_request_line(self):
        # "//projects/x" is an absolute path whose first segment is empty (RFC 9112's origin-form; gunicorn
        # reads it so), which cheroot takes for an authority and refuses (400). packet-python sends it at the
        # root of its host (https://api.packet.net//projects/x/ips): served as "/projects/x/ips".
        stream = self.rfile
        self.rfile = _OneLeadingSlash(stream)
        try:
            return super().read_request_line()
        finally:
            self.rfile = stream

    def read_request_headers(self):
        try:
            ok = super().read_request_headers()
        except cheroot_errors.MaxSizeExceeded:
            self.simple_response("431 Request Header Fields Too Large", "the headers are too large")
            return False
        if ok and len(self.inheaders) > MAX_HEADERS:
            self.simple_response("431 Request Header Fields Too Large", f"more than {MAX_HEADERS} headers")
            return False
        return ok

    def simple_response(self, status, msg=""):
        """An error page the server writes itself, as JSON; the connection closes after it (the rest of
        the request may be unread)."""
        status = str(status)
        body = json.dumps({"errors": [status + (f": {msg}" if msg else "")]}).encode()
        self.close_connection = True
        head = (f"{self.server.protocol} {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        try:
            self.conn.wfile.write(head.encode("latin1") + body)
        except socket.error as exc:
            if exc.args[0] not in cheroot_errors.socket_errors_to_ignore:
                raise


class JsonErrorConnection(HTTPConnection):
    """A cheroot connection whose requests are :class:`JsonErrorRequest` (``server.ConnectionClass``)."""

    RequestHandlerClass = JsonErrorRequest


def gunicorn_write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` (its own 400, 414, 431 and 500 pages), as JSON."""
    body = json.dumps({"errors": [f"{status_int} {reason}" + (f": {mesg}" if mesg else "")]})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    write_nonblock(sock, (head + body).encode("latin1"))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError):
        return service_error_response(error)

    @app.errorhandler(OperationalError)
    def _db_unavailable(error: OperationalError):
        if _disk_full(error):
            log.error("database write failed, disk full: %s", error.orig)
            return error_response(507, ["database: the disk is full; nothing was changed "
                                        "(the operator must free space in the data directory)"])
        log.warning("database unavailable: %s", error.orig)
        return error_response(503, ["database unavailable, try again"])

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return error_response(error.code or 500, http_exception_messages(error))
        log.exception("unhandled error")
        return error_response(500, ["internal error"])
