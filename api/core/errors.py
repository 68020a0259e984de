"""Domain errors. Routes turn them into ``{"errors": [...]}`` responses."""
from __future__ import annotations

import math


class ServiceError(Exception):
    """Base: carries the HTTP status and one or more messages."""

    status = 400
    headers: dict = {}

    def __init__(self, *messages: str, status: int | None = None):
        super().__init__("; ".join(messages))
        self.messages = list(messages)
        if status is not None:
            self.status = status


class Invalid(ServiceError):
    """The request is well-formed but names something wrong (field: reason)."""

    status = 422


class NotFound(ServiceError):
    """No such object, or not visible to the caller (never a 403 for tenants)."""

    status = 404

    def __init__(self, what: str = "Not found"):
        super().__init__(what)


class Conflict(ServiceError):
    """The object's state forbids the request (locked, busy, in use)."""

    status = 409


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class TooManyRequests(ServiceError):
    """A source over an abuse limit; ``Retry-After`` says when it may try again."""

    status = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


class NoCapacity(ServiceError):
    """No machine is free for the plan and metro."""

    status = 422
