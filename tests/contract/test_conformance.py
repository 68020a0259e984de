"""The wire contract, with the official Equinix Metal SDK as the oracle: every operation of the
spec that Ingot implements is called on a live Ingot the way the SDK sends it (its defaults
included), and every answer is decoded with the SDK's own models and checked for fields the model
does not declare (Ingot's own extensions are listed in tests/support/equinix_sdk.py). Operations
SDK 0.19.0 has no method for are sent over HTTP and decoded with the SDK's models too.

The tests of this module share one server and build on each other, in file order; the last one
checks that every implemented operation was called."""
from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
import requests
from equinix.services import metalv1
from equinix.services.metalv1.exceptions import ApiException

from api.routes.unimplemented import normalized, spec_operations
from tests.support.equinix_sdk import decode, undeclared
from tests.support.keys import ssh_public_key
from tests.support.waiting import wait_for

STATE: dict = {}  # what earlier tests of the module made, by name


def _id(href: str) -> str:
    return href.rstrip("/").rsplit("/", 1)[-1]


def _one(wrapped):
    """The model a oneOf answer matched (an IP is a reservation or an assignment)."""
    return wrapped.actual_instance


def _status(fn, *args, **kwargs) -> int:
    with pytest.raises(ApiException) as exc:
        fn(*args, **kwargs)
    return exc.value.status


def test_the_current_user_and_api_keys(member, contract_server):
    me = member.call("find_current_user")
    assert me.email == "demo@ingot.local" and me.href == f"/metal/v1/users/{me.id}"
    me = member.call("update_current_user", metalv1.UserUpdateInput(first_name="Demo", last_name="Tester",
                                                                    timezone="Europe/Amsterdam",
                                                                    customdata={"team": "ops"}))
    assert (me.full_name, me.timezone) == ("Demo Tester", "Europe/Amsterdam")
    assert member.call("find_user_customdata", me.id) is None  # the SDK returns nothing for customdata
    assert any(u.id == me.id for u in member.call("find_users").users)
    assert [u.id for u in member.all_pages("find_users", per_page=1).users] == [me.id]
    assert member.call("find_user_by_id", me.id).email == me.email
    key = member.call("create_api_key", metalv1.AuthTokenInput(description="sdk", read_only=True))
    assert key.token and key.read_only is True and key.user.id == me.id
    assert key.id in [k.id for k in member.call("find_api_keys").api_keys]
    member.call("delete_user_api_key", key.id)  # the path the Go client revokes keys on
    r = requests.get(f"{contract_server.url}/metal/v1/user", headers={"X-Auth-Token": key.token})
    assert r.status_code == 401, "a revoked key must stop working"
    STATE["me"] = me


def test_projects_and_their_links(member):
    project = member.call("create_project", metalv1.ProjectCreateFromRootInput(
        name="contract", customdata={"a": 1}, tags=["sdk"]))
    assert project.organization.href.startswith("/metal/v1/organizations/")
    assert (project.devices, project.ssh_keys, project.type) == ([], [], "default")
    assert project.members == [metalv1.Href(href=STATE["me"].href)]
    assert project.memberships and project.memberships[0].href.startswith("/metal/v1/memberships/")
    assert member.call("find_project_by_id", project.id).name == "contract"
    updated = member.call("update_project", project.id, metalv1.ProjectUpdateInput(name="contract-1",
                                                                                   customdata={"b": 2}))
    assert updated.name == "contract-1" and updated.customdata == {"b": 2}
    assert member.call("find_project_customdata", project.id) is None
    assert project.id in [p.id for p in member.all_pages("find_projects", per_page=1).projects]
    assert member.call("find_projects").meta.total >= 2
    key = member.call("create_project_api_key", project.id, metalv1.AuthTokenInput(description="ci"))
    assert key.project.id == project.id
    assert [k.id for k in member.call("find_project_api_keys", project.id).api_keys] == [key.id]
    member.call("delete_api_key", key.id)
    plans = member.call("find_plans_by_project", project.id).plans
    assert {p.slug for p in plans} == {"sim.small", "sim.large"}
    assert [f.code for f in member.raw("GET", f"/projects/{project.id}/facilities", "FacilityList").facilities] \
        == ["lab1"]
    doomed = member.call("create_project", metalv1.ProjectCreateFromRootInput(name="doomed"))
    member.call("delete_project", doomed.id)
    assert _status(member.call, "find_project_by_id", doomed.id) == 404
    STATE["project"] = project


