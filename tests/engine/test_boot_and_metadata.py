"""What a machine is served: the iPXE script for its step, the unattended
install config (Ubuntu autoinstall, Debian preseed), and the metadata service
(Equinix JSON, NoCloud, EC2) — and that a device only ever sees its own data."""
from __future__ import annotations

import email
import re
import shutil
import subprocess

import pytest
import yaml
from sqlalchemy import select

from api.models import Device, Event, Machine
from tests.support.keys import ssh_public_key
from tests.support.netboot import at_step, boot_credential, lookup, mac_of, metadata_secret

USERDATA = "#cloud-config\npackages: [htop]\nruncmd:\n  - echo 'hello from the tenant'\n"


KEYS = [ssh_public_key("alice@laptop", b"a" * 32),
        ssh_public_key("alice's build box", b"b" * 32)]  # a quote, to test quoting


def _device(tenant, os_slug: str, hostname: str, **extra) -> dict:
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"hostname": hostname, "plan": "sim.small", "metro": "lab", "operating_system": os_slug,
                          **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _keys(tenant) -> None:
    for k in KEYS:
        assert tenant.post(f"/projects/{tenant.project_id}/ssh-keys", json={"key": k}).status_code == 201


def _script(client, database, device_id: str, step: str | None = "wait_boot") -> str:
    """The device's iPXE script, fetched by MAC at ``step`` of its operation."""
    if step:
        at_step(database, device_id, step)
    return lookup(client, mac_of(database, device_id))


def _active(database, device_id: str) -> None:
    """Let it finish provisioning, as the engine would."""
    with database.transaction() as s:
        d = s.get(Device, device_id)
        d.machine.operation = d.machine.step = None
        d.machine.state, d.state = "active", "active"


@pytest.fixture
def devices(lab, tenant):
    _keys(tenant)
    ubuntu = _device(tenant, "ubuntu_24_04", "web-1", userdata=USERDATA, tags=["web"],
                     customdata={"role": "frontend"})
    debian = _device(tenant, "debian_12", "db-1", userdata=USERDATA)
    return ubuntu, debian


def test_ubuntu_ipxe_script_and_autoinstall(client, database, box, devices):
    ubuntu, _ = devices
    script = _script(client, database, ubuntu["id"])
    token = boot_credential(script)
    md = f"http://localhost/metadata/{token}"  # the installer's one-time URL
    secret = metadata_secret(database, box, ubuntu["id"])
    assert secret not in script  # the boot script carries the boot credential only
    os_md = f"http://localhost/metadata/{secret}"  # the installed system's
    lines = script.splitlines()
    assert lines[0] == "#!ipxe"
    kernel = next(ln for ln in lines if ln.startswith("kernel "))
    assert kernel.startswith("kernel http://releases.ubuntu.com/24.04/netboot/amd64/linux initrd=initrd ")
    assert f"autoinstall ds=nocloud-net;s={md}/autoinstall/" in kernel and f"ingot.metadata={md}" in kernel
    assert "initrd --name initrd http://releases.ubuntu.com/24.04/netboot/amd64/initrd" in lines
    assert "boot || goto failed" in lines

    r = client.get(f"/metadata/{token}/autoinstall/user-data")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)["autoinstall"]
    assert doc["version"] == 1
    assert sorted(doc["ssh"]["authorized-keys"]) == sorted(KEYS)
    assert doc["reporting"]["ingot"] == {"type": "webhook", "endpoint": f"{md}/events"}
    assert any(f"seedfrom: {os_md}/nocloud/" in c for c in doc["late-commands"])
    ud = doc["user-data"]
    assert ud["hostname"] == "web-1" and ud["users"][0]["name"] == "root"
    assert sorted(ud["users"][0]["ssh_authorized_keys"]) == sorted(KEYS)
    assert ud["chpasswd"]["users"] == [{"name": "root", "password": ubuntu["root_password"], "type": "text"}]
    # the installed system phones home with its own one-time credential, written to its disk by the installer
    phone = re.fullmatch(r"http://localhost/metadata/([^/]+)/phone-home", ud["phone_home"]["url"]).group(1)
    assert phone not in (token, secret)
    assert yaml.safe_load(client.get(f"/metadata/{token}/autoinstall/meta-data").get_data(as_text=True))[
        "local-hostname"] == "web-1"
    # asked again, the installer gets the same config (the same phone-home credential)
    assert client.get(f"/metadata/{token}/autoinstall/user-data").get_data(as_text=True) == text
    # the tenant's user data reaches cloud-init of the installed system through the NoCloud seed
    assert client.get(f"/metadata/{secret}/nocloud/user-data").get_data(as_text=True) == USERDATA
    # vendor-data: Ingot's cloud-config and the user-state reporter (a shell part), as MIME multipart; the
    # reporter posts with the metadata secret, and no phone-home is in it (its one-time URL is on the disk)
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in email.message_from_string(
        client.get(f"/metadata/{secret}/nocloud/vendor-data").get_data(as_text=True)).walk()
        if not p.is_multipart()}
    vendor = yaml.safe_load(parts["text/cloud-config"])
    assert sorted(vendor["ssh_authorized_keys"]) == sorted(KEYS) and "phone_home" not in vendor
    reporter = next(f["content"] for f in vendor["write_files"] if f["path"] == "/usr/local/sbin/ingot-user-state")
    assert f"http://localhost/metadata/{secret}/user-state" in reporter
    assert "ingot-user-state" in parts["text/x-shellscript"]
    # the metadata secret reads the installed system's data, not the installer's config
    assert client.get(f"/metadata/{secret}/autoinstall/user-data").status_code == 403


