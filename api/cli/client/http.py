"""The CLI's client of Ingot's HTTP API: one session per command, every failure a message and an exit code."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click
import requests

API_PREFIX = "/metal/v1"
TIMEOUT = 30.0          # seconds per request
PER_PAGE = 100          # items per page when a command reads a whole collection
MAX_PAGES = 1000

# Exit codes scripts can trust (docs/cli.md). 2 is click's: wrong usage.
EXIT_REFUSED = 1        # the API refused the request as invalid (400, 422, another 4xx)
EXIT_AUTH = 3           # not signed in, a wrong token, or not allowed (401, 403)
EXIT_NOT_FOUND = 4      # no such object, or not yours (404)
EXIT_CONFLICT = 5       # the object's state forbids it now (409)
EXIT_UNAVAILABLE = 6    # the API cannot be reached or failed (connection error, 5xx)
EXIT_FAILED = 7         # --wait: the operation ended in failure
EXIT_TIMEOUT = 8        # --wait: the operation did not end in time


class CliError(click.ClickException):
    """A failure shown on stderr as ``Error: ...``; the command exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED):
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for(status: int) -> int:
    """The exit code of an HTTP error status."""
    if status in (401, 403):
        return EXIT_AUTH
    if status == 404:
        return EXIT_NOT_FOUND
    if status == 409:
        return EXIT_CONFLICT
    if status >= 500:
        return EXIT_UNAVAILABLE
    return EXIT_REFUSED


def cli_version() -> str:
    try:
        return version("ingot")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


def api_base(endpoint: str) -> str:
    """``http://host:8080`` or ``http://host:8080/metal/v1`` -> the API's base URL."""
    base = endpoint.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise CliError(f"endpoint {endpoint!r} is not an http:// or https:// URL")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


def _messages(r: requests.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text.strip()[:300] or r.reason
    errors = body.get("errors") if isinstance(body, dict) else None
    return "; ".join(str(e) for e in errors) if errors else str(body)[:300]


class ApiClient:
    """``get``/``post``/``put``/``delete`` on paths under ``/metal/v1``; JSON in and out.

    Every method raises :class:`CliError` (with the exit code of the failure) when the API
    cannot be reached or answers an error."""

    def __init__(self, endpoint: str, token: str, timeout: float = TIMEOUT):
        self.base = api_base(endpoint)
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers.update({"X-Auth-Token": token, "Accept": "application/json",
                                  "User-Agent": f"ingot-cli/{cli_version()}"})

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> Any:
        try:
            r = self.http.request(method, self.base + path, json=json, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise CliError(f"cannot reach the API at {self.base}: {exc}", EXIT_UNAVAILABLE) from None
        if r.status_code >= 400:
            raise CliError(f"{r.status_code} {r.reason}: {_messages(r)}", exit_code_for(r.status_code))
        if r.status_code == 204 or not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise CliError(f"{method} {path} answered {r.status_code} with a body that is not JSON "
                           f"(is {self.base} an Ingot API?)", EXIT_UNAVAILABLE) from None

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict | None = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def put(self, path: str, body: dict) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str, **params) -> Any:
        return self.request("DELETE", path, params={k: v for k, v in params.items() if v is not None})

    def all_pages(self, path: str, key: str, **params) -> list:
        """Every item of a paginated collection (``{key: [...], "meta": {...}}``)."""
        items: list = []
        for page in range(1, MAX_PAGES + 1):
            body = self.get(path, page=page, per_page=PER_PAGE, **params)
            items.extend(body.get(key) or [])
            meta = body.get("meta") or {}
            if not meta.get("next") or page >= int(meta.get("last_page") or page):
                break
        return items
