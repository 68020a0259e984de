"""poll_power against real emulators: many BMCs, bounded concurrency, slow ones isolated.

How fast it polls (500 and 2,000 systems, against a sequential baseline) is
bench/power_sync.py's figure; these tests check what holds however busy the
machine is: every target polled once, in order, dead ones isolated and cut off."""
from __future__ import annotations

import functools
import threading
import time

import pytest

from api.bmc import get_driver
from api.bmc.base import BMCAuthFailed, BMCDriver, BMCError, BMCUnreachable
from api.bmc.power_sync import PowerTarget, percentile, poll_power, summarize
from tests.support.ports import free_port
from tests.support.waiting import LOAD_SLACK

# a live emulator answers well within this on a busy machine
LIVE = 30.0


def redfish_target(bmc, system_id, timeout=LIVE, password=None, machine_id=None):
    return PowerTarget(machine_id or system_id, functools.partial(
        get_driver, "redfish", bmc.url, bmc.username,
        bmc.password if password is None else password, {"system_id": system_id}, timeout))


def test_poll_500_systems_of_one_emulator_each_once_in_order(redfish_500):
    targets = [redfish_target(redfish_500, sid) for sid in redfish_500.system_ids]
    seen = []
    t0 = time.monotonic()
    results = poll_power(targets, concurrency=64, timeout=LIVE, on_result=seen.append)
    wall = time.monotonic() - t0
    summary = summarize(results)
    print(f"\npower sync of 500 Redfish systems: {wall:.2f}s wall, "
          f"p50 {summary['p50'] * 1000:.0f} ms, p99 {summary['p99'] * 1000:.0f} ms per call")
    assert [r.machine_id for r in results] == redfish_500.system_ids  # in input order
    assert sorted(r.machine_id for r in seen) == sorted(redfish_500.system_ids)  # each reported once
    assert summary["ok"] == 500 and summary["off"] == 500, summary


def test_dead_hung_and_misconfigured_bmcs_do_not_delay_the_others(redfish_500, black_hole):
    # the two dead BMCs each hold a worker for STUCK seconds, far longer than the 40 live polls take
    stuck = 10.0
    live = [redfish_target(redfish_500, sid, timeout=stuck) for sid in redfish_500.system_ids[:40]]
    hung = PowerTarget("hung", functools.partial(
        get_driver, "redfish", f"http://{black_hole.address}", "admin", "x", None, stuck))
    refused = PowerTarget("refused", functools.partial(
        get_driver, "redfish", f"http://127.0.0.1:{free_port()}", "admin", "x", None, stuck))
    wrong_pw = redfish_target(redfish_500, redfish_500.system_ids[0], timeout=stuck,
                              password="wrong", machine_id="wrong-password")
    dead_ipmi = PowerTarget("dead-ipmi", functools.partial(
        get_driver, "ipmi", f"127.0.0.1:{free_port(udp=True)}", "admin", "x", None, stuck))

    def broken_factory():
        raise RuntimeError("driver construction blew up")

    broken = PowerTarget("broken", broken_factory)
    targets = [hung, dead_ipmi] + live[:20] + [refused, wrong_pw, broken] + live[20:]

    reported = []
    t0 = time.monotonic()
    results = poll_power(targets, concurrency=8, timeout=stuck, on_result=lambda r: reported.append(r.machine_id))
    wall = time.monotonic() - t0

    by_id = {r.machine_id: r for r in results}
    assert [r.machine_id for r in results] == [t.machine_id for t in targets]
    assert isinstance(by_id["hung"].error, BMCUnreachable)
    assert black_hole.address in str(by_id["hung"].error)
    assert 0.75 * stuck <= by_id["hung"].elapsed <= stuck + LOAD_SLACK  # it waited for its timeout, no longer
    assert isinstance(by_id["dead-ipmi"].error, BMCUnreachable)
    assert isinstance(by_id["refused"].error, BMCUnreachable)
    assert isinstance(by_id["wrong-password"].error, BMCAuthFailed)
    assert type(by_id["broken"].error) is BMCError and "blew up" in str(by_id["broken"].error)
    live_results = [by_id[t.machine_id] for t in live]
    assert all(r.power_state == "off" for r in live_results)
    # a worker stuck on the hung BMC; the others kept the live ones flowing meanwhile (how many got
    # through before it gave up depends on the machine's load, that some did does not)
    assert any(m in {t.machine_id for t in live} for m in reported[:reported.index("hung")]), reported
    # and when both dead ones waited (a closed UDP port may also be refused at once), they waited side
    # by side: one after the other, the sweep would last at least as long as both waits, however slow
    if by_id["dead-ipmi"].elapsed >= 0.75 * stuck:
        assert wall < by_id["hung"].elapsed + by_id["dead-ipmi"].elapsed, wall


