"""Issue 20 end to end on a real QEMU VM: a VM whose MAC Ingot does not know netboots through Ingot,
is discovered with its hardware facts (and the BMC its firmware's Redfish host interface names),
accepted by an operator with its BMC (the ``qemu`` driver), and provisioned to ``active``. Then its
tenant attaches to its serial console over SSH: the boot messages and the login prompt are there,
a login and a command work (the shell's answer comes back), and a key of another project is refused.
"""
from __future__ import annotations

import pytest

from api.bmc.qemu import QemuDriver, mac_for
from tests.support.clients import Cloud, make_user, trail
from tests.support.console import ConsoleClient, ConsoleRefused, new_key, public_line
from tests.support.qemu import VM_WAIT, qemu_catalogue, serial_tail, vm_options, wait_vm
from tests.support.smbios import redfish_host_interface

PLAN_MATCH = {"cpus": 1, "memory_mib": {"min": 256, "max": 1024}, "disk_count": 1, "nic_count": 1}


@pytest.mark.timeout(4 * VM_WAIT)
def test_unknown_vm_discovered_accepted_provisioned_and_its_console(console_server, tiny_os_image, image_server,
                                                                     tmp_path):
    cloud = Cloud(console_server)
    os_slug = qemu_catalogue(cloud, tiny_os_image, "qemu.disc", PLAN_MATCH)
    metro = next(m for m in cloud.http.get(f"{cloud.api}/locations/metros", headers=cloud.op).json()["metros"]
                 if m["code"] == "qa")
    r = cloud.http.put(f"{cloud.api}/locations/metros/{metro['id']}/provisioning-network", headers=cloud.op,
                       json={"unknown_mac_discovery": True})
    assert r.status_code == 200, r.text
    t42 = tmp_path / "smbios-type42.bin"
    t42.write_bytes(redfish_host_interface("10.0.2.50"))
    name = "disc-vm"
    options = vm_options(tmp_path, console_server, image_server, boot_path="/metal/v1/boot/ipxe?mac={mac}&metro=qa",
                         extra_args=["-smbios", f"file={t42}"])
    vm = QemuDriver(name, options=options)
    try:
        vm.set_power("on")                       # someone switches the new machine on; Ingot has never seen it

        def discovered():
            ms = cloud.http.get(f"{cloud.api}/machines", headers=cloud.op, params={"state": "discovered"}).json()
            return next((m for m in ms["machines"] if m["facts"].get("cpus")), None)
        m = wait_vm(vm, discovered, VM_WAIT, "the VM discovered and inspected")
        facts = m["facts"]
        assert facts["cpus"] == 1 and facts["memory_mib"] == 384 and facts["vendor"] == "QEMU", facts
        assert facts["serial"] == name and [d["name"] for d in facts["disks"]] == ["vda"], facts
        assert [n["mac"] for n in m["nics"]] == [mac_for(name)] and facts["boot_mac"] == mac_for(name), m
        assert facts["bmc"] == {"address": "10.0.2.50", "source": "redfish host interface"}, facts
        assert facts["boot_mode"] == "bios" and m["boot_mode"] == "bios", facts   # SeaBIOS booted it
        assert m["plan"]["slug"] == "qemu.disc"
        wait_vm(vm, lambda: vm.power_state() == "off", VM_WAIT, "the ramdisk powered the VM off")

        r = cloud.http.post(f"{cloud.api}/machines/{m['id']}/accept", headers=cloud.op, json={
            "hostname": "qa-disc-1", "bmc": {"driver": "qemu", "address": name, "options": options}})
        assert r.status_code == 200 and r.json()["state"] == "available", r.text
        device = cloud.create(os_slug=os_slug, plan="qemu.disc", hostname="discovered-1", metro="qa")
        try:
            cloud.wait_state(device["id"], "active", timeout=2 * VM_WAIT)
        except Exception as exc:
            raise AssertionError(f"{exc}\n{serial_tail(vm)}") from None
        assert cloud.machine(m["id"])["device"]["id"] == device["id"]

        # the tenant's serial console: what the machine printed, a login prompt, a shell that answers
        key = new_key()
        assert cloud.http.post(f"{cloud.api}/projects/{console_server.project_id}/ssh-keys", headers=cloud.member,
                               json={"label": "laptop", "key": public_line(key)}).status_code == 201
        port = console_server.settings.serial_console_port
        session = ConsoleClient("127.0.0.1", port, device["id"], key)
        session.wait_for_text("ingot-test-os: booted", timeout=60)
        session.wait_for_text("phoned home", timeout=60)
        prompt = session.wait_for_text("login: ", timeout=VM_WAIT)
        session.send("root\r")
        # the shell's prompt before typing: login discards what is typed before the shell reads it
        shell = session.wait_for_text("built-in shell", after=prompt, timeout=120)
        session.wait_for_text("# ", after=shell, timeout=120)
        session.send("echo con$((6*7))sole\r")
        session.wait_for_text("con42sole", timeout=120)   # the shell's answer, not the echo of what was typed
        session.send("\r~.")
        session.wait_closed()

        other = make_user(None, console_server.database, email="mallory@example.com", project_name="mallory")
        stranger = new_key()
        assert cloud.http.post(f"{cloud.api}/projects/{other.project_id}/ssh-keys",
                               headers={"X-Auth-Token": other.token},
                               json={"label": "mallory", "key": public_line(stranger)}).status_code == 201
        with pytest.raises(ConsoleRefused):
            ConsoleClient("127.0.0.1", port, device["id"], stranger)
        cloud.wait_event(device["id"], "device.console.refused")
        closed = cloud.wait_event(device["id"], "device.console.closed")
        assert "project key 'laptop'" in closed["body"], trail(cloud.events(device["id"]))
    finally:
        vm.set_power("off")
