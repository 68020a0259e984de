"""The request gate of ``ingot serve`` (api/core/request_gate.py): a few requests run the app at once, the
others wait in their order of arrival, and one that waits for something else than the CPU (a long poll)
stops holding back those behind it."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from api.core.request_gate import RequestGate
from tests.support.server import start_server
from tests.support.waiting import wait_for

HOUR = 3600.0


class HeldApp:
    """A WSGI app whose requests go in, say so, and stay until released (by the ``PATH_INFO`` they came with)."""

    def __init__(self):
        self.entered: list[str] = []
        self.release: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        name = environ["PATH_INFO"]
        with self.lock:
            self.entered.append(name)
            done = self.release.setdefault(name, threading.Event())
        if name.startswith("/fail"):
            raise RuntimeError("the app failed")
        assert done.wait(60), f"{name} never released"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [name.encode()]

    def let_go(self, name: str) -> None:
        with self.lock:
            self.release.setdefault(name, threading.Event()).set()


def _call(gate: RequestGate, name: str):
    return b"".join(gate({"PATH_INFO": name}, lambda status, headers: None))


def _start(pool: ThreadPoolExecutor, gate: RequestGate, app: HeldApp, name: str, *, waits: int | None = None):
    """Send request ``name``; return its future once it is in the app (``waits`` None) or once the gate has
    ``waits`` requests waiting."""
    future = pool.submit(_call, gate, name)
    if waits is None:
        wait_for(lambda: name in app.entered, timeout=30, message=f"{name} runs")
    else:
        wait_for(lambda: gate.waiting == waits, timeout=30, message=f"{waits} wait in the gate")
    return future


def test_one_slot_lets_requests_in_one_at_a_time_in_their_order():
    app = HeldApp()
    gate = RequestGate(app, slots=1, patience=HOUR)
    with ThreadPoolExecutor(4) as pool:
        first = _start(pool, gate, app, "/a")
        later = [_start(pool, gate, app, name, waits=i + 1) for i, name in enumerate(("/b", "/c", "/d"))]
        assert app.entered == ["/a"]
        for name in ("/a", "/b", "/c"):
            app.let_go(name)
            nxt = {"/a": "/b", "/b": "/c", "/c": "/d"}[name]
            wait_for(lambda nxt=nxt: nxt in app.entered, timeout=30, message=f"{nxt} runs")
        app.let_go("/d")
        assert [f.result(timeout=30) for f in (first, *later)] == [b"/a", b"/b", b"/c", b"/d"]
    assert app.entered == ["/a", "/b", "/c", "/d"]
    assert gate.waiting == 0


def test_two_slots_run_two_and_the_third_waits():
    app = HeldApp()
    gate = RequestGate(app, slots=2, patience=HOUR)
    with ThreadPoolExecutor(3) as pool:
        a, b = _start(pool, gate, app, "/a"), _start(pool, gate, app, "/b")
        c = _start(pool, gate, app, "/c", waits=1)
        assert sorted(app.entered) == ["/a", "/b"]
        app.let_go("/b")
        wait_for(lambda: "/c" in app.entered, timeout=30, message="/c runs once /b has left")
        app.let_go("/a")
        app.let_go("/c")
        assert [f.result(timeout=30) for f in (a, b, c)] == [b"/a", b"/b", b"/c"]


def test_a_request_held_longer_than_the_patience_stops_counting():
    """The first request never leaves while the second runs: the second goes in once the first has run longer
    than the gate's patience."""
    app = HeldApp()
    gate = RequestGate(app, slots=1, patience=0.05)
    with ThreadPoolExecutor(2) as pool:
        held = _start(pool, gate, app, "/held")
        after = pool.submit(_call, gate, "/after")
        wait_for(lambda: "/after" in app.entered, timeout=30, message="/after runs beside the held request")
        assert not held.done()
        app.let_go("/after")
        assert after.result(timeout=30) == b"/after"
        app.let_go("/held")
        assert held.result(timeout=30) == b"/held"


def test_a_request_that_fails_gives_its_slot_back():
    app = HeldApp()
    gate = RequestGate(app, slots=1, patience=HOUR)
    with pytest.raises(RuntimeError, match="the app failed"):
        _call(gate, "/fail")
    with ThreadPoolExecutor(1) as pool:
        f = _start(pool, gate, app, "/next")
        app.let_go("/next")
        assert f.result(timeout=30) == b"/next"


def test_a_gate_needs_a_slot():
    with pytest.raises(ValueError):
        RequestGate(HeldApp(), slots=0)


def test_long_polls_do_not_hold_back_a_one_slot_server(settings):
    """``ingot serve`` with one slot: three ``?wait_for=`` requests wait for a state the device will not reach,
    and another request is answered while they still wait."""
    settings.http_concurrency = 1
    server = start_server(settings, worker=False)
    try:
        headers = {"X-Auth-Token": server.token}
        api = f"{server.url}/metal/v1"
        r = requests.post(f"{api}/projects/{server.project_id}/devices", headers=headers, timeout=60, json={
            "hostname": "polled", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
        assert r.status_code == 201, r.text
        url = f"{api}/devices/{r.json()['id']}"
        with ThreadPoolExecutor(3) as pool:
            polls = [pool.submit(requests.get, url, headers=headers, timeout=120,
                                 params={"wait_for": "state:inactive", "timeout": 20}) for _ in range(3)]
            gate = server.server.server.wsgi_app
            assert isinstance(gate, RequestGate) and gate.slots == 1
            wait_for(lambda: gate.running == 3, timeout=30, message="the three long polls are in the app")
            answer = requests.get(f"{api}/user", headers=headers, timeout=60)
            assert answer.status_code == 200, answer.text
            assert not any(p.done() for p in polls), "the long polls ended before the other request was answered"
            for p in polls:
                assert p.result(timeout=120).json()["state"] == "queued"  # no worker: the device stays queued
    finally:
        server.stop()
