"""The isolation matrix, generated from the served OpenAPI document.

For every path and method in ``/metal/v1/openapi.json`` the same request
(path parameters filled with real objects of the tenant's project, a valid
body) is sent as

  (a) no token, (b) a bad token, (c) a member of another project,
  (d) a member of the right project, (e) an operator

expecting 401 / 401 / 404 / allowed / allowed. Operator-only operations give
403 to (c) and (d). Operations that are not about one project (catalogue
reads, the caller's own lists) are allowed for (c) too, but nothing of the
tenant's may appear in what (c) gets back. Every allowed state-changing
request must leave an audit event with the caller as actor.

A new endpoint is tested automatically; if it needs a path parameter or a
body the matrix does not know, or is operator-only, the test fails and says
what to add here.
"""
from __future__ import annotations

import io
import ipaddress
import re

import pytest
from sqlalchemy import func, select

from api.models import Event
from tests.support.clients import API
from tests.support.keys import ssh_public_key
from tests.support.world import fill, spec_operations

OPERATIONS = spec_operations()

# endpoints machines call on the provisioning network: no token at all
PUBLIC = re.compile(r"^/metal/v1/boot/")

# operator-only operations (members get 403)
OPERATOR_ONLY = [
    (r".*", r"^/metal/v1/machines($|/)"),
    (r".*", r"^/metal/v1/ip-pools($|/)"),
    (r"POST|PUT|PATCH|DELETE", r"^/metal/v1/(locations/metros|plans|operating-systems)($|/)"),
    (r"POST", r"^/metal/v1/hardware-reservations$"),
    (r"PUT|PATCH|DELETE", r"^/metal/v1/hardware-reservations/\{reservation_id\}$"),
    (r".*", r"^/metal/v1/fleet/"),
    (r"POST|PUT|PATCH|DELETE", r"^/metal/v1/facilities($|/)"),
    (r"POST", r"^/metal/v1/organizations$"),
    (r"PUT|DELETE", r"^/metal/v1/organizations/\{organization_id\}$"),
    (r".*", r"^/metal/v1/(switches|routers|global-bgp-ranges)($|/)"),
    (r"POST|PUT|PATCH|DELETE", r"^/metal/v1/(vlan-ranges|bgp-asn-ranges)($|/)"),
    (r".*", r"^/metal/v1/locations/metros/\{metro_id\}/provisioning-network$"),
]

# path parameters that name an object of one project: another project's member gets 404
PROJECT_SCOPED_PARAMS = {"project_id", "device_id", "ip_id", "reservation_id", "key_id", "membership_id",
                         "invitation_id", "batch_id", "event_id", "user_id", "port_id", "vlan_id", "assignment_id",
                         "session_id"}

# operations whose callers get a fixed answer by design, by who calls ("other", "member", "operator")
EXPECTED = {
    # a tenant's private data: its project's members only (an operator who is not one is refused)
    ("GET", "/devices/{device_id}/userdata"): {"operator": 403},
    ("GET", "/devices/{device_id}/customdata"): {"operator": 403},
    ("GET", "/devices/{device_id}/metadata"): {"operator": 403},
    # only the invitee accepts an invitation
    ("PUT", "/invitations/{invitation_id}"): {"member": 403, "operator": 403},
    # the caller's own user keys only
    ("DELETE", "/user/api-keys/{key_id}"): {"operator": 404},
    # an invitation into the tenant's project: its projects are not another project's member's to see
    ("POST", "/organizations/{organization_id}/invitations"): {"other": 404},
}
# state-changing methods that only check (capacity, userdata): they change nothing to audit
NOT_AUDITED = {("POST", "/capacity"), ("POST", "/capacity/metros"), ("POST", "/userdata/validate")}


def is_operator_only(method: str, path: str) -> bool:
    return any(re.fullmatch(m, method) and re.search(p, path) for m, p in OPERATOR_ONLY)


def path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


