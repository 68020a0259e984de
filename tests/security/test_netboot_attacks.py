"""Issue 12's attacks from the provisioning network, replayed: each was possible
before the per-boot credentials and must be refused now (docs/security.md).

1. an anonymous ``GET /boot/ipxe?mac=`` handed out the device's metadata secret,
   and that secret alone made a device ``active`` (phone-home) or ended a
   full-wipe delete (``deploy/complete``), returning a machine to the pool with
   the previous tenant's disk intact;
5. the failed-guess limiter locked honest devices out (absent EC2 keys under a
   valid secret counted as guesses; a valid token from a brute-forcing address was 429);
6. each random MAC sent to ``/boot/ipxe`` wrote an event (the events table flooded).
"""
from __future__ import annotations

import re
import threading
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select, text

from api.models import Device, Event, Machine, utcnow
from api.routes.examples import REQUESTS
from api.security import limiter
from api.services import boot_credentials, callbacks
from tests.support.clients import Cloud
from tests.support.netboot import at_step, boot_credential, lookup, mac_of, metadata_secret
from tests.support.settings import TEST_DB
from tests.support.waiting import wait_for

DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}
MACHINE_ADDR, ATTACKER = "10.66.0.50", "10.66.0.66"


def _device(tenant, hostname: str, os_slug: str = "ubuntu_24_04") -> dict:
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": hostname,
                                                              "operating_system": os_slug})
    assert r.status_code == 201, r.json
    return r.json


# --- 1. anonymous lookups and the metadata secret ------------------------------------------------

def test_an_anonymous_lookup_never_gets_a_secret_and_a_second_one_revokes_the_first(client, database, box, lab,
                                                                                    tenant):
    dev = _device(tenant, "victim")
    mac = mac_of(database, dev["id"])
    secret = metadata_secret(database, box, dev["id"])
    # before the engine boots the machine: nothing to boot from the network
    assert "exit" in lookup(client, mac, ATTACKER).splitlines()
    at_step(database, dev["id"], "wait_boot")
    first = lookup(client, mac, MACHINE_ADDR)  # the machine's own boot: its one-time credential
    assert secret not in first  # the metadata secret is in no boot script
    agent = boot_credential(first)
    again = lookup(client, mac, ATTACKER)
    assert agent not in again and secret not in again and "ingot.metadata=" not in again
    # one of the two was not the machine: the credential is revoked, the step fails, the operator is told
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 409
    assert client.post(f"/metadata/{agent}/events", json={"code": 1002}).status_code == 409
    with database.Session() as s:
        m = s.get(Device, dev["id"]).machine
        assert m.install_result == "revoked" and "asked for twice" in m.install_message
        types = set(s.scalars(select(Event.type).where(Event.machine_id == m.id)))
        assert {"machine.boot.credential_contested", "device.boot.credential_revoked"} <= types
    # whatever the first asker read, the device's metadata secret is a new one now
    assert client.get(f"/metadata/{secret}/metadata").status_code == 404
    assert metadata_secret(database, box, dev["id"]) != secret


def _contest_message(database, device_id: str) -> str | None:
    with database.Session() as s:
        m = s.get(Device, device_id).machine
        return m.install_message if m.install_result == "revoked" else None


def test_the_machine_asking_again_before_it_used_its_credential_gets_a_new_one(client, database, box, lab,
                                                                                tenant):
    """Its first answer was lost (its client timed out under load and retried, as iPXE does): the same
    address and MAC asking again, before anyone used the credential, is not a second machine."""
    dev = _device(tenant, "retry")
    mac = mac_of(database, dev["id"])
    at_step(database, dev["id"], "wait_boot")
    lost = boot_credential(lookup(client, mac, MACHINE_ADDR))
    agent = boot_credential(lookup(client, mac, MACHINE_ADDR))
    assert agent != lost
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 200
    assert _contest_message(database, dev["id"]) is None
    with database.Session() as s:
        served = s.scalars(select(Event.body).where(Event.type == "machine.boot.ipxe",
                                                    Event.device_id == dev["id"])).all()
    assert any("again" in body and "counts for nothing" in body for body in served), served
    # used once, the credential is the machine's: a third ask, even from its own address, is a contest
    assert "ingot.metadata=" not in lookup(client, mac, MACHINE_ADDR)
    assert "asked for twice" in _contest_message(database, dev["id"])
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 409