def test_catalogue_and_capacity(member):
    metros = member.call("find_metros").metros
    assert [m.code for m in metros] == ["lab"]
    assert member.call("get_metro", metros[0].id).code == "lab"
    plans = {p.slug: p for p in member.call("find_plans").plans}
    small = plans["sim.small"]
    assert small.deployment_types == ["on_demand"]
    assert [(a.href, a.price.hour) for a in small.available_in_metros] == [(metros[0].href, 0.1)]
    assert len(small.available_in) == 1 and small.available_in[0].href.startswith("/metal/v1/facilities/")
    oses = member.call("find_operating_systems").operating_systems
    assert {o.slug for o in oses} == {"ubuntu_24_04", "debian_12", "custom_ipxe"}
    assert {o.slug for o in member.call("find_operating_system_version").operating_systems} == {o.slug for o in oses}
    facilities = member.raw("GET", "/facilities", "FacilityList").facilities
    assert [(f.code, f.metro.code) for f in facilities] == [("lab1", "lab")]
    by_metro = member.call("find_capacity_for_metro").capacity
    assert by_metro["lab"]["sim.small"].available_servers == 6 and by_metro["lab"]["sim.small"].level == "normal"
    assert by_metro["lab"]["sim.large"].level == "limited"
    by_facility = member.call("find_capacity_for_facility").capacity
    assert by_facility["lab1"]["sim.small"].available_servers == 6
    check = member.call("check_capacity_for_metro", metalv1.CapacityInput(servers=[
        metalv1.ServerInfo(metro="lab", plan="sim.small", quantity="6"),
        metalv1.ServerInfo(metro="lab", plan="sim.large", quantity="3")]))
    assert [s.available for s in check.servers] == [True, False]
    check = member.raw("POST", "/capacity", "CapacityCheckPerFacilityList",
                       json={"servers": [{"facility": "lab1", "plan": "sim.small", "quantity": 1}]})
    assert check.servers[0].available is True and check.servers[0].quantity == "1"


def test_ssh_keys(member):
    project = STATE["project"]
    mine = member.call("create_ssh_key", metalv1.SSHKeyCreateInput(label="laptop", key=ssh_public_key()))
    assert mine.entity.href == STATE["me"].href
    assert member.call("find_ssh_key_by_id", mine.id).fingerprint == mine.fingerprint
    assert member.call("update_ssh_key", mine.id, metalv1.SSHKeyInput(label="desk")).label == "desk"
    theirs = member.call("create_project_ssh_key", project.id, metalv1.SSHKeyCreateInput(
        label="project", key=ssh_public_key()))
    assert theirs.entity.href == project.href
    assert [k.id for k in member.call("find_project_ssh_keys", project.id).ssh_keys] == [theirs.id]
    assert {mine.id, theirs.id} <= {k.id for k in member.call("find_ssh_keys").ssh_keys}
    member.call("delete_ssh_key", mine.id)
    STATE["project_key"] = theirs