# valid bodies, by (method, path template); PUT and PATCH share one
BODIES = {
    ("POST", "/user/api-keys"): lambda w, who: {"description": f"matrix {who}"},
    ("POST", "/projects/{project_id}/api-keys"): lambda w, who: {"description": f"matrix {who}"},
    ("POST", "/projects"): lambda w, who: {"name": f"matrix-{who}"},
    ("PUT", "/projects/{project_id}"): lambda w, who: {"name": f"renamed-{who}"},
    ("POST", "/ssh-keys"): lambda w, who: {"label": who, "key": ssh_public_key("matrix")},
    ("POST", "/projects/{project_id}/ssh-keys"): lambda w, who: {"label": who, "key": ssh_public_key("matrix")},
    ("PUT", "/ssh-keys/{key_id}"): lambda w, who: {"label": f"relabel-{who}"},
    ("POST", "/locations/metros"): lambda w, who: {"code": f"m{who}{w.n}", "name": "Matrix metro"},
    ("PUT", "/locations/metros/{metro_id}"): lambda w, who: {"name": f"Renamed {who}"},
    ("POST", "/plans"): lambda w, who: {"slug": f"matrix.{who}{w.n}", "name": "Matrix plan"},
    ("PUT", "/plans/{plan_id}"): lambda w, who: {"name": f"Renamed {who}"},
    ("POST", "/operating-systems"): lambda w, who: {"slug": f"matrix_{who}{w.n}", "name": "Matrix OS",
                                                    "install_method": "custom_ipxe"},
    ("PUT", "/operating-systems/{os_id}"): lambda w, who: {"name": f"Renamed {who}"},
    ("POST", "/projects/{project_id}/devices"): lambda w, who: {
        "hostname": f"matrix-{who}", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"},
    ("POST", "/projects/{project_id}/devices/batch"): lambda w, who: {"batches": [{
        "hostname": f"batch-{who}", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "quantity": 1}]},
    ("PUT", "/devices/{device_id}"): lambda w, who: {"description": f"changed by {who}", "tags": [who]},
    ("POST", "/devices/{device_id}/actions"): lambda w, who: {"type": "power_off"},
    ("POST", "/machines"): lambda w, who: {
        "hostname": f"matrix-{who}{w.n}", "metro": "lab", "plan": "sim.small", "inspect": False,
        "bmc": {"driver": "sim", "address": f"matrix-{who}{w.n}", "password": "pw"}},
    ("PUT", "/machines/{machine_id}"): lambda w, who: {"hostname": f"renamed-{who}{w.n}"},
    ("POST", "/machines/bulk-enroll"): lambda w, who: Upload("rack.yaml", (
        f"- {{hostname: bulk-{who}{w.n}, metro: lab, plan: sim.small, bmc: {{driver: sim, address: x}}}}\n").encode()),
    ("POST", "/machines/{machine_id}/maintenance"): lambda w, who: {"reason": "matrix"},
    ("POST", "/machines/{machine_id}/actions"): lambda w, who: {"type": "power_on"},
    ("POST", "/machines/{machine_id}/accept"): lambda w, who: {"hostname": f"accepted-{who}{w.n}"},
    ("PUT", "/locations/metros/{metro_id}/provisioning-network"): lambda w, who: {
        "wol_broadcast": "10.0.0.255", "unknown_mac_discovery": who == "member"},
    ("POST", "/hardware-reservations"): None,  # filled in the test: needs a free machine
    ("PUT", "/hardware-reservations/{reservation_id}"): lambda w, who: {"provisionable": False},
    ("POST", "/ip-pools"): lambda w, who: {"metro": w.metro_code, "type": "public_ipv4",
                                           "cidr": f"198.51.{w.n % 200}.{0 if who == 'member' else 128}/25"},
    ("PUT", "/ip-pools/{pool_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/projects/{project_id}/ips"): lambda w, who: {"type": "private_ipv4", "metro": "lab",
                                                            "quantity": 2},
    ("PUT", "/ips/{ip_id}"): lambda w, who: {"description": f"changed by {who}", "tags": [who]},
    ("POST", "/devices/{device_id}/ips"): lambda w, who: {
        "address": w.ip_first_address if who == "member" else str(ipaddress.ip_address(w.ip_first_address) + 1)},
    ("PUT", "/user"): lambda w, who: {"timezone": f"UTC-{who}"},
    ("POST", "/organizations"): lambda w, who: {"name": f"Matrix {who} {w.n}"},
    ("PUT", "/organizations/{organization_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/organizations/{organization_id}/projects"): lambda w, who: {"name": f"org-{who}"},
    ("POST", "/organizations/{organization_id}/invitations"): lambda w, who: {
        "invitee": f"org-{who}-{w.n}@example.com", "projects_ids": [w.project_id]},
    ("POST", "/projects/{project_id}/invitations"): lambda w, who: {"invitee": f"{who}-{w.n}@example.com"},
    ("PUT", "/memberships/{membership_id}"): lambda w, who: {"role": ["admin"]},
    ("POST", "/facilities"): lambda w, who: {"code": f"f{who[:2]}{w.n}", "name": "Matrix facility",
                                             "metro": w.metro_code},
    ("PUT", "/facilities/{facility_id}"): lambda w, who: {"name": f"Renamed {who}"},
    ("POST", "/capacity"): lambda w, who: {"servers": [{"facility": "lab1", "plan": "sim.small", "quantity": 1}]},
    ("POST", "/capacity/metros"): lambda w, who: {"servers": [{"metro": "lab", "plan": "sim.small", "quantity": 1}]},
    ("POST", "/userdata/validate"): lambda w, who: None,
    ("PUT", "/invitations/{invitation_id}"): lambda w, who: None,
    ("POST", "/switches"): lambda w, who: {"name": f"sw-{who}{w.n}", "metro": w.metro_code, "driver": "linux",
                                           "address": "local", "password": "secret"},
    ("PUT", "/switches/{switch_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/switches/{switch_id}/discover"): lambda w, who: None,
    # the netboot callbacks (public: only the hostile-input test sends these)
    ("POST", "/boot/lldp"): lambda w, who: {"token": w.boot_token, "frames": [
        {"mac": "52:54:00:00:00:01", "frame": "0180c200000e" + "00" * 20}]},
    ("POST", "/boot/inspection/{token}"): lambda w, who: {
        "cpus": 4, "memory_mib": 8192, "disks": [{"name": "sda", "size_bytes": 2 ** 30, "size_gb": 1.0}],
        "nics": [{"name": "eth0", "mac": "52:54:00:00:00:01"}], "serial": "s1", "vendor": "v", "model": "m"},
    ("POST", "/boot/discovery/{token}/leases"): lambda w, who: {"action": "add", "mac": "52:54:00:00:00:01",
                                                               "ip": "10.0.0.5", "hostname": "bmc-1"},
    ("POST", "/routers"): lambda w, who: {"metro": w.metro_code, "driver": "frr", "address": "local", "asn": 65001},
    ("PUT", "/routers/{router_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/vlan-ranges"): lambda w, who: {"metro": w.metro_code, "first": 100, "last": 109},
    ("PUT", "/vlan-ranges/{vlan_range_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/bgp-asn-ranges"): lambda w, who: {"first": 4200000000 + 10 * w.n, "last": 4200000009 + 10 * w.n},
    ("PUT", "/bgp-asn-ranges/{asn_range_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/global-bgp-ranges"): lambda w, who: {"project_id": w.project_id, "range": f"198.18.{w.n % 250}.0/24"},
    ("POST", "/projects/{project_id}/virtual-networks"): lambda w, who: {"metro": "lab", "description": who},
    ("PUT", "/virtual-networks/{vlan_id}"): lambda w, who: {"description": f"changed by {who}"},
    ("POST", "/ports/{port_id}/assign"): lambda w, who: {"vnid": w.net.vlans["c" if who == "member" else "d"]},
    ("POST", "/ports/{port_id}/unassign"): lambda w, who: {"vnid": w.net.vlans["a" if who == "member" else "b"]},
    ("POST", "/ports/{port_id}/native-vlan"): lambda w, who: None,  # see QUERIES
    ("POST", "/ports/{port_id}/bond"): lambda w, who: None,
    ("POST", "/ports/{port_id}/disbond"): lambda w, who: None,
    ("POST", "/ports/{port_id}/convert/layer-2"): lambda w, who: {},
    ("POST", "/ports/{port_id}/convert/layer-3"): lambda w, who: {"request_ips": [
        {"address_family": 4, "public": who == "member"}]},
    ("POST", "/ports/{port_id}/vlan-assignments/batches"): lambda w, who: {"vlan_assignments": [
        {"vlan": w.net.vlans["c" if who == "member" else "d"], "state": "assigned"}]},
    # one BGP config per project (the world has it: 409); one session per family
    ("POST", "/projects/{project_id}/bgp-configs"): lambda w, who: {"deployment_type": "local", "asn": 65000},
    ("POST", "/devices/{device_id}/bgp/sessions"): lambda w, who: {"address_family": "ipv4" if who == "member"
                                                                   else "ipv6"},
    ("PUT", "/bgp/sessions/{session_id}"): lambda w, who: who == "member",
}

# query strings, by (method, path template)
QUERIES = {
    ("GET", "/ips/{ip_id}/available"): lambda w, who: "?cidr=32",
    ("POST", "/ports/{port_id}/native-vlan"): lambda w, who: "?vnid=" + w.net.vlans["a" if who == "member" else "b"],
}


class Upload:
    """A multipart body with one file (sent fresh on every call)."""

    def __init__(self, name: str, content: bytes):
        self.name, self.content = name, content


def body_for(method: str, path: str, w, who: str, operator_client=None):
    key_path = path[len(API):]
    key = ("PUT" if method == "PATCH" else method, key_path)
    if method in ("GET", "DELETE"):
        return None
    if key not in BODIES:
        pytest.fail(f"the isolation matrix has no sample body for {method} {path}; add one to BODIES")
    if key == ("POST", "/hardware-reservations"):
        return {"project_id": w.project_id, "machine_id": w.machine_id}
    return BODIES[key](w, who)


def _count_events(database, actor: str) -> int:
    with database.Session() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.actor == actor))