def test_the_credential_a_re_ask_replaced_is_worth_a_contest_when_used(client, database, box, lab, tenant):
    """Whoever asked first kept the replaced credential: its use beside the machine's new one is two
    holders, and fails the step as two asks do."""
    dev = _device(tenant, "replaced")
    mac = mac_of(database, dev["id"])
    secret = metadata_secret(database, box, dev["id"])
    at_step(database, dev["id"], "wait_boot")
    replaced = boot_credential(lookup(client, mac, MACHINE_ADDR))
    agent = boot_credential(lookup(client, mac, MACHINE_ADDR))
    r = client.get(f"/metadata/{replaced}/autoinstall/user-data", environ_base={"REMOTE_ADDR": ATTACKER})
    assert r.status_code == 409 and "asked for its boot script again" in r.json["errors"][0]
    message = _contest_message(database, dev["id"])
    assert message and "after the machine had asked again" in message and ATTACKER in message
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 409
    with database.Session() as s:
        types = set(s.scalars(select(Event.type).where(Event.device_id == dev["id"])))
    assert "device.boot.credential_revoked" in types
    assert metadata_secret(database, box, dev["id"]) != secret


def test_an_ask_its_own_retry_overtook_gets_nothing_and_contests_nothing(client, database, box, lab, tenant):
    """Under load the retry of a slow ask can be answered first (SQLite hands its write lock in no order),
    and the machine can use that credential before the old ask is answered: the old ask, whose client is
    gone, is no second machine. An ask that arrives after the credential was given still is."""
    dev = _device(tenant, "overtaken")
    mac = mac_of(database, dev["id"])
    at_step(database, dev["id"], "wait_boot")
    source = f"{MACHINE_ADDR} (mac {mac})"  # as the route names it
    old_ask = utcnow()  # the first ask arrives, and waits
    agent = boot_credential(lookup(client, mac, MACHINE_ADDR))  # its retry is answered first
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 200  # and used
    with database.Session() as s:
        late = callbacks.boot_script(s, box, s.get(Device, dev["id"]).machine, "http://ingot.test", source,
                                     old_ask)
    assert not late.credential and "ingot.metadata=" not in late.text
    assert _contest_message(database, dev["id"]) is None
    assert client.get(f"/metadata/{agent}/autoinstall/user-data").status_code == 200
    with database.Session() as s:
        now = callbacks.boot_script(s, box, s.get(Device, dev["id"]).machine, "http://ingot.test", source,
                                    utcnow())
    assert not now.credential and "asked for twice" in _contest_message(database, dev["id"])


def _lock_waiters(database) -> int:
    """Sessions of the test's database waiting for a lock (a new connection each time: the activity view is
    read once per transaction)."""
    with database.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM pg_stat_activity "
                              "WHERE wait_event_type = 'Lock' AND datname = current_database()")).scalar()


@pytest.mark.skipif(TEST_DB != "postgres", reason="PostgreSQL's row locks (SQLite has one writer at a time)")
def test_an_ask_while_the_machines_report_presents_its_credential_is_a_second_asker(client, database, lab, tenant):
    """A report presenting the credential holds the machine's row lock until it commits. An ask from the same
    address and MAC meanwhile waits for it and is then a second asker (the credential has been used), not the
    machine asking again. Before, the ask read the credential as unused, replaced it and was handed a working
    one after the report committed (or deadlocked with the report: "database unavailable")."""
    dev = _device(tenant, "in-flight")
    mac = mac_of(database, dev["id"])
    at_step(database, dev["id"], "wait_boot")
    agent = boot_credential(lookup(client, mac, MACHINE_ADDR))
    report = database.Session()
    presented = boot_credentials.find(report, agent)  # the machine's row lock, as the report's request takes it
    presented.credential.presented_at = utcnow()
    report.flush()
    answers: list[str] = []
    ask = threading.Thread(target=lambda: answers.append(lookup(client, mac, MACHINE_ADDR)))
    ask.start()
    wait_for(lambda: _lock_waiters(database) == 1, message="the ask waits for a lock the report holds")
    report.commit()
    report.close()
    ask.join(60)
    assert len(answers) == 1 and "ingot.metadata=" not in answers[0]
    assert "asked for twice" in _contest_message(database, dev["id"])


def test_the_metadata_secret_cannot_make_a_device_active(client, database, box, lab, tenant):
    """Before: ``POST /metadata/<secret>/phone-home`` made a device active with no OS on its disk."""
    dev = _device(tenant, "no-os", "debian_12")
    secret = metadata_secret(database, box, dev["id"])
    addr = next(a["address"] for a in dev["ip_addresses"] if a["address_family"] == 4 and a["public"])
    for step in ("wait_install", "wait_phone_home"):
        at_step(database, dev["id"], step)
        r = client.post(f"/metadata/{secret}/phone-home", json={"instance_id": dev["id"]})
        assert r.status_code == 403 and "boot credential" in r.json["errors"][0]
        r = client.post(f"/metadata/{secret}/events", json={"state": "succeeded", "code": 1002})
        assert r.status_code == 200  # a user-state report, nothing more
        assert client.post("/phone-home", environ_base={"REMOTE_ADDR": addr}).status_code == 403  # by address
    with database.Session() as s:
        m = s.get(Device, dev["id"]).machine
        assert m.phoned_home_at is None and m.install_result is None