class CountingDriver(BMCDriver):
    """Wraps a real driver and counts calls in flight (for the concurrency bound).
    With ``rendezvous`` set, a call waits (up to a minute) until a second one is in
    flight, so overlap is certain wherever concurrency allows it, however busy the machine."""

    name = "counting"
    lock = threading.Lock()
    in_flight = 0
    peak = 0
    rendezvous: threading.Event | None = None

    def __init__(self, inner: BMCDriver):
        super().__init__(inner.address, timeout=inner.timeout)
        self.inner = inner

    def power_state(self) -> str:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
            if cls.rendezvous is not None and cls.in_flight > 1:
                cls.rendezvous.set()
        try:
            if cls.rendezvous is not None:
                cls.rendezvous.wait(60)
            return self.inner.power_state()
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def set_power(self, action):  # pragma: no cover - not used
        raise NotImplementedError

    def set_boot_device(self, device, persistent=False):  # pragma: no cover
        raise NotImplementedError

    def inventory(self):  # pragma: no cover
        raise NotImplementedError


@pytest.mark.parametrize("concurrency", [1, 5, 32])
def test_concurrency_is_bounded(redfish_500, concurrency):
    CountingDriver.in_flight = CountingDriver.peak = 0
    CountingDriver.rendezvous = threading.Event() if concurrency > 1 else None
    targets = [PowerTarget(sid, functools.partial(
        lambda sid: CountingDriver(get_driver("redfish", redfish_500.url, redfish_500.username,
                                              redfish_500.password, {"system_id": sid}, LIVE)),
        sid)) for sid in redfish_500.system_ids[:64]]
    seen = []
    results = poll_power(targets, concurrency=concurrency, timeout=LIVE + 60, on_result=seen.append)
    assert all(r.ok for r in results)
    assert sorted(r.machine_id for r in seen) == sorted(r.machine_id for r in results)
    assert 1 <= CountingDriver.peak <= concurrency
    if concurrency > 1:
        assert CountingDriver.peak > 1


def _timed(target: PowerTarget, starts: dict) -> PowerTarget:
    """``target``, noting when its call starts (its driver is built as the call starts)."""
    def factory():
        starts[target.machine_id] = time.monotonic()
        return target.driver_factory()
    return PowerTarget(target.machine_id, factory)


def test_a_rate_spreads_the_calls(redfish_500):
    """With ``rate``, call k starts no sooner than k / rate seconds after the first, whatever the
    concurrency allows (a periodic sweep does not start its calls all at once); every target is read."""
    starts: dict = {}
    ids = redfish_500.system_ids[:12]
    rate = 20.0
    t0 = time.monotonic()  # at or before the first start: a lower bound that a busy machine cannot break
    results = poll_power([_timed(redfish_target(redfish_500, sid), starts) for sid in ids], concurrency=12,
                         timeout=LIVE, rate=rate)
    assert [r.machine_id for r in results] == ids and all(r.power_state == "off" for r in results)
    for k, sid in enumerate(ids):
        assert starts[sid] - t0 >= k / rate, (k, starts[sid] - t0)
    with pytest.raises(ValueError):
        poll_power([PowerTarget(1, lambda: None)], rate=0)


def test_no_call_starts_once_stop_is_set(redfish_500):
    """A sweep told to stop (its worker shuts down) starts no more calls: the targets never started
    get no result; the calls under way end as usual."""
    stop, seen = threading.Event(), []
    ids = redfish_500.system_ids[:40]

    def third_stops(r):
        seen.append(r)
        if len(seen) == 3:
            stop.set()
    results = poll_power([redfish_target(redfish_500, sid) for sid in ids], concurrency=4, timeout=LIVE,
                         rate=10.0, stop=stop, on_result=third_stops)
    assert 3 <= len(results) <= 3 + 4  # at most the calls under way when it was set
    assert [r.machine_id for r in results] == ids[:len(results)] and all(r.ok for r in results)


def test_ipmi_targets(ipmi_bmc):
    live = PowerTarget("live", functools.partial(
        get_driver, "ipmi", ipmi_bmc.address, ipmi_bmc.username, ipmi_bmc.password, None, LIVE))
    results = poll_power([live, live, live], concurrency=3, timeout=LIVE)
    assert all(r.ok and r.power_state in ("on", "off") for r in results)


def test_empty_and_helpers():
    assert poll_power([]) == []
    with pytest.raises(ValueError):
        poll_power([PowerTarget(1, lambda: None)], concurrency=0)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0] * 99 + [9.0], 99) == 1.0
    assert percentile(list(range(1, 101)), 99) == 99


def test_a_call_outliving_the_poll_timeout_is_abandoned(redfish_500, black_hole):
    """A driver built with a longer timeout than the poll's is cut off by poll_power."""
    slow = PowerTarget("slow", functools.partial(
        get_driver, "redfish", f"http://{black_hole.address}", "admin", "x", None, 300.0))
    fast = redfish_target(redfish_500, redfish_500.system_ids[0])
    t0 = time.monotonic()
    results = poll_power([slow, fast], concurrency=2, timeout=10.0)
    # the poll's 10 s ended it, not the driver's 300 s
    assert time.monotonic() - t0 < 10.0 + LOAD_SLACK
    assert isinstance(results[0].error, BMCUnreachable)
    assert black_hole.address in str(results[0].error)
    assert results[1].power_state == "off"
