"""RedfishDriver against a real sushy-emulator (fake driver) on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from api.bmc import get_driver, redfish
from api.bmc.base import BMCAuthFailed, BMCError, BMCUnreachable, BMCUnsupported
from api.bmc.redfish import RedfishDriver, normalize_address
from tests.bmc.systems import BOOT, INSPECT, POWER_DEADLINE, POWER_OFF, POWER_ON, RESET, SOFT_OFF, VMEDIA
from tests.support.peers.redfish import start_sushy_emulator
from tests.support.ports import free_port
from tests.support.waiting import LOAD_SLACK, wait_for

# a live emulator answers well within this on a busy machine; the timeout tests set their own
LIVE = 30.0


def driver_for(bmc, system=None, *, password=None, timeout=LIVE, **options):
    if system is not None:
        options.setdefault("system_id", system["uuid"])
    return get_driver("redfish", bmc.url, bmc.username,
                      bmc.password if password is None else password,
                      options=options, timeout=timeout)


def tapped_driver(bmc, tap, system, timeout=LIVE):
    """A driver that talks to ``bmc`` through the recording ``tap``."""
    return get_driver("redfish", tap.url, bmc.username, bmc.password,
                      options={"system_id": system["uuid"]}, timeout=timeout)


def wait_power(driver, state, deadline=POWER_DEADLINE):
    return wait_for(lambda: driver.power_state() == state, deadline, interval=0.25,
                    message=f"power {state} on {driver.address}")


# -- power --------------------------------------------------------------------------


def test_power_on_reaches_on(redfish_bmc):
    d = driver_for(redfish_bmc, POWER_ON)
    assert d.power_state() == "off"
    d.set_power("on")
    wait_power(d, "on")
    assert redfish_bmc.power_state(POWER_ON["uuid"]) == "On"


def test_power_off_reaches_off(redfish_bmc):
    d = driver_for(redfish_bmc, POWER_OFF)
    assert d.power_state() == "on"
    d.set_power("off")
    wait_power(d, "off")
    assert redfish_bmc.power_state(POWER_OFF["uuid"]) == "Off"


def test_reset_restarts_a_running_system(redfish_bmc, make_http_tap):
    tap = make_http_tap(redfish_bmc.url)
    d = tapped_driver(redfish_bmc, tap, RESET)
    assert d.power_state() == "on"
    d.set_power("reset")
    posts = tap.recorded("POST", "ComputerSystem.Reset")
    assert [p.body for p in posts] == [{"ResetType": "ForceRestart"}]
    # the fake BMC drops to Off at once and comes back On 1-11 s later
    wait_power(d, "on")


def test_soft_off_requests_graceful_shutdown(redfish_bmc, make_http_tap):
    tap = make_http_tap(redfish_bmc.url)
    d = tapped_driver(redfish_bmc, tap, SOFT_OFF)
    d.set_power("soft_off")
    assert [p.body for p in tap.recorded("POST", "ComputerSystem.Reset")] == \
        [{"ResetType": "GracefulShutdown"}]
    wait_power(d, "off")


def test_power_on_when_on_sends_nothing(redfish_bmc, make_http_tap):
    tap = make_http_tap(redfish_bmc.url)
    d = tapped_driver(redfish_bmc, tap, INSPECT)
    d.set_power("off")  # INSPECT is off: already there
    assert tap.recorded("POST") == []


def test_unknown_power_action_is_unsupported(redfish_bmc):
    with pytest.raises(BMCUnsupported):
        driver_for(redfish_bmc, INSPECT).set_power("hibernate")


# -- boot device ---------------------------------------------------------------------


def test_one_time_pxe_boot_is_set_and_read_back(redfish_bmc, make_http_tap):
    tap = make_http_tap(redfish_bmc.url)
    d = tapped_driver(redfish_bmc, tap, BOOT)
    d.set_boot_device("pxe")
    boot = tap.recorded("PATCH", BOOT["uuid"])[-1].body["Boot"]
    assert (boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"]) == ("Pxe", "Once")
    assert d.get_boot_device()["device"] == "pxe"
    assert redfish_bmc.system_json(BOOT["uuid"])["Boot"]["BootSourceOverrideTarget"] == "Pxe"


def test_persistent_disk_boot_is_set_and_read_back(redfish_bmc, make_http_tap):
    tap = make_http_tap(redfish_bmc.url)
    d = tapped_driver(redfish_bmc, tap, BOOT)
    d.set_boot_device("disk", persistent=True)
    boot = tap.recorded("PATCH", BOOT["uuid"])[-1].body["Boot"]
    assert (boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"]) == \
        ("Hdd", "Continuous")
    back = d.get_boot_device()
    # sushy-emulator always reports Continuous, so only a persistent setting reads back exactly
    assert back == {"device": "disk", "persistent": True, "target": "Hdd",
                    "enabled": "Continuous"}


def test_unknown_boot_device_is_unsupported(redfish_bmc):
    with pytest.raises(BMCUnsupported):
        driver_for(redfish_bmc, BOOT).set_boot_device("floppy")


# -- inventory -------------------------------------------------------------------------


def test_inventory_reports_what_the_emulator_serves(redfish_bmc):
    inv = driver_for(redfish_bmc, INSPECT).inventory()
    assert sorted(n["mac"] for n in inv.nics) == sorted(n["mac"] for n in INSPECT["nics"])
    assert sorted((d["name"], d["size_gb"]) for d in inv.disks) == [
        ("nvme0n1", 1920.4), ("sda", 480.1)]
    assert inv.vendor == "Sushy Emulator"
    # the fake driver serves no CPU count, memory size, serial or model
    assert (inv.cpus, inv.memory_mib, inv.serial, inv.model) == (None, None, None, None)


def test_inventory_without_storage_has_no_disks(redfish_bmc):
    inv = driver_for(redfish_bmc, POWER_ON).inventory()  # emulator answers 500 on its Storage
    assert inv.disks == []
    assert [n["mac"] for n in inv.nics] == [POWER_ON["nics"][0]["mac"]]


# -- system selection, addresses, TLS -------------------------------------------------


def test_several_systems_need_a_system_id(redfish_bmc):
    with pytest.raises(BMCError, match="system_id") as exc:
        driver_for(redfish_bmc).power_state()
    assert redfish_bmc.url in str(exc.value)


def test_single_system_is_discovered(lone_redfish_bmc):
    assert driver_for(lone_redfish_bmc).power_state() == "off"


def test_unknown_system_id_names_the_bmc(redfish_bmc):
    with pytest.raises(BMCError, match="not found") as exc:
        driver_for(redfish_bmc, system_id="no-such-system").power_state()
    assert redfish_bmc.url in str(exc.value)


def test_address_forms():
    assert normalize_address("10.0.0.5") == "https://10.0.0.5"
    assert normalize_address("bmc.example:8443") == "https://bmc.example:8443"
    assert normalize_address("http://127.0.0.1:8000/redfish/v1") == "http://127.0.0.1:8000"
    with pytest.raises(BMCError):
        normalize_address("ftp://x")


def test_tls_is_verified_by_default(tls_redfish_bmc):
    bmc = tls_redfish_bmc
    host_port = bmc.url.split("://", 1)[1]
    # a bare host:port means https, verified against the system CAs: self-signed fails
    with pytest.raises(BMCError, match="TLS") as exc:
        get_driver("redfish", host_port, bmc.username, bmc.password, timeout=LIVE).power_state()
    assert not isinstance(exc.value, BMCUnreachable)
    assert host_port in str(exc.value)
    # a CA bundle path, or verification off, both work
    assert get_driver("redfish", host_port, bmc.username, bmc.password,
                      options={"verify_tls": bmc.ca_bundle}, timeout=LIVE).power_state() == "off"
    assert get_driver("redfish", bmc.url, bmc.username, bmc.password,
                      options={"verify_tls": False}, timeout=LIVE).power_state() == "off"


# -- credentials and reachability ---------------------------------------------------------


def test_wrong_password_is_auth_failed_and_names_the_bmc(redfish_bmc):
    with pytest.raises(BMCAuthFailed) as exc:
        driver_for(redfish_bmc, INSPECT, password="not-the-password").power_state()
    assert redfish_bmc.url in str(exc.value)
    assert exc.value.address == redfish_bmc.url


def test_frozen_then_stopped_emulator_is_unreachable_within_the_timeout(lone_redfish_bmc):
    bmc = lone_redfish_bmc
    d = driver_for(bmc, timeout=2.0)
    assert driver_for(bmc).power_state() == "off"
    driver_for(bmc).set_power("on")  # an operation in progress on the BMC ...
    os.kill(bmc.process.pid, signal.SIGSTOP)  # ... and the BMC hangs
    t0 = time.monotonic()
    with pytest.raises(BMCUnreachable) as exc:
        d.power_state()
    assert time.monotonic() - t0 < 2.0 + LOAD_SLACK  # its own timeout ended the call
    assert bmc.url in str(exc.value)
    os.kill(bmc.process.pid, signal.SIGCONT)  # it recovers, so does the driver
    wait_for(lambda: d.power_state() in ("on", "off"), ignore=(BMCUnreachable,), message="the driver to recover")
    bmc.process.kill()  # now it is gone for good
    bmc.process.wait()
    t0 = time.monotonic()
    with pytest.raises(BMCUnreachable):
        d.power_state()
    assert time.monotonic() - t0 < 2.0 + LOAD_SLACK


def test_black_hole_bmc_times_out(black_hole):
    d = get_driver("redfish", f"http://{black_hole.address}", "admin", "x", timeout=1.5)
    t0 = time.monotonic()
    with pytest.raises(BMCUnreachable) as exc:
        d.power_state()
    assert time.monotonic() - t0 < 1.5 + LOAD_SLACK  # a black hole never answers: the timeout ended it
    assert black_hole.address in str(exc.value)


def test_nothing_listening_is_unreachable():
    address = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BMCUnreachable, match="127.0.0.1"):
        get_driver("redfish", address, "admin", "x", timeout=2).power_state()


# -- virtual media ------------------------------------------------------------------------


def test_virtual_media_insert_and_eject(redfish_bmc, iso_server):
    d = driver_for(redfish_bmc, VMEDIA)
    d.insert_virtual_media(iso_server)
    assert d.virtual_media_status() == {"inserted": True, "image": iso_server}
    cd = requests.get(f"{redfish_bmc.url}/redfish/v1/Systems/{VMEDIA['uuid']}/VirtualMedia/Cd",
                      auth=(redfish_bmc.username, redfish_bmc.password), timeout=30).json()
    assert cd["Inserted"] is True and cd["Image"] == iso_server
    d.insert_virtual_media(iso_server)  # re-insert replaces, no error
    d.eject_virtual_media()
    assert d.virtual_media_status() == {"inserted": False, "image": None}
    d.eject_virtual_media()  # ejecting an empty drive is fine


def test_virtual_media_with_unreachable_image_fails_cleanly(redfish_bmc):
    d = driver_for(redfish_bmc, VMEDIA)
    with pytest.raises(BMCError) as exc:
        d.insert_virtual_media("http://127.0.0.1:9/missing.iso")
    assert not isinstance(exc.value, (BMCUnreachable, BMCAuthFailed))
    assert redfish_bmc.url in str(exc.value)


# -- connection cache ----------------------------------------------------------------------


def test_session_cache_is_reused_per_bmc_and_user(redfish_bmc, make_http_tap):
    tap = make_http_tap(redfish_bmc.url)
    redfish.clear_session_cache()
    drivers = [tapped_driver(redfish_bmc, tap, s) for s in (INSPECT, POWER_ON, BOOT)]
    for d in drivers * 3:
        d.power_state()
    stats = redfish.session_cache_stats()
    assert (stats["misses"], stats["hits"], stats["size"]) == (1, 8, 1)
    assert len(tap.recorded("GET", "")) == 1 + 9  # one service-root GET, then one per call
    assert [r.path for r in tap.recorded("GET")][0].rstrip("/") == "/redfish/v1"
    assert isinstance(drivers[0], RedfishDriver)
    assert drivers[0]._connection() is drivers[2]._connection()

    # other credentials neither ride on nor evict the working connection
    with pytest.raises(BMCAuthFailed):
        get_driver("redfish", tap.url, redfish_bmc.username, "wrong",
                   options={"system_id": INSPECT["uuid"]}, timeout=LIVE).power_state()
    before = redfish.session_cache_stats()
    drivers[0].power_state()
    after = redfish.session_cache_stats()
    assert after["misses"] == before["misses"] and after["hits"] == before["hits"] + 1


def test_auth_failure_evicts_the_cached_connection(lone_redfish_bmc):
    bmc = lone_redfish_bmc
    redfish.clear_session_cache()
    d = driver_for(bmc)
    d.power_state()
    assert redfish.session_cache_stats()["size"] == 1
    # the BMC's password changes under us: the cached connection must go
    bmc.set_password("rotated")
    with pytest.raises(BMCAuthFailed):
        d.power_state()
    assert redfish.session_cache_stats()["size"] == 0
    assert driver_for(bmc, password="rotated").power_state() == "off"


def test_stop_start_keeps_working_after_eviction(lone_redfish_bmc):
    """After the BMC vanished and came back on the same port, calls succeed again."""
    bmc = lone_redfish_bmc
    d = driver_for(bmc)
    assert d.power_state() == "off"
    bmc.stop()
    with pytest.raises(BMCUnreachable):
        d.power_state()
    again = start_sushy_emulator(bmc.systems, port=bmc.port)
    try:
        assert d.power_state() == "off"
    finally:
        again.stop()
