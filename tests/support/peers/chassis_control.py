#!/usr/bin/env python3
"""The ``chassis_control`` program ipmi_sim runs for power and boot-device commands.

ipmi_sim (Debian ``openipmi``) has no machine of its own: when ``lan.conf``
names a chassis_control program, every chassis command becomes a call::

    <prog> <args> get power boot          -> prints "power:1" / "boot:pxe" lines
    <prog> <args> set power 1             (or 0)
    <prog> <args> set boot pxe            (none|pxe|default|cdrom|bios)
    <prog> <args> set reset 1             hard reset
    <prog> <args> set shutdown 1          soft (ACPI) shutdown request

Here ``<args>`` is one path: a JSON file holding the simulated machine's state,
so tests can read what the BMC did (``power``, ``boot``, ``resets``,
``history``).  A non-zero exit makes ipmi_sim answer the IPMI command with an
error completion code.  Standard library only.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
import time

BOOT_VALUES = ("none", "pxe", "default", "cdrom", "bios")
DEFAULT_STATE = {"power": 0, "boot": "none", "resets": 0, "shutdowns": 0, "history": []}


def _load(path: str) -> dict:
    try:
        with open(path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    return {**DEFAULT_STATE, **state}


def _save(path: str, state: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: chassis_control.py STATE_FILE get|set NAME [VALUE] ...", file=sys.stderr)
        return 2
    path, op, rest = argv[0], argv[1], argv[2:]
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = _load(path)
        if op == "get":
            for name in rest:
                if name == "power":
                    print(f"power:{int(state['power'])}")
                elif name == "boot":
                    print(f"boot:{state['boot']}")
                else:
                    print(f"unknown parameter {name!r}", file=sys.stderr)
                    return 1
            return 0
        if op != "set" or len(rest) % 2:
            print(f"bad request {argv!r}", file=sys.stderr)
            return 2
        for name, value in zip(rest[::2], rest[1::2]):
            if name == "power":
                state["power"] = 1 if value.strip() == "1" else 0
            elif name == "boot":
                if value not in BOOT_VALUES:
                    print(f"bad boot device {value!r}", file=sys.stderr)
                    return 1
                state["boot"] = value
            elif name == "reset":
                # a hard reset restarts a running machine; an off one stays off
                if state["power"]:
                    state["resets"] += 1
            elif name == "shutdown":
                state["shutdowns"] += 1
                state["power"] = 0
            elif name == "identify":
                pass
            else:
                print(f"unknown parameter {name!r}", file=sys.stderr)
                return 1
            state["history"] = (state["history"] + [[round(time.time(), 3), name, value]])[-200:]
        _save(path, state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
