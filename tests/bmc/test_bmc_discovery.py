"""BMC discovery against real BMCs: a sushy-emulator that takes a DHCP lease is probed with the
metro's default credentials, enrolled and inspected (plan matched); bad credentials and silent
addresses are failures recorded as events, never half-enrolled machines; the same BMC seen again is
never enrolled twice.

The second test is the whole path: a real dnsmasq renders Ingot's configuration with its lease
hook, a "BMC" in a network namespace gets its address from it by DHCP, dnsmasq runs the hook, and
Ingot probes the emulator listening there."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.boot.dnsmasq import dnsmasq_config
from api.models import ProvisioningNetwork
from api.services.provisioning_networks import lease_hook_token
from tests.support.clients import Cloud, trail
from tests.support.netns import veth_namespace
from tests.support.peers._util import popen_peer, stop_process, tail
from tests.support.peers.redfish import fake_disk, fake_system, start_sushy_emulator
from tests.support.ports import free_port
from tests.support.settings import process_env
from tests.support.waiting import wait_for

PLAN = {"slug": "rf.disk1", "name": "One-disk Redfish host", "match": {"disk_count": 1, "nic_count": 1}}


def setup_metro(cloud: Cloud, **network) -> str:
    r = cloud.http.post(f"{cloud.api}/plans", headers=cloud.op, json=PLAN)
    assert r.status_code == 201, r.text
    metros = cloud.http.get(f"{cloud.api}/locations/metros", headers=cloud.op).json()["metros"]
    mid = next(m["id"] for m in metros if m["code"] == "lab")
    r = cloud.http.put(f"{cloud.api}/locations/metros/{mid}/provisioning-network", headers=cloud.op,
                       json={"bmc_discovery": True, **network})
    assert r.status_code == 200, r.text
    return mid


def lease_token(server) -> str:
    with server.database.Session() as s:
        return lease_hook_token(s.scalar(select(ProvisioningNetwork)), server.app.extensions["ingot.secrets"])


def machines(cloud: Cloud) -> list[dict]:
    return cloud.http.get(f"{cloud.api}/machines", headers=cloud.op, params={"per_page": 500}).json()["machines"]


def wait_machine(cloud: Cloud, address: str, state: str, timeout: float = 120) -> dict:
    def found():
        m = next((m for m in machines(cloud) if m["bmc"]["address"] == address), None)
        return m if m and m["state"] == state else None
    try:
        return wait_for(found, timeout=timeout, interval=0.5, message=f"machine at {address} {state}")
    except Exception:
        events = cloud.http.get(f"{cloud.api}/events", headers=cloud.op, params={"per_page": 200}).json()["events"]
        raise AssertionError(trail(sorted(events, key=lambda e: e["created_at"]))) from None


def test_probe_enrol_inspect_and_failures(server, settings, make_redfish_bmc):
    settings.bmc_timeout = 2.0
    settings.discovery_retry_seconds = 3600    # a failure waits for the next lease in this test
    cloud = Cloud(server)
    bmc = make_redfish_bmc([fake_system(11, nics=1, disks=[fake_disk("sda", 100)])])
    port = bmc.url.rsplit(":", 1)[1]
    setup_metro(cloud, bmc_username=bmc.username, bmc_password="wrong-password",
                redfish_url=f"http://{{ip}}:{port}", ipmi_port=free_port(udp=True))
    token = lease_token(server)

    def lease(mac, ip, action="add"):
        r = cloud.http.post(f"{cloud.api}/boot/discovery/{token}/leases",
                            json={"action": action, "mac": mac, "ip": ip})
        assert r.status_code == 200, r.text
        return r.json()["status"]

    # the metro's default credentials are wrong: a failure event, no machine
    lease("aa:bb:cc:00:11:01", "127.0.0.1")
    failed = cloud.wait_event("aa:bb:cc:00:11:01", "discovery.bmc.failed")
    assert "bad credentials" in failed["body"] and "redfish at http://127.0.0.1" in failed["body"], failed
    assert not [m for m in machines(cloud) if m["bmc"]["driver"] == "redfish"]

    # fixed, the BMC's next lease probes it again: enrolled, then inspected and matched
    metros = cloud.http.get(f"{cloud.api}/locations/metros", headers=cloud.op).json()["metros"]
    mid = next(m["id"] for m in metros if m["code"] == "lab")
    cloud.http.patch(f"{cloud.api}/locations/metros/{mid}/provisioning-network", headers=cloud.op,
                     json={"bmc_password": bmc.password})
    assert lease("aa:bb:cc:00:11:01", "127.0.0.1") == "probing again"
    m = wait_machine(cloud, f"http://127.0.0.1:{port}", "available")
    assert m["hostname"] == "bmc-aabbcc001101" and m["plan"]["slug"] == "rf.disk1", m
    assert m["bmc"]["username"] == bmc.username and m["bmc"]["password_set"]
    assert [n["mac"] for n in m["nics"]] == [fake_system(11)["nics"][0]["mac"]]
    types = cloud.event_types(m["id"])
    assert "discovery.bmc.enrolled" in types and "machine.inspect.succeeded" in types, types

    # seen again (a renewal, a new lease): the same machine, never a second
    assert lease("aa:bb:cc:00:11:01", "127.0.0.1", "old") == "seen again"
    lease("aa:bb:cc:00:11:01", "127.0.0.1")
    assert len([x for x in machines(cloud) if x["bmc"]["driver"] == "redfish"]) == 1

    # nothing answers at an address: both protocols named in the failure, no machine
    lease("aa:bb:cc:00:11:02", "127.0.0.9")
    failed = cloud.wait_event("aa:bb:cc:00:11:02", "discovery.bmc.failed")
    assert "redfish at http://127.0.0.9" in failed["body"] and "ipmi at 127.0.0.9" in failed["body"], failed
    assert len([x for x in machines(cloud) if x["bmc"]["driver"] in ("redfish", "ipmi")]) == 1


DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def test_dhcp_lease_hook_enrols_a_bmc_in_a_namespace(server, settings, tmp_path):
    if not os.path.exists(DNSMASQ) or not shutil.which("busybox"):
        pytest.fail("needs dnsmasq and busybox (udhcpc): apt-get install dnsmasq-base busybox-static")
    cloud = Cloud(server)
    bmc_mac = "aa:bb:cc:00:22:01"
    with veth_namespace("bmc", ns_mac=bmc_mac, ns_ip="250") as net:
        # the BMC's web service listens before it has its lease (as a real BMC's does)
        static = str(net.subnet.network_address + 250)
        system = fake_system(21, nics=1, disks=[fake_disk("sda", 100)])
        bmc = start_sushy_emulator([system], listen="0.0.0.0", url_host=static,
                                   prefix=["ip", "netns", "exec", net.name])
        dnsmasq = None
        try:
            setup_metro(cloud, bmc_username=bmc.username, bmc_password=bmc.password,
                        redfish_url=f"http://{{ip}}:{bmc.port}", ipmi_port=free_port(udp=True))
            first = net.subnet.network_address
            conf, hook, tftp = tmp_path / "dnsmasq.conf", tmp_path / "lease-hook.sh", tmp_path / "tftp"
            tftp.mkdir()
            result = CliRunner().invoke(dnsmasq_config, [
                "--metro", "lab", "--interface", net.host_if, "--tftp-root", str(tftp), "--lease-hook", str(hook),
                "--dhcp-range", f"{first + 100},{first + 120},255.255.255.0,1h", "--output", str(conf)],
                env=process_env(settings, INGOT_EXTERNAL_URL=server.url))
            assert result.exit_code == 0, result.output
            assert f"dhcp-script={hook}" in conf.read_text() and oct(hook.stat().st_mode & 0o777) == "0o750"
            log = tmp_path / "dnsmasq.log"
            with open(log, "wb") as out:
                dnsmasq = popen_peer([DNSMASQ, "--no-daemon", f"--conf-file={conf}", "--user=root",
                                      f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'pid'}"],
                                     stdout=out, stderr=subprocess.STDOUT)
            script = tmp_path / "udhcpc.sh"
            script.write_text('#!/bin/sh\ncase "$1" in bound|renew) ip addr add "$ip/${mask:-24}" dev "$interface";;'
                              ' esac\nexit 0\n')
            script.chmod(0o755)

            def dhcp():
                r = net.run("busybox", "udhcpc", "-i", net.ns_if, "-n", "-q", "-t", "10", "-T", "2",
                            "-s", str(script), check=False)
                assert r.returncode == 0, f"no lease: {r.stdout} {r.stderr}\n{tail(str(log))}"
                return r.stdout

            dhcp()
            leases = wait_for(lambda: (tmp_path / "leases").read_text() if (tmp_path / "leases").exists() else None,
                              timeout=30, message="the lease file")
            ip = next(line.split()[2] for line in leases.splitlines() if bmc_mac in line)
            m = wait_machine(cloud, f"http://{ip}:{bmc.port}", "available", timeout=180)
            assert m["plan"]["slug"] == "rf.disk1" and m["nics"][0]["mac"] == system["nics"][0]["mac"]
            assert m["hostname"] == "bmc-aabbcc002201"
            dhcp()                                             # the BMC asks again: the same machine
            wait_for(lambda: "old" in tail(str(log)) or "DHCPACK" in tail(str(log)), timeout=30, message="ACK")
            assert len([x for x in machines(cloud) if x["bmc"]["driver"] == "redfish"]) == 1
        finally:
            if dnsmasq is not None:
                stop_process(dnsmasq)
            bmc.stop()
