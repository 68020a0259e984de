"""A stand-in for Ingot's HTTP side of the deploy-agent contract (docs/ramdisk.md).

Used ONLY by the component tests in tests/qemu: it serves the iPXE script a
machine gets by MAC, the deploy ramdisk and images, the per-device
``/metadata/<token>/...`` endpoints, and records every event, completion and
phone-home so tests can wait on them. The real server is Ingot's API.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from tests.support.waiting import WaitTimeout

GUEST_BASE = "http://10.0.2.100"


@dataclass
class Machine:
    name: str
    mac: str
    token: str
    deploy: dict[str, Any] | None = None     # the /deploy JSON; None -> iPXE "exit"
    metadata: dict[str, Any] = field(default_factory=dict)
    userdata: str = ""
    boot: str = "deploy"                     # what the iPXE script does now: deploy | exit
    cmdline: str = "console=ttyS0,115200 quiet"
    ipxe_fetches: int = 0
    deploy_fetches: int = 0
    events: list[dict] = field(default_factory=list)
    complete: dict | None = None
    phone_home: list[dict] = field(default_factory=list)
    user_states: list[dict] = field(default_factory=list)
    metadata_fetches: int = 0


class FakeIngot:
    def __init__(self, kernel: Path, initrd: Path, files: dict[str, Path] | None = None):
        self.kernel = kernel
        self.initrd = initrd
        self.files = dict(files or {})          # URL path -> file
        self.machines: dict[str, Machine] = {}
        self.log: list[tuple[float, str, str]] = []
        self.cond = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeIngot":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ----------------------------------------------------------------- setup
    def add_machine(self, name: str, mac: str, **kw) -> Machine:
        m = Machine(name=name, mac=mac.lower(), token=f"tok-{name}", **kw)
        with self.cond:
            self.machines[m.token] = m
        return m

    def serve_file(self, url_path: str, path: Path) -> str:
        self.files[url_path] = path
        return GUEST_BASE + url_path

    def metadata_url(self, m: Machine) -> str:
        return f"{GUEST_BASE}/metadata/{m.token}"

    def ipxe_script(self, m: Machine) -> str:
        if m.boot != "deploy" or m.deploy is None:
            return "#!ipxe\necho Ingot: boot from local disk\nexit\n"
        action = m.deploy.get("action", "deploy")
        # the same shape as Ingot's agent.ipxe.j2
        return (
            "#!ipxe\n"
            f"kernel {GUEST_BASE}/metal/v1/boot/files/vmlinuz initrd=initrd "
            f"ingot.metadata={self.metadata_url(m)} ingot.action={action} {m.cmdline} "
            "BOOTIF=01-${net0/mac:hexhyp}\n"
            f"initrd --name initrd {GUEST_BASE}/metal/v1/boot/files/initrd\n"
            "boot\n")

    def wait(self, predicate, timeout: float, what: str, detail: Callable[[], str] | None = None):
        """Wait until ``predicate()`` holds (woken by each request); ``detail()`` adds to the failure."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}"
                                      + (f"\n{detail()}" if detail else ""))
                self.cond.wait(min(left, 1.0))

    # ----------------------------------------------------------------- HTTP
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, fmt, *args):  # keep pytest output clean; keep a log instead
                fake.log.append((time.time(), self.command, self.path))

            def _send(self, code: int, body: bytes | str, ctype: str = "application/json") -> None:
                if isinstance(body, str):
                    body = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send_file(self, path: Path) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                with open(path, "rb") as fh:
                    try:
                        shutil.copyfileobj(fh, self.wfile, 1 << 20)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

            def _machine(self, token: str) -> Machine | None:
                return fake.machines.get(token)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                with fake.cond:
                    if url.path == "/metal/v1/boot/ipxe":
                        mac = urllib.parse.parse_qs(url.query).get("mac", [""])[0].lower()
                        m = next((x for x in fake.machines.values() if x.mac == mac), None)
                        if m is None:
                            return self._send(404, "#!ipxe\necho unknown machine\nexit\n", "text/plain")
                        m.ipxe_fetches += 1
                        fake.cond.notify_all()
                        return self._send(200, fake.ipxe_script(m), "text/plain")
                    if url.path == "/metal/v1/boot/files/vmlinuz":
                        path = fake.kernel
                    elif url.path == "/metal/v1/boot/files/initrd":
                        path = fake.initrd
                    elif url.path in fake.files:
                        path = fake.files[url.path]
                    elif len(parts) >= 3 and parts[0] == "metadata":
                        m = self._machine(parts[1])
                        if m is None:
                            return self._send(404, '{"errors": ["unknown token"]}')
                        rest = "/".join(parts[2:])
                        if rest == "deploy" and m.deploy is not None:
                            m.deploy_fetches += 1
                            fake.cond.notify_all()
                            return self._send(200, json.dumps(m.deploy))
                        if rest == "metadata":
                            m.metadata_fetches += 1
                            fake.cond.notify_all()
                            return self._send(200, json.dumps(
                                {"user_state_url": f"{fake.metadata_url(m)}/user-state", **m.metadata}))
                        if rest == "userdata":
                            return self._send(200, m.userdata, "text/plain")
                        return self._send(404, '{"errors": ["not found"]}')
                    else:
                        return self._send(404, '{"errors": ["not found"]}')
                self._send_file(path)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._send(400, '{"errors": ["body is not JSON"]}')
                parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
                with fake.cond:
                    m = self._machine(parts[1]) if len(parts) >= 3 and parts[0] == "metadata" else None
                    if m is None:
                        return self._send(404, '{"errors": ["not found"]}')
                    rest = "/".join(parts[2:])
                    if rest == "events":
                        m.events.append(body)
                    elif rest == "deploy/complete":
                        m.complete = body
                        if body.get("status") == "ok":
                            m.boot = "exit"     # like Ingot: the next netboot falls through to disk
                    elif rest == "phone-home":
                        m.phone_home.append(body)
                    elif rest == "user-state":
                        m.user_states.append(body)
                    else:
                        return self._send(404, '{"errors": ["not found"]}')
                    fake.cond.notify_all()
                self._send(200, "{}")

        return Handler
