"""The state machines, as data.

Each table row is ``(from_state, event, to_state)``; :func:`transition` is the
only way code changes a ``state`` column, so a transition that is not in the
table cannot happen. ``"*"`` as ``from_state`` means "any non-final state".
"""
from __future__ import annotations

MACHINE_STATES = {
    "discovered": "Found by itself (an unknown MAC netbooted); inspected by Ingot's ramdisk, waiting for "
                  "an operator (or an auto-accept rule) to accept it.",
    "enrolled": "Known to Ingot; not yet inspected or not matched to a plan.",
    "inspecting": "Reading hardware facts from the BMC.",
    "available": "Inspected, clean, in the pool for allocation.",
    "allocated": "Claimed for a device; provisioning has not started.",
    "provisioning": "Being imaged for its device (also during reinstall and rescue).",
    "active": "Running its device's operating system.",
    "deprovisioning": "Its device is being deleted; powering off.",
    "cleaning": "Disks being wiped before the machine returns to the pool.",
    "maintenance": "Out of the pool by an operator's decision.",
    "failed": "An operation failed; an operator must look before it is reused.",
}

MACHINE_TRANSITIONS = [
    ("enrolled", "inspect", "inspecting"),
    ("available", "inspect", "inspecting"),
    ("maintenance", "inspect", "inspecting"),
    ("failed", "inspect", "inspecting"),
    ("inspecting", "inspected", "available"),
    ("inspecting", "no_plan", "enrolled"),
    ("inspecting", "fail", "failed"),
    ("enrolled", "accept", "available"),          # enrolled with a plan, no inspection asked
    ("discovered", "accept", "available"),        # a discovered machine whose facts fit a plan
    ("discovered", "accept_without_plan", "enrolled"),
    ("available", "allocate", "allocated"),
    ("allocated", "provision", "provisioning"),
    ("provisioning", "provisioned", "active"),
    ("provisioning", "fail", "failed"),
    ("active", "reinstall", "provisioning"),
    ("failed", "reinstall", "provisioning"),
    ("active", "rescue", "provisioning"),
    ("allocated", "deprovision", "deprovisioning"),
    ("provisioning", "deprovision", "deprovisioning"),
    ("active", "deprovision", "deprovisioning"),
    ("failed", "deprovision", "deprovisioning"),
    ("deprovisioning", "clean", "cleaning"),
    ("deprovisioning", "cleaned", "available"),   # deprovision_fast: no wipe
    ("cleaning", "cleaned", "available"),
    # released after a failed provisioning: an operator looks before it is reused
    ("deprovisioning", "quarantine", "maintenance"),
    ("cleaning", "quarantine", "maintenance"),
    ("provisioning", "rescue_failed", "active"),  # rescue never came up; the disk is untouched
    ("deprovisioning", "fail", "failed"),
    ("cleaning", "fail", "failed"),
    ("enrolled", "maintenance_on", "maintenance"),
    ("available", "maintenance_on", "maintenance"),
    ("failed", "maintenance_on", "maintenance"),
    ("maintenance", "maintenance_off", "available"),
]

DEVICE_STATES = {
    "queued": "Accepted; a machine is allocated and waits for the engine.",
    "provisioning": "The machine is being imaged.",
    "active": "Running. Power actions, reinstall and rescue are allowed.",
    "powering_on": "A power-on is in progress.",
    "powering_off": "A power-off is in progress.",
    "inactive": "Powered off by its owner (or found off by the power sync).",
    "reinstalling": "Being imaged again with a (possibly new) operating system.",
    "deprovisioning": "Being deleted; the machine is being released.",
    "failed": "Provisioning failed; the events say why. Delete or reinstall it.",
    "deleted": "Gone (kept for the audit trail; the API answers 404).",
}

DEVICE_TRANSITIONS = [
    ("queued", "provision", "provisioning"),
    ("provisioning", "provisioned", "active"),
    ("queued", "fail", "failed"),
    ("provisioning", "fail", "failed"),
    ("active", "power_off", "powering_off"),
    ("powering_off", "powered_off", "inactive"),
    ("powering_off", "power_failed", "active"),
    ("inactive", "power_on", "powering_on"),
    ("powering_on", "powered_on", "active"),
    ("powering_on", "power_failed", "inactive"),
    ("active", "power_lost", "inactive"),          # the power sync found its machine off (not by Ingot)
    ("active", "reboot", "active"),
    ("active", "rescue", "active"),
    ("active", "reinstall", "reinstalling"),
    ("inactive", "reinstall", "reinstalling"),
    ("failed", "reinstall", "reinstalling"),
    ("reinstalling", "provisioned", "active"),
    ("reinstalling", "fail", "failed"),
    ("*", "delete", "deprovisioning"),
    ("deprovisioning", "deleted", "deleted"),
]

FINAL_DEVICE_STATES = {"deleted"}


class InvalidTransition(Exception):
    """The table has no row for this (state, event)."""

    def __init__(self, kind: str, state: str, event: str, allowed_from: list[str]):
        self.kind, self.state, self.event, self.allowed_from = kind, state, event, allowed_from
        hint = f"; allowed from {', '.join(allowed_from)}" if allowed_from else ""
        super().__init__(f"{kind} in state {state!r} cannot {event.replace('_', ' ')}{hint}")


def _index(rows):
    table: dict[tuple[str, str], str] = {}
    for src, event, dst in rows:
        table[(src, event)] = dst
    return table


_TABLES = {
    "machine": (_index(MACHINE_TRANSITIONS), MACHINE_STATES, set()),
    "device": (_index(DEVICE_TRANSITIONS), DEVICE_STATES, FINAL_DEVICE_STATES),
}


def next_state(kind: str, state: str, event: str) -> str:
    """The state after ``event`` in ``state``.

    Raises:
        InvalidTransition: the transition is not in the table.
    """
    table, states, final = _TABLES[kind]
    if (state, event) in table:
        return table[(state, event)]
    if ("*", event) in table and state not in final and state != table[("*", event)]:
        return table[("*", event)]
    allowed = sorted({s for (s, e) in table if e == event})
    if "*" in allowed:
        allowed = sorted(set(states) - final - {table[("*", event)]})
    raise InvalidTransition(kind, state, event, allowed)


def can(kind: str, state: str, event: str) -> bool:
    try:
        next_state(kind, state, event)
        return True
    except InvalidTransition:
        return False


def transition(obj, kind: str, event: str) -> str:
    """Move ``obj.state`` along ``event``; returns the new state."""
    obj.state = next_state(kind, obj.state, event)
    return obj.state