def _call(client, method, url, token, body, remote="198.51.100.7"):
    headers = {"X-Auth-Token": token} if token is not None else {}
    if isinstance(body, Upload):
        return client.open(url, method=method, headers=headers, data={"file": (io.BytesIO(body.content), body.name)},
                           content_type="multipart/form-data", environ_base={"REMOTE_ADDR": remote})
    return client.open(url, method=method, headers=headers, json=body,
                       environ_base={"REMOTE_ADDR": remote})


READS = [op for op in OPERATIONS if op[0] == "GET"]
CHANGES = [op for op in OPERATIONS if op[0] != "GET"]


def _ids(ops):
    return [f"{m} {p[len(API):]}" for m, p in ops]


@pytest.mark.parametrize("method,path", READS, ids=_ids(READS))
def test_isolation_matrix_reads(method, path, shared):
    """Reads change nothing: one app and world serve them all."""
    x = shared
    check_matrix(method, path, x.client, x.app, x.database, x.world, x.world, x.tenant, x.other_tenant,
                 x.operator)


@pytest.mark.parametrize("method,path", CHANGES, ids=_ids(CHANGES))
def test_isolation_matrix(method, path, fresh_world):
    """Changes get a fresh world; a delete gets a second one, so the member
    and the operator each delete an object of their own."""
    x = fresh_world(second_world=method == "DELETE")
    check_matrix(method, path, x.client, x.app, x.database, x.world, x.world_b, x.tenant, x.other_tenant,
                 x.operator)


