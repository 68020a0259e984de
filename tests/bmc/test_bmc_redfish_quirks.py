"""RedfishDriver against firmware quirks: the real sushy-emulator behind a tap that
edits its answers the way other BMCs differ (allowed values, missing features,
rejected requests). The emulator still serves every request not answered by the tap."""
from __future__ import annotations

import pytest

from api.bmc import get_driver
from api.bmc.base import BMCError, BMCUnsupported
from tests.bmc.systems import QUIRKS

SYSTEM_PATH = f"/redfish/v1/Systems/{QUIRKS['uuid']}"


def quirky(redfish_bmc, make_http_tap, rewrite=None, intercept=None):
    tap = make_http_tap(redfish_bmc.url)
    tap.rewrite = rewrite
    tap.intercept = intercept
    driver = get_driver("redfish", tap.url, redfish_bmc.username, redfish_bmc.password,
                        options={"system_id": QUIRKS["uuid"]}, timeout=30)
    return tap, driver


def edit_system(edit):
    def rewrite(method, path, body):
        if method == "GET" and path.rstrip("/") == SYSTEM_PATH:
            edit(body)
        return body
    return rewrite


def allow_resets(*values):
    def edit(body):
        body["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] = list(values)
    return edit_system(edit)


def accept_resets(method, path, body):
    """Answer reset POSTs with 204 without touching the emulator."""
    if method == "POST" and path.endswith("ComputerSystem.Reset"):
        return 204, None
    return None


def reset_types(tap):
    return [r.body["ResetType"] for r in tap.recorded("POST", "ComputerSystem.Reset")]


def test_reset_uses_power_cycle_when_force_restart_is_not_offered(redfish_bmc, make_http_tap):
    tap, d = quirky(redfish_bmc, make_http_tap, allow_resets("On", "ForceOff", "PowerCycle"),
                    accept_resets)
    d.set_power("reset")
    assert reset_types(tap) == ["PowerCycle"]


def test_power_on_uses_force_on_when_on_is_not_offered(redfish_bmc, make_http_tap):
    def off_and_force_on_only(body):
        body["PowerState"] = "Off"
        body["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] = [
            "ForceOn", "ForceOff"]
    tap, d = quirky(redfish_bmc, make_http_tap, edit_system(off_and_force_on_only), accept_resets)
    d.set_power("on")
    assert reset_types(tap) == ["ForceOn"]


def test_soft_off_not_offered_is_unsupported(redfish_bmc, make_http_tap):
    tap, d = quirky(redfish_bmc, make_http_tap, allow_resets("On", "ForceOff"), accept_resets)
    with pytest.raises(BMCUnsupported, match="ForceOff") as exc:
        d.set_power("soft_off")
    assert tap.url in str(exc.value)
    assert reset_types(tap) == []


def test_one_time_boot_not_offered_falls_back_to_continuous(redfish_bmc, make_http_tap):
    def no_once(body):
        body["Boot"]["BootSourceOverrideEnabled@Redfish.AllowableValues"] = [
            "Disabled", "Continuous"]
    tap, d = quirky(redfish_bmc, make_http_tap, edit_system(no_once))
    d.set_boot_device("pxe")
    sent = [r.body["Boot"]["BootSourceOverrideEnabled"] for r in tap.recorded("PATCH")]
    assert sent == ["Continuous"]


def test_one_time_boot_rejected_falls_back_to_continuous(redfish_bmc, make_http_tap):
    def reject_once(method, path, body):
        if method == "PATCH" and (body or {}).get("Boot", {}).get(
                "BootSourceOverrideEnabled") == "Once":
            return 400, {"error": {"code": "Base.1.0.PropertyValueNotInList",
                                   "message": "Once is not supported"}}
        return None
    tap, d = quirky(redfish_bmc, make_http_tap, intercept=reject_once)
    d.set_boot_device("pxe")
    sent = [r.body["Boot"]["BootSourceOverrideEnabled"] for r in tap.recorded("PATCH")]
    assert sent == ["Once", "Continuous"]
    assert d.get_boot_device()["device"] == "pxe"


def test_boot_target_not_offered_is_unsupported(redfish_bmc, make_http_tap):
    def no_cd(body):
        body["Boot"]["BootSourceOverrideTarget@Redfish.AllowableValues"] = ["Pxe", "Hdd"]
    tap, d = quirky(redfish_bmc, make_http_tap, edit_system(no_cd))
    with pytest.raises(BMCUnsupported, match="Pxe"):
        d.set_boot_device("cdrom")
    assert tap.recorded("PATCH") == []


def test_method_not_allowed_is_unsupported(redfish_bmc, make_http_tap):
    def refuse_patch(method, path, body):
        if method == "PATCH":
            return 405, {"error": {"code": "Base.1.0.GeneralError", "message": "read only"}}
        return None
    tap, d = quirky(redfish_bmc, make_http_tap, intercept=refuse_patch)
    with pytest.raises(BMCUnsupported) as exc:
        d.set_boot_device("pxe")
    assert tap.url in str(exc.value)


def test_server_error_is_a_bmc_error(redfish_bmc, make_http_tap):
    def fail_gets(method, path, body):
        if method == "GET" and path.rstrip("/") == SYSTEM_PATH:
            return 500, {"error": {"code": "Base.1.0.InternalError", "message": "kaboom"}}
        return None
    tap, d = quirky(redfish_bmc, make_http_tap, intercept=fail_gets)
    with pytest.raises(BMCError, match="kaboom") as exc:
        d.power_state()
    assert type(exc.value) is BMCError
    # a 5xx GET is retried once by the driver's HTTP layer, not more
    assert len(tap.recorded("GET", SYSTEM_PATH)) == 2


def test_inventory_parses_summaries_and_identity(redfish_bmc, make_http_tap):
    def full_summary(body):
        body["ProcessorSummary"]["Count"] = 2
        body["MemorySummary"]["TotalSystemMemoryGiB"] = 15.5
        body["SerialNumber"] = "SN-4711 "
        body["Model"] = "PowerEdge R650"
    _, d = quirky(redfish_bmc, make_http_tap, edit_system(full_summary))
    inv = d.inventory()
    assert (inv.cpus, inv.memory_mib, inv.serial, inv.model, inv.vendor) == (
        2, 15872, "SN-4711", "PowerEdge R650", "Sushy Emulator")


def test_virtual_media_missing_is_unsupported(redfish_bmc, make_http_tap, iso_server):
    def strip_vmedia(method, path, body):
        if method == "GET" and isinstance(body, dict):
            body.pop("VirtualMedia", None)
        return body
    tap, d = quirky(redfish_bmc, make_http_tap, strip_vmedia)
    with pytest.raises(BMCUnsupported, match="VirtualMedia") as exc:
        d.insert_virtual_media(iso_server)
    assert tap.url in str(exc.value)
    assert tap.recorded("POST") == []


@pytest.mark.parametrize("reported, expected", [
    ("On", "on"), ("PoweringOn", "on"), ("PoweringOff", "on"), ("Paused", "on"), ("Off", "off")])
def test_transitional_power_states(redfish_bmc, make_http_tap, reported, expected):
    def report(body):
        body["PowerState"] = reported
    _, d = quirky(redfish_bmc, make_http_tap, edit_system(report))
    assert d.power_state() == expected


def test_missing_power_state_is_an_error(redfish_bmc, make_http_tap):
    _, d = quirky(redfish_bmc, make_http_tap, edit_system(lambda body: body.pop("PowerState")))
    with pytest.raises(BMCError, match="PowerState"):
        d.power_state()
