"""Waiting for a condition by polling it, with a deadline generous enough for a
busy shared machine. Tests never sleep to synchronise: they wait for what they
need to see, and a deadline only ends a wait that would otherwise hang."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

# What a loaded 2-core machine may add to a call that honours its own timeout:
# a test that checks "gives up after its timeout, not never" allows this much more.
LOAD_SLACK = 15.0


class WaitTimeout(AssertionError):
    """A condition never held within its deadline (a test failure)."""


def wait_for(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.05,
             message: str = "condition", ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Poll ``predicate`` until it returns a truthy value, and return that value.

    Exceptions of the types in ``ignore`` count as "not yet"; any other propagates.
    Raises WaitTimeout naming ``message`` and the last value (or error) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except ignore as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {message} (last: {last!r})")
        time.sleep(interval)
