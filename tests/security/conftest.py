"""Fixtures for the security suite: a populated "world" of objects in the
tenant's project (devices, keys, reservations, IP blocks) plus operator
objects (metro, plan, OS, pool, machine), built through the API."""
from __future__ import annotations

import base64
import dataclasses
import ipaddress
import itertools
import struct

import pytest

_counter = itertools.count(1)


def ssh_public_key(comment: str = "test") -> str:
    """A well-formed OpenSSH ed25519 public key line (random key material)."""
    import os
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + os.urandom(32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


@dataclasses.dataclass
class World:
    """Ids of real objects: ``project_id`` and tenant objects belong to the
    tenant's project; metro/plan/os/pool/machine are the operator's."""

    n: int
    project_id: str
    device_id: str
    api_key_id: str
    ssh_key_id: str
    ip_id: str
    ip_first_address: str
    reservation_id: str
    metro_id: str
    metro_code: str
    plan_id: str
    os_id: str
    pool_id: str
    machine_id: str
    boot_token: str
    userdata: str

    def tenant_ids(self) -> set[str]:
        return {self.project_id, self.device_id, self.api_key_id, self.ssh_key_id, self.ip_id,
                self.reservation_id}


def _ok(r, status=(200, 201, 202, 204)):
    assert r.status_code in status, (r.status_code, r.get_data(as_text=True))
    return r.json if r.data else None


def build_world(tenant, operator, database, *, project_keys: bool = False) -> World:
    """Create one set of objects. ``project_keys`` picks project SSH/API keys
    instead of the user's own."""
    n = next(_counter)
    pid = tenant.project_id
    userdata = f"#cloud-config\n# secret-userdata-{n}\n"
    dev = _ok(tenant.post(f"/projects/{pid}/devices", {
        "hostname": f"world-{n}", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "userdata": userdata, "customdata": {"secret": f"customdata-{n}"}}))
    if project_keys:
        ssh = _ok(tenant.post(f"/projects/{pid}/ssh-keys", {"label": f"pk{n}", "key": ssh_public_key()}))
        key = _ok(tenant.post(f"/projects/{pid}/api-keys", {"description": f"pk{n}"}))
    else:
        ssh = _ok(tenant.post("/ssh-keys", {"label": f"uk{n}", "key": ssh_public_key()}))
        key = _ok(tenant.post("/user/api-keys", {"description": f"uk{n}"}))
    ip = _ok(tenant.post(f"/projects/{pid}/ips", {"type": "public_ipv4", "metro": "lab", "quantity": 4}))
    first = str(next(ipaddress.ip_network(f"{ip['network']}/{ip['cidr']}", strict=False).hosts()))
    # operator objects of this world
    metro = _ok(operator.post("/locations/metros", {"code": f"w{n}", "name": f"World {n}"}))
    plan = _ok(operator.post("/plans", {"slug": f"world.p{n}", "name": f"World plan {n}"}))
    os_row = _ok(operator.post("/operating-systems", {
        "slug": f"world_os_{n}", "name": f"World OS {n}", "distro": "custom_ipxe", "version": "1",
        "install_method": "custom_ipxe"}))
    pool = _ok(operator.post("/ip-pools", {"metro": f"w{n}", "type": "private_ipv4",
                                           "cidr": f"10.{100 + n % 100}.{n // 100}.0/24"}))
    mac = f"52:54:01:00:{n // 256:02x}:{n % 256:02x}"
    machine = _ok(operator.post("/machines", {
        "hostname": f"world-m{n}", "metro": "lab", "plan": "sim.small", "inspect": False,
        "bmc": {"driver": "sim", "address": f"world-m{n}", "username": "admin", "password": f"bmc-pw-{n}"},
        "nics": [{"mac": mac}]}))
    # a hardware reservation of one of the lab's large machines for the tenant
    machines = _ok(operator.get("/machines?plan=sim.large&per_page=100"))["machines"]
    free = [m for m in machines if not m.get("device")]
    from sqlalchemy import select
    from api.models import HardwareReservation, Machine
    with database.Session() as s:
        reserved = set(s.scalars(select(HardwareReservation.machine_id)))
        boot_token = s.get(Machine, machine["id"]).boot_token
    free = [m for m in free if m["id"] not in reserved]
    assert free, "no free sim.large machine left for a hardware reservation"
    hr = _ok(operator.post("/hardware-reservations", {"project_id": pid, "machine_id": free[0]["id"]}))
    return World(n=n, project_id=pid, device_id=dev["id"], api_key_id=key["id"], ssh_key_id=ssh["id"],
                 ip_id=ip["id"], ip_first_address=first, reservation_id=hr["id"], metro_id=metro["id"],
                 metro_code=metro["code"], plan_id=plan["id"], os_id=os_row["id"], pool_id=pool["id"],
                 machine_id=machine["id"], boot_token=boot_token or "", userdata=userdata)


@pytest.fixture
def world(lab, tenant, operator, database):
    return build_world(tenant, operator, database)


@pytest.fixture
def world_b(world, tenant, operator, database):
    """A second, independent world in the same project (project keys)."""
    return build_world(tenant, operator, database, project_keys=True)


@pytest.fixture(scope="module")
def shared(request, _template, tmp_path_factory):
    """One app + database + lab + world for a whole module (the fuzzers:
    what one example leaves behind is the next one's starting point)."""
    from types import SimpleNamespace

    from api.app import create_app
    from api.core.config import Settings
    from api.core.db import Database
    from api.services import demo
    from tests.conftest import Tenant, make_user

    kind, template = _template
    data = tmp_path_factory.mktemp("shared") / "data"
    data.mkdir(parents=True, exist_ok=True)
    if kind == "postgres":
        url = request.getfixturevalue("postgres_server").create_database(template=template)
    else:
        import shutil
        shutil.copy(template, data / "ingot.sqlite")
        url = f"sqlite:///{data / 'ingot.sqlite'}"
    settings = Settings(data_dir=str(data), database_url=url, secret_key="test-secret-key",
                        worker_poll_interval=0.05, sim_delay=0.05, bmc_retries=3)
    database = Database(url)
    app = create_app(settings, database=database)
    app.config["TESTING"] = True
    client = app.test_client()
    with database.Session() as s:
        demo.seed(s, app.extensions["ingot.secrets"], settings.data_dir, machines=8)
    raw, pid, uid = make_user(database, email="alice@example.com", project_name="alice-project")
    tenant = Tenant(client, raw, pid, uid)
    raw, _, uid = make_user(database, email="op@example.com", operator=True)
    operator = Tenant(client, raw, None, uid)
    raw, pid, uid = make_user(database, email="bob@example.com", project_name="bob-project")
    other_tenant = Tenant(client, raw, pid, uid)
    world = build_world(tenant, operator, database)
    yield SimpleNamespace(app=app, client=client, database=database, tenant=tenant, operator=operator,
                          other_tenant=other_tenant, world=world)
    database.dispose()