def test_the_metadata_documents_phone_home_url_answers_once_active_and_changes_nothing(client, database, box,
                                                                                       lab, tenant):
    """The Equinix metadata names ``phone_home_url`` (the metadata secret); systems call it at each boot."""
    dev = _device(tenant, "booted", "debian_12")
    secret = metadata_secret(database, box, dev["id"])
    addr = next(a["address"] for a in dev["ip_addresses"] if a["address_family"] == 4 and a["public"])
    with database.transaction() as s:  # provisioned, as the engine would leave it
        d = s.get(Device, dev["id"])
        d.machine.operation = d.machine.step = None
        d.machine.state, d.state = "active", "active"
        events_before = s.scalar(select(func.count()).select_from(Event).where(Event.device_id == d.id))
    url = client.get(f"/metadata/{secret}/metadata").json["phone_home_url"]
    assert url.endswith(f"/metadata/{secret}/phone-home")
    assert client.post(urlsplit(url).path, json={}).status_code == 200
    assert client.post("/phone-home", environ_base={"REMOTE_ADDR": addr}).status_code == 200  # by address
    with database.Session() as s:
        d = s.get(Device, dev["id"])
        assert d.state == "active" and d.machine.phoned_home_at is None
        assert s.scalar(select(func.count()).select_from(Event).where(Event.device_id == d.id)) == events_before


def test_the_metadata_secret_cannot_end_a_wipe(client, database, box, lab, tenant):
    dev = _device(tenant, "wipe-me", "debian_12")
    secret = metadata_secret(database, box, dev["id"])
    with database.transaction() as s:  # provisioned, as the engine would leave it
        d = s.get(Device, dev["id"])
        d.machine.operation = d.machine.step = None
        d.machine.state, d.state = "active", "active"
    assert tenant.delete(f"/devices/{dev['id']}").status_code == 204
    at_step(database, dev["id"], "wait_wipe")
    r = client.post(f"/metadata/{secret}/deploy/complete", json={"status": "ok"})
    assert r.status_code == 404  # a deleted device's secret names nothing any more (and the attempt counts)
    with database.Session() as s:
        assert s.get(Device, dev["id"]).machine.install_result is None


def _idle(cloud, machine_id: str) -> dict | None:
    m = cloud.machine(machine_id)
    return m if m["operation"] is None else None


@pytest.mark.timeout(600)
def test_a_faked_wipe_completion_never_returns_the_machine_to_the_pool(server):
    """End to end, on the simulated lab: while a full-wipe delete runs, someone else asks for
    the machine's boot script and reports the wipe done. The machine must not rejoin the pool."""
    cloud = Cloud(server)
    dev = cloud.create(hostname="tenant-a")
    cloud.wait_state(dev["id"], "active", timeout=180)
    machine = cloud.machine_of(dev["id"])
    host = machine["hostname"]
    mac = cloud.host(host)["mac"]
    with server.database.Session() as s:
        leaked = server.app.extensions["ingot.secrets"].decrypt(s.get(Device, dev["id"]).metadata_token_enc)
    cloud.set_host(host, fail="wipe_hangs")  # the real agent is slow to finish: a window for the attacker
    assert cloud.delete(dev["id"]).status_code in (202, 204)
    # the machine's own wipe agent has used its credential (its report is in): the attacker comes second. (Before
    # that use, an ask from the same address and MAC is the machine asking again: tests of their own, above)
    wait_for(lambda: any(e["body"] == "agent wipe started" for e in cloud.events(dev["id"])), timeout=120,
             message="the machine's own wipe agent reports")
    # the attacker: the boot script by MAC, and whatever secret it or an earlier leak gives
    script = requests.get(f"{cloud.api}/boot/ipxe", params={"mac": mac}, timeout=30).text
    tokens = set(re.findall(r"/metadata/([^/\s]+)", script)) | {leaked}
    for token in tokens:
        r = requests.post(f"{server.url}/metadata/{token}/deploy/complete", json={"status": "ok"}, timeout=30)
        assert r.status_code != 200, (token == leaked, r.status_code, r.text)
    cloud.wait_gone(dev["id"], timeout=180)  # the tenant's delete still completes
    m = cloud.wait_until(machine["id"], lambda: _idle(cloud, machine["id"]), 120, "the release finished")
    assert m["state"] != "available" and m["state"] in ("failed", "maintenance"), m
    assert "asked for twice" in m["maintenance_reason"] + m["last_error"], m
    types = cloud.event_types(machine["id"])
    assert "machine.boot.credential_contested" in types and "device.deprovision.succeeded" not in types


# --- 5. a limiter that limits attackers, not devices ---------------------------------------------

