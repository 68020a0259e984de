"""Every error as ``{"errors": ["field: reason", ...]}``, never an HTML page."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
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