def check_matrix(method, path, client, app, database, world, world_b, tenant, other_tenant, operator):
    from api.security import limiter
    limiter(app).limit = 0  # this test sends many bad tokens on purpose
    params = path_params(path)
    url_a, url_b = fill(path, world), fill(path, world_b)
    leak_markers = world.tenant_ids() | world_b.tenant_ids() | {world.userdata, world_b.userdata}

    def check_no_leak(resp, who):
        text = resp.get_data(as_text=True)
        leaked = [m for m in leak_markers if m and m in text]
        assert not leaked, f"{who}: {method} {path} shows the tenant's {leaked}"

    if PUBLIC.match(path):
        for token in (None, "bad-token", other_tenant.token):
            r = _call(client, method, url_a, token, None)
            assert r.status_code not in (401, 403) and r.status_code < 500, (token, r.status_code, r.data)
        return

    body_member = body_for(method, path, world, "member")
    body_oper = body_for(method, path, world_b, "operator")
    query = QUERIES.get((method, path[len(API):]))
    if query:
        url_a, url_b = url_a + query(world, "member"), url_b + query(world_b, "operator")
    if ("POST", "/hardware-reservations") == (method, path[len(API):]):
        # an unreserved machine with no device: each world's own enrolled machine
        body_member = {"project_id": tenant.project_id, "machine_id": world.machine_id}
        body_oper = {"project_id": tenant.project_id, "machine_id": world_b.machine_id}

    # (a) no token and (b) a bad token
    for token in (None, "not-a-real-token"):
        r = _call(client, method, url_a, token, body_member)
        assert r.status_code == 401, (token, r.status_code, r.data)
        assert r.json and r.json.get("errors"), r.data
        check_no_leak(r, "anonymous")

    operator_only = is_operator_only(method, path)
    scoped = bool(set(params) & PROJECT_SCOPED_PARAMS)

    expected = EXPECTED.get((method, path[len(API):]), {})
    audited = (method, path[len(API):]) not in NOT_AUDITED

    # (c) a member of another project
    r = _call(client, method, url_a, other_tenant.token, body_member)
    if "other" in expected:
        assert r.status_code == expected["other"], (r.status_code, r.data)
    elif operator_only:
        assert r.status_code == 403, (r.status_code, r.data)
    elif scoped:
        assert r.status_code == 404, f"another project's member got {r.status_code}: {r.data!r}"
    else:
        assert r.status_code < 400 or r.status_code == 409, (r.status_code, r.data)
    check_no_leak(r, "another project's member")

    # (d) a member of the right project
    before = _count_events(database, f"user:{tenant.user_id}")
    r = _call(client, method, url_a, tenant.token, body_member)
    if "member" in expected:
        assert r.status_code == expected["member"], (r.status_code, r.data)
    elif operator_only:
        assert r.status_code == 403, f"operator-only {method} {path} answered a member {r.status_code}"
    else:
        assert r.status_code < 400 or r.status_code == 409, (
            f"member got {r.status_code} {r.data!r}; if {method} {path} is operator-only, add it to OPERATOR_ONLY")
        if method != "GET" and audited:
            assert _count_events(database, f"user:{tenant.user_id}") > before, \
                f"{method} {path} by a member left no audit event"

    # (e) an operator
    before = _count_events(database, f"user:{operator.user_id}")
    r = _call(client, method, url_b, operator.token, body_oper)
    if "operator" in expected:
        assert r.status_code == expected["operator"], (r.status_code, r.data)
        return
    assert r.status_code < 400 or r.status_code == 409, (r.status_code, r.data)
    if method != "GET" and audited:
        assert _count_events(database, f"user:{operator.user_id}") > before, \
            f"{method} {path} by an operator left no audit event"


def test_matrix_covers_the_whole_document():
    """Every operation is in the matrix (it is generated from the document)
    and every operator-only rule still matches something."""
    assert len(OPERATIONS) >= 80
    for m, p in OPERATOR_ONLY:
        assert any(re.fullmatch(m, method) and re.search(p, path) for method, path in OPERATIONS), (m, p)