def test_absent_metadata_keys_do_not_lock_out_the_device_or_its_neighbours(client, database, box, lab, tenant,
                                                                          other_tenant):
    """Before: 20 absent EC2 keys under a valid secret were 20 'guesses'; the device's own
    phone-home and every API client at its address then got 429."""
    limiter(client.application).limit = 5
    dev = _device(tenant, "cloud-init")
    secret = metadata_secret(database, box, dev["id"])
    at_step(database, dev["id"], "wait_boot")
    agent = boot_credential(lookup(client, mac_of(database, dev["id"]), MACHINE_ADDR))
    at_step(database, dev["id"], "wait_install")
    config = client.get(f"/metadata/{agent}/autoinstall/user-data", environ_base={"REMOTE_ADDR": MACHINE_ADDR})
    phone = re.search(r"/metadata/([^/]+)/phone-home", config.get_data(as_text=True)).group(1)
    for key in ("ami-id", "ami-launch-index", "ami-manifest-path", "block-device-mapping/", "instance-action",
                "kernel-id", "mac", "profile", "product-codes", "ramdisk-id", "reservation-id", "security-groups",
                "services/domain", "iam/info", "placement/region", "public-ipv4/x", "spot/instance-action",
                "events/maintenance/scheduled", "network/interfaces/macs/", "elastic-gpus/associations",
                "tags/instance"):
        r = client.get(f"/metadata/{secret}/latest/meta-data/{key}", environ_base={"REMOTE_ADDR": MACHINE_ADDR})
        assert r.status_code == 404, key
    at_step(database, dev["id"], "wait_phone_home")
    assert client.post(f"/metadata/{phone}/phone-home", json={}, environ_base={"REMOTE_ADDR": MACHINE_ADDR}) \
        .status_code == 200
    assert client.get("/metal/v1/user", headers=other_tenant.headers,
                      environ_base={"REMOTE_ADDR": MACHINE_ADDR}).status_code == 200


def test_a_valid_token_is_served_from_an_address_that_was_brute_forcing(client, tenant):
    limiter(client.application).limit = 5
    for i in range(30):
        r = client.get("/metal/v1/user", headers={"X-Auth-Token": f"guess-{i}"}, environ_base={"REMOTE_ADDR": ATTACKER})
        assert r.status_code == (401 if i < 5 else 429)
    assert client.get("/metal/v1/user", headers=tenant.headers, environ_base={"REMOTE_ADDR": ATTACKER}) \
        .status_code == 200
    for i in range(30):
        assert client.get(f"/metadata/guess-{i}/metadata", environ_base={"REMOTE_ADDR": ATTACKER}).status_code \
            == (404 if i < 5 else 429)


def test_guessing_boot_tokens_through_the_lldp_report_is_limited(client):
    limiter(client.application).limit = 5
    body = {k: v for k, v in REQUESTS["report_lldp"].items() if k != "token"}
    answers = [client.post("/metal/v1/boot/lldp", json={**body, "token": f"guess-{i}"},
                           environ_base={"REMOTE_ADDR": ATTACKER}).status_code for i in range(12)]
    assert answers == [404] * 5 + [429] * 7


# --- 6. the events table --------------------------------------------------------------------------

def _random_mac() -> str:
    raw = uuid.uuid4().hex[:10]
    return "02:" + ":".join(raw[i:i + 2] for i in range(0, 10, 2))


def test_random_macs_cannot_flood_the_events(client, database, lab):
    """Before: 456 anonymous lookups of random MACs wrote 424 events."""
    limiter(client.application).clock = lambda: 1_700_000_000.0  # one moment: nothing ages while the test runs
    answers = [client.get("/metal/v1/boot/ipxe", query_string={"mac": _random_mac()},
                          environ_base={"REMOTE_ADDR": ATTACKER}) for _ in range(120)]
    served = sum(r.status_code == 200 for r in answers)
    assert served <= 30  # INGOT_BOOT_LOOKUP_LIMIT (default 30) per minute; then 429, and no script at all
    assert all(r.status_code == 429 and r.is_json and "ipxe" not in r.get_data(as_text=True) for r in answers[-50:])
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "machine.boot.unknown_mac")) \
            <= served
    # from as many addresses as it likes, the operator still gets a bounded number of events
    for i in range(300):
        client.get("/metal/v1/boot/ipxe", query_string={"mac": _random_mac()},
                   environ_base={"REMOTE_ADDR": f"10.77.{i // 250}.{i % 250 + 1}"})
    with database.Session() as s:
        n = s.scalar(select(func.count()).select_from(Event).where(Event.type == "machine.boot.unknown_mac"))
        assert n <= 101, n  # at most 100 per ten minutes, plus one saying the rest were suppressed
        assert s.scalar(select(func.count()).select_from(Machine)) == 8  # and nothing else grew
