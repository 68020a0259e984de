"""A small HTTP client for Ingot's Equinix Metal-shaped API.

On urllib3 itself, not requests (which wraps it): Terraform starts the provider several times per command,
and requests' import cost a tenth of each start."""
from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any, Optional
from urllib.parse import urlencode

import urllib3

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRY_STATUSES = (429, 502, 503, 504)


class APIError(Exception):
    def __init__(self, status: int, message: str, method: str = "", url: str = ""):
        super().__init__(f"{method} {url}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class NotFound(APIError):
    pass


def _decoded(resp: urllib3.BaseHTTPResponse) -> Any:
    """The JSON body of ``resp``. Raises ValueError when it is not JSON."""
    return json.loads(resp.data)


def _error_message(resp: urllib3.BaseHTTPResponse) -> str:
    try:
        body = _decoded(resp)
    except ValueError:
        return resp.data[:500].decode("utf-8", "replace") or (resp.reason or "")
    if isinstance(body, dict):
        if body.get("errors"):
            errs = body["errors"]
            return "; ".join(str(e) for e in errs) if isinstance(errs, list) else str(errs)
        for k in ("error", "message"):
            if body.get(k):
                return str(body[k])
    return str(body)[:500]


def new_idempotency_key() -> str:
    """A fresh key for one create (its retries send the same one)."""
    return f"tf-{uuid.uuid4()}"


class Client:
    """Requests with retries: a network failure or a 429/502/503/504 is retried up to `max_retries` times,
    waiting 1 s, 2 s, 4 s ... up to `max_retry_wait` seconds. A POST is retried after a network failure only
    when it carries an `Idempotency-Key` (the API then answers the retry with the first request's object, or
    409 with Retry-After while that first request is still being served: retried too)."""

    def __init__(self, endpoint: str, token: Optional[str], base_path: str = "/metal/v1",
                 auth_header: str = "X-Auth-Token", max_retries: int = 10, max_retry_wait: float = 30.0,
                 timeout: float = 30.0, page_size: int = 100, user_agent: str = "terraform-provider-metal (ingot)"):
        self.base = endpoint.rstrip("/") + base_path
        # the retries are this class's own (above); urllib3 only follows redirects, as requests did
        self.pool = urllib3.PoolManager(retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0,
                                                              redirect=5, raise_on_redirect=False),
                                        timeout=urllib3.Timeout(connect=timeout, read=timeout))
        self.headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self.headers[auth_header] = token
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.page_size = page_size

    def _pause(self, attempt: int) -> None:
        time.sleep(min(2.0 ** (attempt - 1), self.max_retry_wait))

    def request(self, method: str, path: str, body: Any = None, query: Optional[dict] = None,
                ok: Optional[list[int]] = None, idempotency_key: Optional[str] = None) -> Any:
        """The decoded answer (None when empty). Raises NotFound (404) or APIError."""
        url = self.base + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        headers = dict(self.headers)
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        retry_lost = method != "POST" or idempotency_key is not None
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.pool.request(method, url, body=data, headers=headers)
            except urllib3.exceptions.HTTPError as exc:  # no connection, a dropped one, or no answer in time
                if attempt <= self.max_retries and retry_lost:
                    print(f"[WARN] {method} {url}: {type(exc).__name__}, retrying"
                          + (f" with {IDEMPOTENCY_HEADER} {idempotency_key}" if idempotency_key else ""),
                          file=sys.stderr, flush=True)
                    self._pause(attempt)
                    continue
                raise APIError(0, f"cannot reach the API: {exc}", method, url) from exc
            in_progress = idempotency_key and resp.status == 409 and "Retry-After" in resp.headers
            if (resp.status in RETRY_STATUSES or in_progress) and attempt <= self.max_retries:
                print(f"[WARN] {method} {url}: HTTP {resp.status}, retrying", file=sys.stderr, flush=True)
                self._pause(attempt)
                continue
            break
        if resp.status == 404:
            raise NotFound(404, _error_message(resp), method, url)
        good = (resp.status in ok) if ok else (200 <= resp.status < 300)
        if not good and not (200 <= resp.status < 300):
            raise APIError(resp.status, _error_message(resp), method, url)
        if resp.status == 204 or not resp.data:
            return None
        try:
            return _decoded(resp)
        except ValueError:
            return None

    def list_all(self, path: str, list_key: str, query: Optional[dict] = None, paginated: bool = False) -> list:
        """Every item of a list endpoint, following Equinix-style `meta` pagination."""
        query = dict(query or {})
        items: list = []
        page = 1
        while page <= 1000:
            q = dict(query)
            if paginated:
                q.update(page=page, per_page=self.page_size)
            elif page > 1:
                q.update(page=page)
            body = self.request("GET", path, query=q or None) or {}
            batch = body.get(list_key) or [] if isinstance(body, dict) else []
            items.extend(batch)
            meta = body.get("meta") or {} if isinstance(body, dict) else {}
            last = meta.get("last_page")
            if not batch:
                break
            if last is not None:
                if page >= int(last):
                    break
            elif not meta.get("next"):
                break
            page += 1
        return items
