"""A populated "world" of real objects for the security suite, built through the
API: devices, keys, reservations and IP blocks in the tenant's project, and the
operator's metro, plan, OS, pool and machine; and the served OpenAPI document's
operations with their path parameters filled from a world."""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import itertools
import re
import tempfile

import pytest
from sqlalchemy import select

from api.app import create_app
from api.core.config import Settings
from api.models import HardwareReservation, Machine, Membership, User
from tests.support.clients import API
from tests.support.keys import ssh_public_key

_counter = itertools.count(1)
METHODS = ("get", "post", "put", "patch", "delete")


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
    device_ip_id: str = ""
    organization_id: str = ""
    membership_id: str = ""
    invitation_id: str = ""
    batch_id: str = ""
    facility_id: str = ""
    event_id: str = ""
    user_id: str = ""

    def tenant_ids(self) -> set[str]:
        return {self.project_id, self.device_id, self.api_key_id, self.ssh_key_id, self.ip_id,
                self.reservation_id, self.device_ip_id, self.membership_id, self.invitation_id, self.batch_id,
                self.event_id}


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
    with database.Session() as s:
        reserved = set(s.scalars(select(HardwareReservation.machine_id)))
        boot_token = s.get(Machine, machine["id"]).boot_token
    free = [m for m in free if m["id"] not in reserved]
    assert free, "no free sim.large machine left for a hardware reservation"
    hr = _ok(operator.post("/hardware-reservations", {"project_id": pid, "machine_id": free[0]["id"]}))
    # who belongs to the project: a second member, and an invitation of a third
    with database.transaction() as s:
        colleague = User(email=f"colleague-{n}@example.com", full_name=f"Colleague {n}")
        s.add(colleague)
        s.flush()
        membership = Membership(user_id=colleague.id, project_id=pid, role="collaborator")
        s.add(membership)
        s.flush()
        membership_id = membership.id
    invitation = _ok(tenant.post(f"/projects/{pid}/invitations", {"invitee": f"invitee-{n}@example.com"}))
    # a batch (that failed: it takes no machine), a facility, an event
    batch = _ok(tenant.post(f"/projects/{pid}/devices/batch", {"batches": [{
        "hostname": f"wb-{n}", "plan": "sim.small", "metro": f"nowhere{n}", "operating_system": "debian_12"}]}))
    facility = _ok(operator.post("/facilities", {"code": f"wf{n}", "name": f"World facility {n}",
                                                 "metro": metro["code"]}))
    event = _ok(tenant.get(f"/projects/{pid}/events?per_page=1"))["events"][0]
    project = _ok(tenant.get(f"/projects/{pid}"))
    return World(n=n, project_id=pid, device_id=dev["id"], api_key_id=key["id"], ssh_key_id=ssh["id"],
                 ip_id=ip["id"], ip_first_address=first, reservation_id=hr["id"], metro_id=metro["id"],
                 metro_code=metro["code"], plan_id=plan["id"], os_id=os_row["id"], pool_id=pool["id"],
                 machine_id=machine["id"], boot_token=boot_token or "", userdata=userdata,
                 device_ip_id=dev["ip_addresses"][0]["id"],
                 organization_id=project["organization"]["href"].rsplit("/", 1)[-1],
                 membership_id=membership_id, invitation_id=invitation["id"], batch_id=batch["batches"][0]["id"],
                 facility_id=facility["id"], event_id=event["id"], user_id=tenant.user_id)


@functools.lru_cache(maxsize=1)
def spec_document() -> dict:
    """The served OpenAPI document."""
    app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="ingot-spec-"), secret_key="spec"))
    return app.test_client().get(API + "/openapi.json").json


def spec_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of the served OpenAPI document."""
    return [(method.upper(), path) for path, ops in spec_document()["paths"].items() for method in ops
            if method in METHODS]


def fill(path: str, w: World) -> str:
    """``path`` with its parameters replaced by the objects of world ``w``."""
    def value(m):
        name = m.group(1)
        if name == "key_id":
            return w.api_key_id if path.startswith((API + "/api-keys", API + "/user/api-keys")) else w.ssh_key_id
        if name == "ip_id" and path.startswith(API + "/devices/"):
            return w.device_ip_id  # one of the device's own addresses
        table = {"project_id": w.project_id, "device_id": w.device_id, "ip_id": w.ip_id,
                 "reservation_id": w.reservation_id, "metro_id": w.metro_id, "plan_id": w.plan_id,
                 "os_id": w.os_id, "pool_id": w.pool_id, "machine_id": w.machine_id,
                 "token": w.boot_token, "name": "vmlinuz", "organization_id": w.organization_id,
                 "membership_id": w.membership_id, "invitation_id": w.invitation_id, "batch_id": w.batch_id,
                 "facility_id": w.facility_id, "event_id": w.event_id, "user_id": w.user_id}
        if name not in table:
            pytest.fail(f"the isolation matrix does not know path parameter {{{name}}} of {path}; "
                        "add it to fill() in tests/support/world.py")
        return table[name]
    return re.sub(r"\{(\w+)\}", value, path)
