"""The state machines are data: allowed and refused transitions."""
from __future__ import annotations

import pytest

from api.engine.operations import OPERATIONS
from api.engine.states import (
    DEVICE_STATES,
    DEVICE_TRANSITIONS,
    MACHINE_STATES,
    MACHINE_TRANSITIONS,
    InvalidTransition,
    can,
    next_state,
)
from api.engine.steps import STEPS


@pytest.mark.parametrize("state,event,expected", [
    ("queued", "provision", "provisioning"),
    ("provisioning", "provisioned", "active"),
    ("active", "power_off", "powering_off"),
    ("powering_off", "powered_off", "inactive"),
    ("inactive", "power_on", "powering_on"),
    ("powering_on", "powered_on", "active"),
    ("active", "reinstall", "reinstalling"),
    ("failed", "reinstall", "reinstalling"),
    ("provisioning", "fail", "failed"),
    ("queued", "delete", "deprovisioning"),
    ("failed", "delete", "deprovisioning"),
    ("deprovisioning", "deleted", "deleted"),
])
def test_device_allowed(state, event, expected):
    assert next_state("device", state, event) == expected


@pytest.mark.parametrize("state,event", [
    ("queued", "power_off"), ("inactive", "power_off"), ("active", "power_on"),
    ("provisioning", "reinstall"), ("deprovisioning", "delete"), ("deleted", "delete"),
    ("queued", "reboot"), ("active", "provisioned"),
])
def test_device_refused(state, event):
    assert not can("device", state, event)
    with pytest.raises(InvalidTransition) as exc:
        next_state("device", state, event)
    assert state in str(exc.value)


@pytest.mark.parametrize("state,event,expected", [
    ("enrolled", "inspect", "inspecting"), ("inspecting", "inspected", "available"),
    ("inspecting", "no_plan", "enrolled"), ("available", "allocate", "allocated"),
    ("allocated", "provision", "provisioning"), ("provisioning", "provisioned", "active"),
    ("active", "deprovision", "deprovisioning"), ("deprovisioning", "clean", "cleaning"),
    ("cleaning", "cleaned", "available"), ("cleaning", "fail", "failed"),
    ("available", "maintenance_on", "maintenance"), ("maintenance", "maintenance_off", "available"),
])
def test_machine_allowed(state, event, expected):
    assert next_state("machine", state, event) == expected


@pytest.mark.parametrize("state,event", [
    ("active", "allocate"), ("failed", "allocate"), ("cleaning", "allocate"), ("maintenance", "allocate"),
    ("failed", "cleaned"), ("active", "maintenance_on"), ("enrolled", "provision"),
])
def test_machine_refused(state, event):
    assert not can("machine", state, event)


def test_refusal_names_the_allowed_states():
    with pytest.raises(InvalidTransition) as exc:
        next_state("device", "queued", "power_off")
    assert str(exc.value) == "device in state 'queued' cannot power off; allowed from active"


def test_tables_only_use_documented_states():
    for rows, states in ((DEVICE_TRANSITIONS, DEVICE_STATES), (MACHINE_TRANSITIONS, MACHINE_STATES)):
        for src, _event, dst in rows:
            assert src == "*" or src in states
            assert dst in states
    assert all(doc.strip() for doc in {**DEVICE_STATES, **MACHINE_STATES}.values())


def test_failed_machine_never_returns_to_the_pool_by_itself():
    reachable = {dst for src, _e, dst in MACHINE_TRANSITIONS if src == "failed"}
    assert "available" not in reachable  # only through maintenance (an operator's decision)


def test_operations_only_use_known_steps():
    from types import SimpleNamespace
    device = SimpleNamespace(operating_system=SimpleNamespace(install_method="ipxe_recipe"), rescue=False)
    for op in OPERATIONS.values():
        for steps in (op.plan(None, device, {}), op.plan(None, device, {"deprovision_fast": True})):
            assert steps[-1] in ("finish", "boot_disk") or steps
            assert all(s in STEPS for s in steps), (op.name, steps)