def test_devices_and_addresses(member, contract_server):
    project = STATE["project"]
    d = member.call("create_device", project.id, metalv1.CreateDeviceRequest(metalv1.DeviceCreateInMetroInput(
        metro=metalv1.MetroInputMetro("lab"), plan="sim.small", operating_system="ubuntu_24_04", hostname="c-1",
        userdata="#cloud-config\n", customdata={"role": "web"}, tags=["web"],
        termination_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1),
        ip_addresses=[metalv1.IPAddress(address_family=4, public=False)])))
    assert d.facility.code == "lab1" and d.created_by.id == STATE["me"].id and d.termination_time
    assert [(a.address_family, a.public) for a in d.ip_addresses] == [(4, False)]  # private only
    assert d.ssh_keys == [metalv1.Href(href=STATE["project_key"].href)]
    assert d.sos == "127.0.0.1" and d.user == "root" and d.spot_instance is False
    wait_for(lambda: member.call("find_device_by_id", d.id).state == "active", timeout=180, interval=0.5,
             message="device active")
    got = member.call("find_device_by_id", d.id)
    assert got.provisioning_events and got.provisioning_events[0].href.startswith("/metal/v1/events/")
    assert [k.id for k in member.call("find_device_ssh_keys", d.id).ssh_keys] == [STATE["project_key"].id]
    assert member.call("find_device_userdata_by_id", d.id).userdata == "#cloud-config\n"
    assert member.call("find_device_customdata", d.id) is None
    health = member.call("get_device_health_rollup", d.id)   # from the machine's last BMC health read
    assert health.health_rollup in ("ok", "warning", "critical")
    meta = member.call("find_device_metadata_by_id", d.id)
    assert (meta.hostname, meta.facility, meta.metro) == ("c-1", "lab1", "lab")
    assert [dev.id for dev in member.all_pages("find_project_devices", project.id, per_page=1).devices] == [d.id]
    org_id = _id(project.organization.href)
    assert member.call("find_organization_devices", org_id).meta.total >= 1
    assert d.id in [dev.id for dev in member.all_pages("find_organization_devices", org_id, per_page=1).devices]
    member.call("perform_action", d.id, metalv1.DeviceActionInput(type="power_off"))
    member.call("update_device", d.id, metalv1.DeviceUpdateInput(description="contract", tags=["web", "x"]))
    events = member.call("find_device_events", d.id).events
    assert events and member.call("find_event_by_id", events[0].id).id == events[0].id
    assert member.call("find_project_events", project.id).events
    assert member.call("find_events").meta.total >= len(events)
    STATE["device"] = d

    block = _one(member.call("request_ip_reservation", project.id, metalv1.RequestIPReservationRequest(
        metalv1.IPReservationRequestInput(type="public_ipv4", metro="lab", quantity=4, details="vip",
                                          customdata={"k": "v"}, tags=["lb"]))))
    assert (block.details, block.cidr, block.metro.code, block.state) == ("vip", 30, "lab", "created")
    assert member.call("find_ip_reservation_customdata", project.id, block.id) is None
    a = member.call("create_ip_assignment", d.id, metalv1.IPAssignmentInput(address=f"{block.address}/32",
                                                                           customdata={"x": 1}))
    assert a.parent_block.href == block.href and a.assigned_to.href == d.href
    listed = member.call("find_ip_assignments", d.id).ip_addresses
    assert a.id in [x.id for x in listed]
    assert member.call("find_ip_assignment_customdata", d.id, a.id) is None
    got = _one(member.call("find_ip_address_by_id", block.id))
    assert [x.href for x in got.assignments] == [a.href]
    assert _one(member.call("find_ip_address_by_id", a.id)).address == a.address
    changed = member.call("update_ip_address", block.id, ip_assignment_update_input=metalv1.IPAssignmentUpdateInput(
        details="vip-2", tags=["lb", "x"]))
    assert _one(changed).details == "vip-2"
    assert member.call("find_ip_address_customdata", block.id) is None
    reservations = member.call("find_ip_reservations", project.id, types=["public_ipv4"]).ip_addresses
    assert [_one(r).id for r in reservations] == [block.id]
    member.call("delete_ip_address", a.id)
    member.call("delete_ip_address", block.id)
    member.call("validate_userdata", userdata="#cloud-config\npackages: [nginx]\n")
    assert _status(member.call, "validate_userdata", userdata="#cloud-config\n[: nope") == 422


def test_hardware_reservations(member, operator, contract_server):
    machines = requests.get(f"{contract_server.url}/metal/v1/machines?plan=sim.large",
                            headers={"X-Auth-Token": contract_server.operator_token}).json()["machines"]
    r = requests.post(f"{contract_server.url}/metal/v1/hardware-reservations",
                      headers={"X-Auth-Token": contract_server.operator_token},
                      json={"project_id": STATE["project"].id, "machine_id": machines[0]["id"]})
    assert r.status_code == 201, r.text
    listed = member.call("find_project_hardware_reservations", STATE["project"].id).hardware_reservations
    assert [h.id for h in listed] == [r.json()["id"]]
    assert member.call("find_hardware_reservation_by_id", listed[0].id).plan.slug == "sim.large"


