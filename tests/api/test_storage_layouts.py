"""Custom storage layouts (``storage``) on create and reinstall, and the OS's ``user_state``.

Every wrong layout is a 422 naming the field, before anything is claimed or queued: no device, no
operation, the machine still available (the deploy agent never sees it, so no disk is touched).
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from api.models import Device, Machine
from tests.support.equinix_sdk import decode
from tests.support.netboot import metadata_secret

ARCHIVE_OS = "ingot_rootfs"
SIMPLE = {"disks": [{"device": "/dev/sda", "wipeTable": True,
                     "partitions": [{"label": "ROOT", "number": 1, "size": "20G"},
                                    {"label": "DATA", "number": 2, "size": 0}]}],
          "filesystems": [{"mount": {"device": "/dev/sda1", "format": "ext4", "point": "/"}},
                          {"mount": {"device": "/dev/sda2", "format": "ext4", "point": "/data"}}]}
RAID1 = {"disks": [{"device": d, "wipe_table": True,
                    "partitions": [{"label": "BOOT", "number": 1, "size": "1G"},
                                   {"label": "ROOT", "number": 2, "size": 0}]} for d in ("/dev/sda", "/dev/sdb")],
         "raid": [{"devices": ["/dev/sda2", "/dev/sdb2"], "level": "1", "name": "/dev/md/ROOT"}],
         "filesystems": [{"mount": {"device": "/dev/sda1", "format": "ext4", "point": "/boot"}},
                         {"mount": {"device": "/dev/md/ROOT", "format": "ext4", "point": "/",
                                    "options": ["-L", "ROOT"]}}]}


def _with(doc: dict, **changes) -> dict:
    out = json.loads(json.dumps(doc))
    for path, value in changes.items():
        target = out
        keys = [int(k) if k.isdigit() else k for k in path.split("__")]
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return out


BAD = [
    ("not an object", "storage", ["/dev/sda"]),
    ("not JSON", "storage", "{disks"),
    ("unknown key", "storage", {**SIMPLE, "lvm": []}),
    ("disk path", "storage.disks[0].device", _with(SIMPLE, disks__0__device="/etc/passwd")),
    ("partition size", "storage.disks[0].partitions[0].size", _with(SIMPLE, disks__0__partitions__0__size="1Z")),
    ("rest not last", "storage.disks[0]", _with(SIMPLE, disks__0__partitions__0__size=0)),
    ("format", "storage.filesystems[1].mount.format", _with(SIMPLE, filesystems__1__mount__format="zfs")),
    ("unknown device", "storage.filesystems[1].mount.device",
     _with(SIMPLE, filesystems__1__mount__device="/dev/sda9")),
    ("no root", "storage.filesystems", _with(SIMPLE, filesystems__0__mount__point="/srv")),
    ("raid member twice", "storage.raid", _with(RAID1, raid__0__devices=["/dev/sda2", "/dev/sda2"])),
    ("raid level", "storage.raid[0].level", _with(RAID1, raid__0__level="7")),
    ("fs on a member", "storage.filesystems[1].mount.device",
     _with(RAID1, filesystems__1__mount__device="/dev/sda2")),
    ("disk not on the machine", "storage.disks[0].device",
     json.loads(json.dumps(SIMPLE).replace("/dev/sda", "/dev/sdz"))),
    ("too big for the disk", "storage.disks[0].partitions", _with(SIMPLE, disks__0__partitions__0__size="900G")),
]


@pytest.fixture
def rootfs_os(lab, operator, database):
    with database.Session() as s:      # as inspection stores them (the demo's machines are not inspected)
        for m in s.scalars(select(Machine)):
            m.facts = {**(m.facts or {}), "disks": m.bmc_options["disks"]}
        s.commit()
    r = operator.post("/operating-systems", json={
        "slug": ARCHIVE_OS, "name": "Root filesystem archive", "distro": "ingot", "version": "1",
        "install_method": "image", "image_url": "http://images.example/rootfs.tar.gz", "image_format": "tar.gz",
        "image_checksum": "sha256:" + "ab" * 32, "provisionable_on": ["sim.small", "sim.large"]})
    assert r.status_code == 201, r.get_json()
    return ARCHIVE_OS


def create(t, **fields):
    return t.post(f"/projects/{t.project_id}/devices",
                  json={"plan": "sim.small", "metro": "lab", "operating_system": ARCHIVE_OS, **fields})


def _counts(database) -> tuple[int, int]:
    with database.Session() as s:
        return (s.scalar(select(func.count()).select_from(Device)),
                s.scalar(select(func.count()).select_from(Machine).where(Machine.state == "available")))


def test_a_layout_is_kept_in_the_spec_spelling(rootfs_os, tenant):
    r = create(tenant, storage=SIMPLE)
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["storage"]["disks"][0]["wipeTable"] is True
    assert [f["mount"]["point"] for f in d["storage"]["filesystems"]] == ["/", "/data"]
    assert tenant.get(f"/devices/{d['id']}").get_json()["storage"] == d["storage"]
    # the official SDK decodes the device, its layout in the spec's Storage shape (tests/contract's oracle)
    got = decode("Device", d).storage
    assert got.disks[0].wipe_table is True and got.filesystems[1].mount.point == "/data"
    # Terraform sends the layout as a JSON string
    r = create(tenant, plan="sim.large", storage=json.dumps(RAID1))
    assert r.status_code == 201, r.get_json()
    raid = r.get_json()["storage"]
    assert raid["raid"] == [{"devices": ["/dev/sda2", "/dev/sdb2"], "level": "1", "name": "/dev/md/ROOT"}]
    assert raid["filesystems"][1]["mount"]["options"] == ["-L", "ROOT"]
    got = decode("Device", r.get_json()).storage
    assert (got.raid[0].level, got.raid[0].devices, got.filesystems[1].mount.options) == (
        "1", ["/dev/sda2", "/dev/sdb2"], ["-L", "ROOT"])


@pytest.mark.parametrize("why,field,layout", BAD, ids=[b[0] for b in BAD])
def test_every_wrong_layout_is_a_422_naming_the_field_and_writes_nothing(rootfs_os, tenant, database,
                                                                         why, field, layout):
    before = _counts(database)
    r = create(tenant, storage=layout)
    assert r.status_code == 422, (why, r.get_json())
    errors = r.get_json()["errors"]
    assert any(e.startswith(field) for e in errors), (why, errors)
    assert _counts(database) == before, why      # no device, no machine claimed


def test_layout_and_os_must_suit_each_other(rootfs_os, tenant, database):
    before = _counts(database)
    r = create(tenant, operating_system="ubuntu_24_04", storage=SIMPLE)
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("storage: operating system ubuntu_24_04")
    r = create(tenant)            # a root filesystem archive needs somewhere to go
    assert r.status_code == 422 and "needs a storage layout" in r.get_json()["errors"][0]
    assert _counts(database) == before


def test_plan_default_layout_and_its_checks(rootfs_os, operator, tenant):
    bad = json.loads(json.dumps(SIMPLE).replace("/dev/sda", "/dev/sdb"))
    r = operator.post("/plans", json={"slug": "sim.disks", "name": "Disks", "storage": bad, "specs": {
        "drives": [{"count": 1, "size": "240GB", "type": "SSD", "devices": ["/dev/sda"]}]}})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("storage.disks[0].device: /dev/sdb")
    r = operator.put("/plans/sim.small", json={"storage": SIMPLE})
    if r.status_code == 404:   # plans are addressed by id
        plan_id = next(p["id"] for p in operator.get("/plans").get_json()["plans"] if p["slug"] == "sim.small")
        r = operator.put(f"/plans/{plan_id}", json={"storage": SIMPLE})
    assert r.status_code == 200, r.get_json()
    d = create(tenant).get_json()
    assert d["storage"]["filesystems"][1]["mount"]["point"] == "/data"


def _reinstall(t, device_id, **body):
    return t.post(f"/devices/{device_id}/actions", json={"type": "reinstall", **body})


def _active(database, device_id):
    with database.Session() as s:
        d = s.get(Device, device_id)
        d.state = "active"
        d.machine.state, d.machine.operation = "active", None
        s.commit()


def test_preserve_data_rules(rootfs_os, tenant, database):
    keep = create(tenant, storage=SIMPLE).get_json()
    root_only = create(tenant, storage={"disks": SIMPLE["disks"][:1], "filesystems": SIMPLE["filesystems"][:1]})
    root_only = root_only.get_json()
    for d in (keep, root_only):
        _active(database, d["id"])
    r = _reinstall(tenant, root_only["id"], preserve_data=True)
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("preserve_data: ") \
        and "no data to keep" in r.get_json()["errors"][0]
    moved = _with(SIMPLE, disks__0__partitions__0__size="30G")
    r = _reinstall(tenant, keep["id"], preserve_data=True, storage=moved)
    assert r.status_code == 422 and "cannot change" in r.get_json()["errors"][0]
    r = _reinstall(tenant, keep["id"], preserve_data=True, storage={"filesystems": "x"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("storage.filesystems")
    with database.Session() as s:
        assert s.get(Device, keep["id"]).state == "active"        # nothing queued by the refusals
    r = _reinstall(tenant, keep["id"], preserve_data=True, deprovision_fast=False)
    assert r.status_code == 202, r.get_json()
    with database.Session() as s:
        m = s.get(Device, keep["id"]).machine
        assert m.operation == "reinstall" and m.operation_args["preserve_data"] is True


def test_user_state_is_the_os_word_and_wait_for_answers_it(client, database, box, lab, tenant):
    d = tenant.post(f"/projects/{tenant.project_id}/devices", json={
        "plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}).get_json()
    assert d["user_state"] is None
    token = metadata_secret(database, box, d["id"])   # the installed system's: it reports user state
    assert client.get(f"/metadata/{token}/metadata").get_json()["user_state_url"].endswith(
        f"/metadata/{token}/user-state")
    for bad in ({"state": "done"}, {"state": "failed", "code": "x"}, {"state": "failed", "message": 3}):
        r = client.post(f"/metadata/{token}/user-state", json=bad)
        assert r.status_code == 422 and r.get_json()["errors"], bad
    r = tenant.get(f"/devices/{d['id']}", query_string={"wait_for": "user_state:succeeded", "timeout": 0})
    assert r.status_code == 200 and r.headers["Ingot-Wait"] == "timeout"
    assert client.post(f"/metadata/{token}/user-state", json={
        "state": "failed", "code": 2002, "message": "could not install nginx"}).status_code == 200
    d = tenant.get(f"/devices/{d['id']}").get_json()
    assert (d["user_state"], d["user_state_message"]) == ("failed", "could not install nginx")
    r = tenant.get(f"/devices/{d['id']}", query_string={"wait_for": "user_state:succeeded", "timeout": 30})
    assert r.headers["Ingot-Wait"] == "failed"
    events = tenant.get(f"/devices/{d['id']}/events").get_json()["events"]
    assert any(e["type"] == "device.user_state.failed" for e in events)
    for bad in ({"wait_for": "user_state:done"}, {"wait_for": "colour:red"}, {"timeout": 5},
                {"wait_for": "state:active", "timeout": 9999}):
        r = tenant.get(f"/devices/{d['id']}", query_string=bad)
        assert r.status_code == 422, bad
