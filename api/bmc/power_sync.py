"""Read the power state of many BMCs at once, with bounded concurrency and time.

DB-free on purpose: the engine turns machines into :class:`PowerTarget` s, calls
:func:`poll_power`, and records drift events and metrics from the
:class:`PowerResult` s. Example::

    targets = [PowerTarget(m.id, functools.partial(get_driver, m.bmc_driver, m.bmc_address,
                                                   m.bmc_username, m.bmc_password,
                                                   m.bmc_options, timeout=5.0))
               for m in machines]
    for r in poll_power(targets, concurrency=64, timeout=5.0):
        if r.error is None and r.power_state != recorded[r.machine_id]: ...

Guarantees:

* at most ``concurrency`` BMC calls are in flight;
* each call gets ``timeout`` seconds from the moment it *starts* (not from when
  it was queued), plus a short grace (10 %, at most 0.5 s) so a driver that
  honours the same timeout reports its own, more specific error first; a call
  still running then is reported as :class:`~api.bmc.base.BMCUnreachable`
  (naming the BMC) and abandoned -- its worker thread ends when the driver's
  own timeout fires, so build drivers with ``timeout`` no larger than this one;
* a slow or dead BMC delays nobody else: the others keep flowing through the
  remaining workers;
* every target gets exactly one result, in input order; errors are the typed
  :mod:`api.bmc.base` errors, never raised;
* with ``rate``, call ``k`` starts no sooner than ``k / rate`` seconds after the
  first: a periodic sweep spreads its calls instead of starting them all at
  once (a burst of fast answers takes the CPUs from whatever shares the
  process: in the embedded default, the API's requests);
* with ``stop``, no call starts once it is set (those under way end as above),
  and the targets never started get no result.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from api.bmc.base import POWER_STATES, BMCDriver, BMCError, BMCUnreachable


@dataclasses.dataclass(frozen=True)
class PowerTarget:
    """One machine to poll: its id and a zero-argument driver factory."""

    machine_id: Any
    driver_factory: Callable[[], BMCDriver]


@dataclasses.dataclass
class PowerResult:
    """What one poll found: ``power_state`` ("on"/"off") or a typed ``error``; with
    ``poll_power(read=...)``, ``value`` is what ``read`` returned instead."""

    machine_id: Any
    power_state: str | None
    error: BMCError | None
    elapsed: float  # seconds the BMC call took (or until it was given up)
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _poll_one(target: PowerTarget, started: list[float | None], addresses: list[str | None],
              index: int, read: Callable[[BMCDriver], Any] | None) -> tuple[Any, float]:
    t0 = time.monotonic()
    started[index] = t0
    driver = None
    try:
        driver = target.driver_factory()
        addresses[index] = getattr(driver, "address", None)
        if read is not None:
            return read(driver), time.monotonic() - t0
        state = driver.power_state()
        if state not in POWER_STATES:
            raise BMCError(f"driver returned power state {state!r}",
                           address=getattr(driver, "address", None))
        return state, time.monotonic() - t0
    except BMCError:
        raise
    except Exception as exc:  # noqa: BLE001 - a driver bug must not kill the sweep
        raise BMCError(f"{type(exc).__name__}: {exc}",
                       address=getattr(driver, "address", None)) from exc
    finally:
        if driver is not None:
            try:
                driver.close()
            except Exception:  # noqa: BLE001
                pass


def poll_power(targets: Iterable[PowerTarget], concurrency: int = 64, timeout: float = 5.0,
               on_result: Callable[[PowerResult], None] | None = None,
               read: Callable[[BMCDriver], Any] | None = None, rate: float | None = None,
               stop: threading.Event | None = None) -> list[PowerResult]:
    """Poll every target's power state; see the module docstring for guarantees.

    ``on_result`` (optional) is called from the calling thread as each result
    arrives, e.g. to stream metrics; the full list is returned at the end.
    ``read(driver)`` (optional) reads something else than the power state, with the
    same bounds (e.g. ``BMCDriver.health``); its answer is the result's ``value``.
    ``rate`` (optional): at most that many calls started per second. ``stop`` (optional):
    start no more calls once it is set.

    Raises:
        ValueError: ``concurrency`` below 1 or ``rate`` not above 0.
    """
    items: Sequence[PowerTarget] = list(targets)
    if not items:
        return []
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if rate is not None and not rate > 0:
        raise ValueError("rate must be > 0")
    results: list[PowerResult | None] = [None] * len(items)
    started: list[float | None] = [None] * len(items)
    addresses: list[str | None] = [None] * len(items)
    limit = timeout + min(0.5, 0.1 * timeout)
    width = min(concurrency, len(items))
    pool = cf.ThreadPoolExecutor(max_workers=width, thread_name_prefix="power-sync")
    abandoned = threading.Event()
    # Targets are handed to the pool as calls end, never more than ``width`` at once: each look at the calls
    # under way (their deadlines, cf.wait) costs what they number, and with all N submitted at once the looks
    # cost N each (10,000 BMCs answering in 100 ms: 4.7 s of the sweeping thread's CPU, 2.1 s this way).
    upcoming = 0  # the next target to start
    first_start = time.monotonic()
    in_flight: dict[cf.Future, int] = {}

    def next_start() -> float:
        """When the next target may start (``rate``: never sooner than ``upcoming / rate`` after the first)."""
        return first_start + upcoming / rate if rate else 0.0

    def start_due() -> None:
        """Start the targets whose turn has come, while fewer than ``width`` calls are under way."""
        nonlocal upcoming
        while (upcoming < len(items) and len(in_flight) < width and not (stop and stop.is_set())
               and time.monotonic() >= next_start()):
            in_flight[pool.submit(_poll_one, items[upcoming], started, addresses, upcoming, read)] = upcoming
            upcoming += 1

    def waiting() -> bool:
        return upcoming < len(items) and not (stop and stop.is_set())

    def record(i: int, result: PowerResult) -> None:
        results[i] = result
        if on_result is not None:
            on_result(result)

    try:
        start_due()
        while in_flight or waiting():
            now = time.monotonic()
            deadlines = [started[i] + limit for i in in_flight.values() if started[i] is not None]
            wait_for = max(0.0, min(deadlines) - now) if deadlines else 0.05
            if waiting() and len(in_flight) < width:  # paced: the next start is a deadline too
                wait_for = min(wait_for, max(0.0, next_start() - now))
            wait_for = min(max(wait_for, 0.005), 0.25)
            if not in_flight:  # paced: nothing under way until the next start
                if stop is not None:
                    stop.wait(wait_for)
                else:
                    time.sleep(wait_for)
                start_due()
                continue
            done, _ = cf.wait(in_flight, timeout=wait_for, return_when=cf.FIRST_COMPLETED)
            for f in done:
                i = in_flight.pop(f)
                t = items[i]
                exc = f.exception()
                if exc is None:
                    value, elapsed = f.result()
                    record(i, PowerResult(t.machine_id, None if read else value, None, elapsed,
                                          value if read else None))
                else:
                    elapsed = time.monotonic() - (started[i] or time.monotonic())
                    err = exc if isinstance(exc, BMCError) else BMCError(str(exc))
                    record(i, PowerResult(t.machine_id, None, err, elapsed))
            now = time.monotonic()
            for f, i in list(in_flight.items()):
                t0 = started[i]
                if t0 is not None and now - t0 >= limit and not f.done():
                    del in_flight[f]
                    abandoned.set()
                    record(i, PowerResult(
                        items[i].machine_id, None,
                        BMCUnreachable(f"{'power status' if read is None else 'BMC read'}: no answer within "
                                       f"{timeout:g}s",
                                       address=addresses[i]),
                        now - t0))
            start_due()  # after an abandoned call: queued behind its thread until one is free
    finally:
        # never wait for abandoned calls; finished workers exit on their own
        pool.shutdown(wait=not abandoned.is_set(), cancel_futures=True)
    return [r for r in results if r is not None]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(results: Sequence[PowerResult]) -> dict[str, Any]:
    """Counts and latency figures for logs and metrics."""
    elapsed = [r.elapsed for r in results]
    errors: dict[str, int] = {}
    for r in results:
        if r.error is not None:
            errors[type(r.error).__name__] = errors.get(type(r.error).__name__, 0) + 1
    return {
        "total": len(results),
        "ok": sum(1 for r in results if r.ok),
        "on": sum(1 for r in results if r.power_state == "on"),
        "off": sum(1 for r in results if r.power_state == "off"),
        "errors": errors,
        "p50": percentile(elapsed, 50),
        "p99": percentile(elapsed, 99),
        "max": max(elapsed) if elapsed else math.nan,
    }