def test_batches(member):
    project = STATE["project"]
    made = member.call("create_device_batch", project.id, metalv1.InstancesBatchCreateInput(batches=[
        metalv1.InstancesBatchCreateInputBatchesInner(
            metro=metalv1.MetroInputMetro("lab"), plan="sim.small", operating_system="debian_12", hostnames=["b-1"],
            quantity=1),
        metalv1.InstancesBatchCreateInputBatchesInner(
            metro=metalv1.MetroInputMetro("lab"), plan="no.such.plan", operating_system="debian_12", quantity=1)]))
    ok, failed = made.batches
    assert (ok.state, len(ok.devices), failed.state, failed.devices) == ("completed", 1, "failed", [])
    assert failed.error_messages == ["plan: unknown plan 'no.such.plan'"]
    assert {b.id for b in member.call("find_batches_by_project", project.id).batches} == {ok.id, failed.id}
    assert member.call("find_batch_by_id", ok.id).devices == ok.devices
    member.call("delete_batch", ok.id, remove_associated_instances=True)
    device = member.call("find_device_by_id", _id(ok.devices[0].href))
    assert device.state == "deprovisioning"
    member.call("delete_batch", failed.id)
    assert _status(member.call, "find_batch_by_id", ok.id) == 404


def test_organizations(member, operator):
    orgs = member.call("find_organizations").organizations
    default = orgs[0]
    assert STATE["project"].href in [p.href for p in default.projects]
    assert member.all_pages("find_organizations", per_page=1).organizations[0].id == default.id
    assert member.call("find_organization_by_id", default.id).name == default.name
    renamed = operator.call("update_organization", default.id, metalv1.OrganizationInput(
        name="Example Cloud", website="https://example.com"))
    assert renamed.name == "Example Cloud"
    assert _status(member.call, "update_organization", default.id, metalv1.OrganizationInput(name="x")) == 403
    assert member.call("find_organization_customdata", default.id) is None
    assert {p.id for p in member.call("find_organization_projects", default.id).projects} >= {STATE["project"].id}
    made = member.call("create_organization_project", default.id, metalv1.ProjectCreateInput(name="in-org"))
    assert made.organization.href == default.href
    assert {p.slug for p in member.call("find_plans_by_organization", default.id).plans} == {"sim.small", "sim.large"}
    assert member.call("find_operating_systems_by_organization", default.id).operating_systems
    assert member.raw("GET", f"/organizations/{default.id}/facilities", "FacilityList").facilities
    assert member.call("find_organization_capacity_per_metro", default.id).capacity["lab"]
    assert member.raw("GET", f"/organizations/{default.id}/capacity", "CapacityList").capacity["lab1"]
    assert member.call("find_organization_events", default.id).events
    other = operator.raw("POST", "/organizations", "Organization", status=201,
                         json={"name": "Second", "address": {"city": "Amsterdam", "country": "NL"}})
    assert other.address.city == "Amsterdam"
    assert _status(member.call, "find_organization_by_id", other.id) == 404  # another organization's: 404
    operator.call("delete_organization", other.id)
    STATE["organization"] = default


def test_memberships_and_invitations(member, newcomer, operator):
    project, org = STATE["project"], STATE["organization"]
    invitation = member.call("create_project_invitation", project.id, metalv1.InvitationInput(
        invitee=newcomer.email, roles=["collaborator"]))
    assert invitation.projects == [metalv1.Href(href=project.href)] and invitation.organization.href == org.href
    assert [i["id"] for i in _raw_list(member, f"/projects/{project.id}/invitations")] == [invitation.id]
    member.call("find_project_invitations", project.id)
    member.call("find_organization_invitations", org.id)
    assert newcomer.call("find_invitation_by_id", invitation.id).invitee == newcomer.email
    assert [i["id"] for i in _raw_list(newcomer, "/invitations")] == [invitation.id]
    newcomer.call("find_invitations")
    membership = newcomer.call("accept_invitation", invitation.id)
    assert membership.roles == ["collaborator"] and membership.project.href == project.href
    assert newcomer.call("find_project_by_id", project.id).id == project.id
    listed = member.call("find_project_memberships", project.id).memberships
    assert {m.id for m in listed} >= {membership.id}
    assert member.call("find_membership_by_id", membership.id).user.href.endswith(_id(membership.user.href))
    assert member.call("update_membership", membership.id, metalv1.MembershipInput(role=["admin"])).roles == ["admin"]
    assert _status(newcomer.call, "update_membership", listed[0].id, metalv1.MembershipInput(role=["billing"])) \
        in (403, 409)
    second = member.call("create_organization_invitation", org.id, metalv1.InvitationInput(
        invitee="someone@example.com", projects_ids=[project.id], roles=["admin"]))
    member.call("decline_invitation", second.id)  # revoked by the project's owner
    member.call("delete_membership", membership.id)
    assert _status(newcomer.call, "find_project_by_id", project.id) == 404