def test_debian_ipxe_script_and_preseed(client, database, box, devices, tmp_path):
    _, debian = devices
    script = _script(client, database, debian["id"])
    token = boot_credential(script)
    md = f"http://localhost/metadata/{token}"
    os_md = f"http://localhost/metadata/{metadata_secret(database, box, debian['id'])}"
    kernel = next(ln for ln in script.splitlines() if ln.startswith("kernel "))
    assert "/debian-installer/amd64/linux initrd=initrd auto=true priority=critical" in kernel
    assert f"url={md}/preseed.cfg" in kernel and "hostname=db-1" in kernel

    preseed = client.get(f"/metadata/{token}/preseed.cfg").get_data(as_text=True)
    assert "d-i netcfg/get_hostname string db-1" in preseed
    assert f"d-i passwd/root-password password {debian['root_password']}" in preseed
    assert "echo 'ssh-ed25519 " + KEYS[0].split()[1] + " alice@laptop' >> /target/root/.ssh/authorized_keys" \
        in preseed
    assert "alice'\"'\"'s build box' >> /target/root/.ssh/authorized_keys" in preseed  # shell-quoted
    assert f"seedfrom: {os_md}/nocloud/" in preseed and f"{md}/events" in preseed
    assert re.search(r"phone_home:\\n  url: http://localhost/metadata/[^/]+/phone-home\\n", preseed)
    assert "cloud-init" in preseed  # installed, so the seed's user data and phone-home run on first boot
    if shutil.which("debconf-set-selections"):
        path = tmp_path / "preseed.cfg"
        path.write_text(preseed)
        check = subprocess.run(["debconf-set-selections", "--checkonly", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_default_user_gets_the_keys_too(client, database, lab, tenant):
    with database.transaction() as s:
        from api.models import OperatingSystem
        s.scalar(select(OperatingSystem).where(OperatingSystem.slug == "debian_12")).default_user = "debian"
        s.scalar(select(OperatingSystem).where(OperatingSystem.slug == "ubuntu_24_04")).default_user = "ubuntu"
    _keys(tenant)
    deb = _device(tenant, "debian_12", "deb-u")
    ubu = _device(tenant, "ubuntu_24_04", "ubu-u")
    deb_boot, ubu_boot = (boot_credential(_script(client, database, d["id"])) for d in (deb, ubu))
    preseed = client.get(f"/metadata/{deb_boot}/preseed.cfg").get_data(as_text=True)
    assert "in-target useradd -m -s /bin/bash -G sudo debian" in preseed
    auto = yaml.safe_load(client.get(f"/metadata/{ubu_boot}/autoinstall/user-data").get_data(as_text=True))
    users = auto["autoinstall"]["user-data"]["users"]
    assert [u["name"] for u in users] == ["root", "ubuntu"] and sorted(users[1]["ssh_authorized_keys"]) == sorted(KEYS)


def test_script_by_boot_token_and_after_provisioning(client, database, devices):
    ubuntu, _ = devices
    with database.Session() as s:
        m = s.get(Device, ubuntu["id"]).machine
        boot_token = m.boot_token
    at_step(database, ubuntu["id"])
    r = client.get(f"/metal/v1/boot/ipxe/{boot_token}")
    assert r.status_code == 200 and "autoinstall" in r.get_data(as_text=True)
    assert client.get("/metal/v1/boot/ipxe/not-a-token").status_code == 404
    with database.transaction() as s:  # as the engine leaves it when done
        m = s.get(Device, ubuntu["id"]).machine
        m.operation, m.step = None, None
    text = client.get(f"/metal/v1/boot/ipxe/{boot_token}").get_data(as_text=True)
    assert text.splitlines()[0] == "#!ipxe" and "\nexit\n" in text


def test_unknown_mac_reboots_later_and_tells_the_operator_once(client, database, lab):
    for _ in range(3):
        r = client.get("/metal/v1/boot/ipxe", query_string={"mac": "DE:AD:BE:EF:00:01"})
        assert r.status_code == 200
        text = r.get_data(as_text=True)
        assert "sleep 60" in text and text.rstrip().endswith("reboot")
    with database.Session() as s:
        evs = list(s.scalars(select(Event).where(Event.type == "machine.boot.unknown_mac")))
    assert len(evs) == 1 and "de:ad:be:ef:00:01" in evs[0].body and evs[0].state == "warning"
    r = client.get("/metal/v1/boot/ipxe", query_string={"mac": "not-a-mac"})
    assert r.status_code == 422 and "mac" in r.get_json()["errors"][0]


def test_equinix_metadata_document(client, database, box, devices):
    ubuntu, _ = devices
    token = metadata_secret(database, box, ubuntu["id"])
    doc = client.get(f"/metadata/{token}/metadata").get_json()
    assert doc["id"] == ubuntu["id"] and doc["hostname"] == "web-1"
    assert doc["plan"] == "sim.small" and doc["metro"] == "lab" and doc["tags"] == ["web"]
    assert doc["operating_system"]["slug"] == "ubuntu_24_04" and sorted(doc["ssh_keys"]) == sorted(KEYS)
    assert doc["customdata"] == {"role": "frontend"}
    assert doc["network"]["interfaces"] == [{"name": "eth0", "mac": mac_of(database, ubuntu["id"])}]
    # each once (the device's keys, addresses and NICs are read joined in one statement)
    assert sorted(a["address"] for a in doc["network"]["addresses"]) == sorted(a["address"]
                                                                              for a in ubuntu["ip_addresses"])
    assert doc["phone_home_url"].endswith(f"/metadata/{token}/phone-home")
    assert doc["user_state_url"].endswith(f"/metadata/{token}/user-state")
    assert client.get(f"/metadata/{token}/userdata").get_data(as_text=True) == USERDATA
    net = yaml.safe_load(client.get(f"/metadata/{token}/nocloud/network-config").get_data(as_text=True))
    assert net["version"] == 2 and net["ethernets"]["eth0"]["match"]["macaddress"] == mac_of(database, ubuntu["id"])
    # EC2-style paths
    index = client.get(f"/metadata/{token}/latest/meta-data/").get_data(as_text=True).split("\n")
    assert "instance-id" in index and "public-keys/" in index
    assert client.get(f"/metadata/{token}/latest/meta-data/instance-id").get_data(as_text=True) == ubuntu["id"]
    assert sorted(client.get(f"/metadata/{token}/2009-04-04/meta-data/public-keys/0/openssh-key").get_data(
        as_text=True).split("\n")) == sorted(KEYS)
    assert client.get(f"/metadata/{token}/latest/user-data").get_data(as_text=True) == USERDATA
    assert client.get(f"/metadata/{token}/latest/meta-data/nope").status_code == 404


def test_who_may_report_what(client, database, box, devices):
    """The metadata secret reports user state only; the installer's boot credential reports its
    progress and result, once; the installed system phones home with its own credential, once."""
    ubuntu, _ = devices
    agent = boot_credential(_script(client, database, ubuntu["id"]))
    secret = metadata_secret(database, box, ubuntu["id"])
    at_step(database, ubuntu["id"], "wait_install")
    config = client.get(f"/metadata/{agent}/autoinstall/user-data").get_data(as_text=True)
    phone = re.search(r"/metadata/([^/]+)/phone-home", config).group(1)

    # the installer's own state is its step's, never the device's user_state (the installed OS's word)
    assert client.post(f"/metadata/{agent}/events", json={"state": "running", "percentage": 10}).status_code == 200
    with database.Session() as s:
        assert s.get(Device, ubuntu["id"]).user_state == ""

    # the metadata secret: user state, never a result
    r = client.post(f"/metadata/{secret}/events", json={"state": "running", "code": 1002, "message": "done"})
    assert r.status_code == 200
    for path, body in (("phone-home", {"instance_id": "x"}), ("deploy/complete", {"status": "ok"})):
        r = client.post(f"/metadata/{secret}/{path}", json=body)
        assert r.status_code == 403 and "boot credential" in r.get_json()["errors"][0], path
    with database.Session() as s:
        d = s.get(Device, ubuntu["id"])
        assert d.user_state == "running" and d.machine.install_result is None and d.machine.phoned_home_at is None
    # ... and at user-state, Ingot's own reporter's URL (a boot credential reads and reports nothing there)
    assert client.post(f"/metadata/{secret}/user-state", json={"state": "succeeded", "code": 2001}).status_code == 200
    r = client.post(f"/metadata/{secret}/user-state", json={"state": "ready"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("state: ")
    assert client.post(f"/metadata/{agent}/user-state", json={"state": "failed"}).status_code == 403
    with database.Session() as s:
        assert s.get(Device, ubuntu["id"]).user_state == "succeeded"

    # the installer: its result, once; not the installed system's phone-home
    assert client.post(f"/metadata/{agent}/events", data="not json", content_type="application/json").status_code \
        == 422
    assert client.post(f"/metadata/{agent}/events", json={"state": "running", "percentage": 40}).status_code == 200
    assert client.post(f"/metadata/{agent}/phone-home", json={}).status_code == 403
    assert client.post(f"/metadata/{agent}/events", json={"code": 1002, "message": "done"}).status_code == 200
    assert client.post(f"/metadata/{agent}/events", json={"code": 1002}).status_code == 409
    with database.Session() as s:
        assert s.get(Device, ubuntu["id"]).machine.install_result == "ok"

    # the installed system: once
    at_step(database, ubuntu["id"], "wait_phone_home")
    assert client.post(f"/metadata/{agent}/events", json={"code": 1002}).status_code == 409  # its step is over
    assert client.post(f"/metadata/{phone}/phone-home", json={"instance_id": "x"}).status_code == 200
    assert client.post(f"/metadata/{phone}/phone-home", json={"instance_id": "x"}).status_code == 409
    assert client.get(f"/metadata/{phone}/metadata").status_code == 403  # it reads nothing
    with database.Session() as s:
        assert s.get(Device, ubuntu["id"]).machine.phoned_home_at is not None


SECRET_PATHS = ["metadata", "userdata", "nocloud/meta-data", "nocloud/user-data", "nocloud/vendor-data",
                "nocloud/network-config", "latest/meta-data/instance-id", "latest/user-data"]


def test_a_device_sees_only_its_own_data(client, database, box, lab, tenant, other_tenant):
    mine = _device(tenant, "ubuntu_24_04", "mine", userdata="#!/bin/sh\necho mine\n")
    theirs = _device(other_tenant, "ubuntu_24_04", "theirs", userdata="#!/bin/sh\necho theirs\n")
    t_mine = metadata_secret(database, box, mine["id"])
    t_theirs = metadata_secret(database, box, theirs["id"])
    assert t_mine != t_theirs
    for path in SECRET_PATHS:
        a = client.get(f"/metadata/{t_mine}/{path}").get_data(as_text=True)
        b = client.get(f"/metadata/{t_theirs}/{path}").get_data(as_text=True)
        assert "theirs" not in a and mine["id"] not in b, path
    for bad in ("", "x", t_mine[:-1], t_mine + "x", t_theirs.upper(), "../" + t_mine):
        for path in ("metadata", "userdata", "deploy"):
            assert client.get(f"/metadata/{bad}/{path}").status_code == 404, (bad, path)
        assert client.post(f"/metadata/{bad}/phone-home").status_code == 404
    # by source address: only the device that holds the address, only its data
    addr = next(a["address"] for a in mine["ip_addresses"] if a["address_family"] == 4 and a["public"])
    doc = client.get("/metadata", environ_base={"REMOTE_ADDR": addr}).get_json()
    assert doc["id"] == mine["id"]
    assert client.get("/userdata", environ_base={"REMOTE_ADDR": addr}).get_data(as_text=True) == mine["userdata"]
    assert client.get("/latest/meta-data/instance-id", environ_base={"REMOTE_ADDR": addr}).get_data(
        as_text=True) == mine["id"]
    assert client.get("/2009-04-04/user-data", environ_base={"REMOTE_ADDR": addr}).get_data(
        as_text=True) == mine["userdata"]
    for path in ("/metadata", "/userdata", "/latest/meta-data/", "/latest/user-data"):
        assert client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code == 404, path


def test_deleted_and_reinstalled_devices_secrets_stop_working(client, database, box, lab, tenant):
    dev = _device(tenant, "ubuntu_24_04", "gone")
    token = metadata_secret(database, box, dev["id"])
    agent = boot_credential(_script(client, database, dev["id"]))
    addr = next(a["address"] for a in dev["ip_addresses"] if a["address_family"] == 4 and a["public"])
    assert client.get(f"/metadata/{token}/metadata").status_code == 200
    _active(database, dev["id"])

    assert tenant.post(f"/devices/{dev['id']}/actions", json={"type": "reinstall"}).status_code == 202
    assert client.get(f"/metadata/{token}/metadata").status_code == 404  # rotated
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 404  # the old operation's: gone
    new = metadata_secret(database, box, dev["id"])
    assert new != token and client.get(f"/metadata/{new}/metadata").status_code == 200

    _active(database, dev["id"])
    assert tenant.delete(f"/devices/{dev['id']}").status_code == 204
    for path in SECRET_PATHS:  # gone for the tenant's OS as soon as the delete is accepted
        assert client.get(f"/metadata/{new}/{path}").status_code == 404, path
    assert client.post(f"/metadata/{new}/phone-home").status_code == 404
    assert client.get("/metadata", environ_base={"REMOTE_ADDR": addr}).status_code == 404
    # ... while the deploy agent that wipes the disks gets its instructions with this boot's credential
    wipe = boot_credential(_script(client, database, dev["id"], step="wait_wipe"))
    r = client.get(f"/metadata/{wipe}/deploy")
    assert r.status_code == 200 and r.get_json()["action"] == "wipe" and r.get_json()["after"] == "poweroff"
    assert client.get(f"/metadata/{new}/deploy").status_code == 404
    from api.engine.release import finish_delete
    with database.transaction() as s:
        d = s.get(Device, dev["id"])
        m = d.machine
        finish_delete(s, d)
        m.operation = m.step = None  # the delete completed
    assert client.get(f"/metadata/{wipe}/deploy").status_code == 409  # its operation is over
    assert client.post(f"/metadata/{wipe}/deploy/complete", json={"status": "ok"}).status_code == 409
    with database.Session() as s:
        assert s.scalar(select(Machine).where(Machine.id == s.get(Device, dev["id"]).machine_id)) is None


def test_progress_reports_cannot_finish_a_wipe(client, database, lab, tenant):
    dev = _device(tenant, "debian_12", "wiped")
    _active(database, dev["id"])
    assert tenant.delete(f"/devices/{dev['id']}").status_code == 204
    token = boot_credential(_script(client, database, dev["id"], step="wait_wipe"))  # the engine at the wipe
    r = client.post(f"/metadata/{token}/events", json={"state": "succeeded", "code": 1002, "message": "wiped!"})
    assert r.status_code == 200
    with database.Session() as s:
        assert s.get(Device, dev["id"]).machine.install_result is None  # only deploy/complete ends a wipe
    assert client.post(f"/metadata/{token}/deploy/complete", json={"status": "ok"}).status_code == 200
    with database.Session() as s:
        assert s.get(Device, dev["id"]).machine.install_result == "ok"
    assert client.post(f"/metadata/{token}/deploy/complete", json={"status": "ok"}).status_code == 409  # once
