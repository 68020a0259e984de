"""The engine's tables on their own: step plans, boot phases along a plan,
percentages, timeouts from INGOT_TIMEOUT_*, and the operator docs naming
every state and step."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from api.boot.ipxe import boot_phase
from api.core.config import Settings
from api.engine.operations import OPERATIONS, progress
from api.engine.states import DEVICE_STATES, MACHINE_STATES
from api.engine.steps import STEPS, step_timeout

DOCS = Path(__file__).resolve().parents[2] / "docs" / "provisioning.md"


def _device(method="ipxe_recipe", always_pxe=False, url="", rescue=False, state="provisioning"):
    return SimpleNamespace(operating_system=SimpleNamespace(install_method=method), always_pxe=always_pxe,
                           ipxe_script_url=url, rescue=rescue, state=state)


def _machine(op, steps, pos, install_result=None):
    return SimpleNamespace(operation=op, operation_args={"steps": steps, "pos": pos}, step=steps[pos],
                           install_result=install_result)


def _phases(op, device, args=None, install_result=None):
    steps = OPERATIONS[op].plan(None, device, dict(args or {}))
    return steps, [boot_phase(_machine(op, steps, i, install_result), device) for i in range(len(steps))]


def test_reinstall_with_wipe_boots_the_wipe_then_the_installer():
    steps, phases = _phases("reinstall", _device(state="reinstalling"))
    assert steps == ["power_off", "boot_pxe", "power_on", "wait_wipe", "power_off", "boot_pxe", "power_on",
                     "wait_boot", "wait_install", "wait_phone_home", "boot_disk", "finish"]
    assert phases == ["wipe"] * 4 + ["install"] * 5 + ["exit"] * 3


def test_installer_done_means_the_next_boot_is_the_installed_system():
    dev = _device(always_pxe=True, url="http://example.com/x.ipxe")
    steps, phases = _phases("provision", dev, install_result="ok")
    assert phases[steps.index("wait_install")] == "chain"  # always_pxe: the tenant's script, not a reinstall
    steps, phases = _phases("provision", dev)
    assert phases[steps.index("wait_install")] == "install"


@pytest.mark.parametrize("op,device,args,expected", [
    ("provision", _device("custom_ipxe", url="http://example.com/x"), {},
     ["install"] * 4 + ["exit", "exit"]),
    ("provision", _device("image"), {}, ["install"] * 5 + ["exit"] * 5),
    ("rescue", _device(state="active"), {}, ["rescue"] * 5 + ["exit"]),
    ("deprovision", _device(state="deprovisioning"), {"deprovision_fast": True}, ["exit", "exit"]),
    ("deprovision", _device(state="deprovisioning"), {}, ["wipe"] * 5 + ["exit", "exit"]),
    ("reboot", _device(state="active"), {"leaving_rescue": True}, ["exit"] * 4),
])
def test_boot_phase_along_each_plan(op, device, args, expected):
    steps, phases = _phases(op, device, args)
    assert phases == expected, list(zip(steps, phases))


def test_rescue_flag_and_always_pxe_outside_operations():
    idle = SimpleNamespace(operation=None, operation_args={}, step=None, install_result=None, state="active")
    assert boot_phase(idle, _device(state="active", rescue=True)) == "rescue"
    assert boot_phase(idle, _device(state="active", always_pxe=True, url="http://e/x")) == "chain"
    assert boot_phase(idle, _device(state="active")) == "exit"
    assert boot_phase(idle, None) == "exit"


def test_percentage_advances_with_the_steps_and_stops_short_of_100():
    for op in ("provision", "reinstall"):
        for method in ("ipxe_recipe", "image", "custom_ipxe"):
            steps = OPERATIONS[op].plan(None, _device(method), {})
            values = [progress(SimpleNamespace(operation_args={"steps": steps, "pos": i})) for i in range(len(steps))]
            assert values == sorted(values) and values[0] == 0 and values[-1] < 100
            m = SimpleNamespace(operation_args={"steps": steps, "pos": steps.index("wait_boot") + 1})
            assert progress(m, 0.0) <= progress(m, 0.5) <= progress(m, 1.0)


def test_every_wait_has_a_timeout_from_the_environment():
    env = {"INGOT_TIMEOUT_POWER": "11", "INGOT_TIMEOUT_IPXE": "12", "INGOT_TIMEOUT_INSTALL": "13",
           "INGOT_TIMEOUT_PHONE_HOME": "14", "INGOT_TIMEOUT_WIPE": "15", "INGOT_TIMEOUT_DEPLOY": "16",
           "INGOT_TIMEOUT_RESCUE": "17"}
    s = Settings.from_env(env)
    expected = {"power_off": 11, "soft_power_off": 11, "power_on": 11, "wait_boot": 12, "wait_install": 13,
                "wait_deploy": 16, "wait_phone_home": 14, "wait_rescue": 17, "wait_wipe": 15, "wait_inspect": 12}
    for name, step in STEPS.items():
        limit = step_timeout(step, s)
        if name.startswith("wait_") or "power" in name:
            assert limit is not None and limit[1] == expected[name], name
            assert step.waiting_for, name
        else:
            assert limit is None, name  # one BMC call, bounded by INGOT_BMC_RETRIES


def test_operator_guide_documents_every_state_and_step():
    text = DOCS.read_text()
    for name in [*MACHINE_STATES, *DEVICE_STATES, *STEPS, *OPERATIONS]:
        assert f"`{name}`" in text, name
    for setting in ("INGOT_TIMEOUT_POWER", "INGOT_TIMEOUT_IPXE", "INGOT_TIMEOUT_INSTALL",
                    "INGOT_TIMEOUT_PHONE_HOME", "INGOT_TIMEOUT_WIPE", "INGOT_TIMEOUT_DEPLOY",
                    "INGOT_TIMEOUT_RESCUE", "INGOT_LEASE_SECONDS"):
        assert setting in text, setting