def _raw_list(client, path: str) -> list:
    """An invitation list as JSON (the spec types its items as Membership; see SPEC_TYPES)."""
    r = requests.get(f"{client.base_url}/metal/v1{path}", headers={"X-Auth-Token": client.token}, timeout=30)
    assert r.status_code == 200, r.text
    decode("InvitationList", r.json())
    return r.json()["invitations"]


def _operator(contract_server, path: str, body: dict) -> dict:
    """An operator's set-up call (Ingot's own endpoints: no SDK model)."""
    r = requests.post(f"{contract_server.url}/metal/v1{path}", json=body,
                      headers={"X-Auth-Token": contract_server.operator_token}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def _wait_batches_done(member, port_id: str) -> list:
    """The port's assignment batches once the engine has carried every one out (none queued or in progress)."""
    def done():
        batches = member.call("find_port_vlan_assignment_batches", port_id).batches
        return batches if all(b.state in ("completed", "failed") for b in batches) else None
    return wait_for(done, timeout=120, interval=0.5, message="port changes carried out")


def test_elastic_ips_and_bgp(member, contract_server, tmp_path):
    project, d = STATE["project"], STATE["device"]
    # the operator's side: an ASN range for local BGP, a global range for the project, and the metro's router
    # (its FRR is not running: the sessions' status stays as last read, which is what a user sees)
    _operator(contract_server, "/bgp-asn-ranges", {"first": 4200000000, "last": 4200000009})
    _operator(contract_server, "/global-bgp-ranges", {"project_id": project.id, "range": "198.51.100.0/24"})
    _operator(contract_server, "/routers", {"metro": "lab", "driver": "frr", "address": "local", "asn": 65530,
                                            "peer_ipv4": ["192.0.2.1"],
                                            "options": {"vty_socket": str(tmp_path / "no-frr")}})
    block = _one(member.call("request_ip_reservation", project.id, metalv1.RequestIPReservationRequest(
        metalv1.IPReservationRequestInput(type="public_ipv4", metro="lab", quantity=4, details="lb"))))
    free = member.call("find_ip_availabilities", block.id, cidr="32").available
    assert len(free) == 4 and f"{block.address}/32" in free
    a = member.call("create_ip_assignment", d.id, metalv1.IPAssignmentInput(address=free[1]))
    left = member.call("find_ip_availabilities", block.id, cidr="32").available
    assert free[1] not in left and len(left) == 3
    pairs = list(ipaddress.ip_network(f"{block.network}/30").subnets(new_prefix=31))
    assert member.call("find_ip_availabilities", block.id, cidr="31").available == [str(pairs[1])]  # .1 is used

    assert _status(member.call, "find_bgp_config_by_project", project.id) == 404
    with pytest.raises(ApiException) as early:  # a session needs the project's BGP config first
        member.call("create_bgp_session", d.id, metalv1.BGPSessionInput(address_family="ipv4"))
    assert early.value.status == 422 and "address_family: the project has no BGP config" in early.value.body
    assert member.call("request_bgp_config", project.id, metalv1.BgpConfigRequestInput(
        deployment_type="local", asn=4200000001, md5="Secret1234abc", use_case="LoadBalancers")) is None
    config = member.call("find_bgp_config_by_project", project.id)
    assert (config.asn, config.deployment_type, config.status, config.md5) == (4200000001, "local", "enabled",
                                                                              "Secret1234abc")
    assert [r.range for r in member.call("find_global_bgp_ranges", project.id).global_bgp_ranges] \
        == ["198.51.100.0/24"]
    bs = member.call("create_bgp_session", d.id, metalv1.BGPSessionInput(address_family="ipv4"))
    assert (bs.address_family, bs.default_route, bs.device.href) == ("ipv4", False, d.href)
    with pytest.raises(ApiException) as twice:
        member.call("create_bgp_session", d.id, metalv1.BGPSessionInput(address_family="ipv4"))
    assert twice.value.status == 422 and "already has session" in twice.value.body
    assert [s.id for s in member.call("find_bgp_sessions", d.id).bgp_sessions] == [bs.id]
    assert [s.id for s in member.call("find_project_bgp_sessions", project.id).bgp_sessions] == [bs.id]
    assert member.call("update_bgp_session", bs.id, True) is None  # the SDK reads no answer
    got = member.call("find_bgp_session_by_id", bs.id)
    assert got.default_route is True and got.status in ("unknown", "down")
    [n] = member.call("get_bgp_neighbor_data", d.id).bgp_neighbors
    assert (n.address_family, n.customer_as, n.peer_as, n.peer_ips, n.md5_password) == (
        4, 4200000001, 65530, ["192.0.2.1"], "Secret1234abc")
    assert n.customer_ip == _one(member.call("find_ip_address_by_id", _id(d.ip_addresses[0].href))).address
    assert {(r.route, r.exact) for r in n.routes_in} >= {(f"{block.network}/30", False)}
    assert [(r.route, r.exact) for r in n.routes_out] == [("0.0.0.0/0", True)]
    member.call("delete_bgp_session", bs.id)
    assert _status(member.call, "find_bgp_session_by_id", bs.id) == 404
    assert member.call("find_bgp_sessions", d.id).bgp_sessions == []
    member.call("delete_ip_address", a.id)
    member.call("delete_ip_address", block.id)


def test_virtual_networks_and_ports(member, contract_server):
    project, d = STATE["project"], STATE["device"]
    _operator(contract_server, "/vlan-ranges", {"metro": "lab", "first": 1000, "last": 1009})
    vn = member.call("create_virtual_network", project.id, metalv1.VirtualNetworkCreateInput(
        metro="lab", description="backend", tags=["k8s"]))
    assert (vn.vxlan, vn.metro_code, vn.assigned_to.id, vn.instances) == (1000, "lab", project.id, [])
    assert member.call("get_virtual_network", vn.id).description == "backend"
    vn = member.call("update_virtual_network", vn.id, metalv1.VirtualNetworkUpdateInput(description="pods"))
    assert vn.description == "pods"
    assert [v.id for v in member.call("find_virtual_networks", project.id, metro="lab").virtual_networks] == [vn.id]
    spare = member.call("create_virtual_network", project.id, metalv1.VirtualNetworkCreateInput(metro="lab",
                                                                                              vxlan=1005))
    assert spare.vxlan == 1005

    ports = {p.name: p for p in member.call("find_device_by_id", d.id).network_ports}
    bond0, eth0 = ports["bond0"], ports["eth0"]
    port = member.call("find_port_by_id", bond0.id)
    assert (port.type, port.network_type, port.data.bonded) == ("NetworkBondPort", "layer3", True)
    port = member.call("assign_port", bond0.id, metalv1.PortAssignInput(vnid=vn.id))
    assert [v.id for v in port.virtual_networks] == [vn.id] and port.network_type == "hybrid-bonded"
    [batch] = _wait_batches_done(member, bond0.id)
    assert member.call("find_port_vlan_assignment_batch_by_port_id_and_batch_id", bond0.id, batch.id).state \
        == "completed"
    [assignment] = member.call("find_port_vlan_assignments", bond0.id).vlan_assignments
    assert (assignment.vlan, assignment.state, assignment.native) == (1000, "assigned", False)
    one = member.call("find_port_vlan_assignment_by_port_id_and_assignment_id", bond0.id, assignment.id)
    assert one.virtual_network.href == vn.href and one.port.href == bond0.href
    assert [i.id for i in member.call("get_virtual_network", vn.id).instances] == [d.id]
    with pytest.raises(ApiException) as busy:  # a VLAN in use cannot be deleted
        member.call("delete_virtual_network", vn.id)
    assert busy.value.status == 422 and "assigned to ports (bond0)" in busy.value.body
    port = member.call("unassign_port", bond0.id, metalv1.PortAssignInput(vnid=str(vn.vxlan)))
    assert port.virtual_networks == [] and port.network_type == "layer3"
    made = member.call("create_port_vlan_assignment_batch", bond0.id, metalv1.PortVlanAssignmentBatchCreateInput(
        vlan_assignments=[metalv1.PortVlanAssignmentBatchCreateInputVlanAssignmentsInner(vlan="1000",
                                                                                         state="assigned")]))
    assert made.quantity == 1 and made.state in ("queued", "in_progress", "completed")
    assert {b.state for b in _wait_batches_done(member, bond0.id)} == {"completed"}

    # layer 2: the device's addresses go; a native VLAN; the NICs out of the bond and back
    port = member.call("convert_layer2", bond0.id, metalv1.PortAssignInput())
    assert port.network_type == "layer2-bonded" and [v.id for v in port.virtual_networks] == [vn.id]
    assert member.call("find_device_by_id", d.id).ip_addresses == []
    port = member.call("assign_native_vlan", bond0.id, vnid=str(vn.vxlan))
    assert port.native_virtual_network.id == vn.id
    assert member.call("delete_native_vlan", bond0.id).native_virtual_network is None
    port = member.call("unassign_port", bond0.id, metalv1.PortAssignInput(vnid=vn.id))
    assert port.virtual_networks == []
    port = member.call("disbond_port", bond0.id, bulk_disable=True)
    assert port.network_type == "layer2-individual"
    assert member.call("find_port_by_id", eth0.id).data.bonded is False
    port = member.call("bond_port", bond0.id, bulk_enable=True)
    assert port.network_type == "layer2-bonded" and member.call("find_port_by_id", eth0.id).data.bonded is True
    private_v4 = metalv1.PortConvertLayer3InputRequestIpsInner(address_family=4, public=False)
    port = member.call("convert_layer3", bond0.id,
                       port_convert_layer3_input=metalv1.PortConvertLayer3Input(request_ips=[private_v4]))
    assert port.network_type == "layer3"
    assert [(a.address_family, a.public) for a in member.call("find_device_by_id", d.id).ip_addresses] \
        == [(4, False)]
    assert {b.state for b in _wait_batches_done(member, bond0.id)} == {"completed"}
    member.call("delete_virtual_network", vn.id)
    member.call("delete_virtual_network", spare.id)
    assert _status(member.call, "get_virtual_network", vn.id) == 404
    assert member.call("find_virtual_networks", project.id).virtual_networks == []


def test_device_is_deleted(member):
    d = STATE["device"]
    member.call("delete_device", d.id)
    url = f"{member.base_url}/metal/v1/devices/{d.id}"
    wait_for(lambda: requests.get(url, headers={"X-Auth-Token": member.token}, timeout=30).status_code == 404,
             timeout=180, interval=0.5, message="device deleted")


def test_unimplemented_operations_answer_a_json_501(member, contract_server):
    """Every operation of the spec Ingot does not serve is a JSON 501 naming it."""
    doc = requests.get(f"{contract_server.url}/metal/v1/openapi.json", timeout=30).json()
    served = {(m.upper(), normalized(p[len("/metal/v1"):])) for p, ops in doc["paths"].items() for m in ops}
    missing = [op for op in spec_operations() if (op["method"], normalized(op["path"])) not in served]
    assert 0 < len(missing) <= len(spec_operations()) - 90
    for op in missing:
        url = contract_server.url + "/metal/v1" + op["path"].replace("{", "x-").replace("}", "")
        r = requests.request(op["method"], url, headers={"X-Auth-Token": member.token}, json={}, timeout=30)
        assert (r.status_code, r.json()) == (501, {"errors": [f"{op['operation_id']} is not implemented by Ingot"]}), \
            (op, r.status_code, r.text)


def test_doubled_slashes_are_served_not_redirected(member, contract_server):
    # inside the path, and at its start (a request line "GET //metal/v1/…": an empty first segment, which
    # the HTTP server must not take for a host)
    for path in (f"/metal/v1//projects//{STATE['project'].id}", f"//metal/v1/projects/{STATE['project'].id}"):
        r = requests.get(f"{contract_server.url}{path}", headers={"X-Auth-Token": member.token},
                         allow_redirects=False, timeout=30)
        assert r.status_code == 200 and r.json()["id"] == STATE["project"].id, (path, r.status_code, r.text[:200])
        assert not undeclared(r.json(), metalv1.Project.from_dict(r.json()))


def test_every_implemented_operation_was_called(called, contract_server):
    if len(called) < 20:
        pytest.skip("the module's other tests did not run")
    doc = requests.get(f"{contract_server.url}/metal/v1/openapi.json", timeout=30).json()
    served = {(m.upper(), normalized(p[len("/metal/v1"):])) for p, ops in doc["paths"].items() for m in ops}
    implemented = {(op["method"], normalized(op["path"])) for op in spec_operations()} & served
    assert implemented - called == set(), f"implemented but not exercised: {sorted(implemented - called)}"
    assert len(implemented) >= 90

