"""A small HTTP client for Ingot's Equinix Metal-shaped API."""
from __future__ import annotations

import sys
import time
from typing import Any, Optional

import requests

USER_AGENT = "terraform-provider-metal (ingot)"


class APIError(Exception):
    def __init__(self, status: int, message: str, method: str = "", url: str = ""):
        super().__init__(f"{method} {url}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class NotFound(APIError):
    pass


def _error_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500] or resp.reason
    if isinstance(body, dict):
        if body.get("errors"):
            errs = body["errors"]
            return "; ".join(str(e) for e in errs) if isinstance(errs, list) else str(errs)
        for k in ("error", "message"):
            if body.get(k):
                return str(body[k])
    return str(body)[:500]


class Client:
    def __init__(self, endpoint: str, token: Optional[str], base_path: str = "/metal/v1",
                 auth_header: str = "X-Auth-Token", max_retries: int = 5, version: str = ""):
        self.base = endpoint.rstrip("/") + base_path
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"{USER_AGENT} {version}".strip()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers[auth_header] = token
        self.max_retries = max_retries

    def request(self, method: str, path: str, body: Any = None, query: Optional[dict] = None,
                ok: Optional[list[int]] = None) -> Any:
        url = self.base + path
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.session.request(method, url, json=body, params=query, timeout=60)
            except requests.ConnectionError as exc:
                if attempt <= self.max_retries and method != "POST":
                    time.sleep(min(0.5 * attempt, 3))
                    continue
                raise APIError(0, f"cannot reach the API: {exc}", method, url) from exc
            if resp.status_code in (429, 502, 503, 504) and attempt <= self.max_retries:
                print(f"[WARN] {method} {url}: HTTP {resp.status_code}, retrying", file=sys.stderr, flush=True)
                time.sleep(min(0.5 * attempt, 3))
                continue
            break
        if resp.status_code == 404:
            raise NotFound(404, _error_message(resp), method, url)
        good = (resp.status_code in ok) if ok else (200 <= resp.status_code < 300)
        if not good and not (200 <= resp.status_code < 300):
            raise APIError(resp.status_code, _error_message(resp), method, url)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return None

    def list_all(self, path: str, list_key: str, query: Optional[dict] = None, paginated: bool = False,
                 per_page: int = 100) -> list:
        """Every item of a list endpoint, following Equinix-style `meta` pagination."""
        query = dict(query or {})
        items: list = []
        page = 1
        while page <= 1000:
            q = dict(query)
            if paginated:
                q.update(page=page, per_page=per_page)
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
