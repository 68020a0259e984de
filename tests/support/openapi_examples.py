"""The OpenAPI document's examples (``api/routes/examples.json``, by view name): every example request is run
against a fresh demo installation, in process; the bodies are kept as they were accepted and the creates'
answers as they came (tokens and passwords replaced by made-up ones). Bodies of operations a demo cannot run
as they are (a machine's own reports, a discovered machine) are written by hand below; the tests load them
through their schemas.

    python -m tests.support.openapi_examples    # rewrites api/routes/examples.json
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from api.app import create_app
from api.core.config import Settings
from api.services import demo
from api.services.migrate import upgrade
from tests.support.clients import API

EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "api" / "routes" / "examples.json"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKk2Sa0ujJYU9d3OAZ4vjXP1a2ZNj4N4nmSgJ6c9CR8Z alice@laptop"
MADE_UP = {"token": "ZXhhbXBsZS10b2tlbi1zaG93bi1vbmNlLWtlZXAtaXQ", "root_password": "example-root-password"}

HAND_WRITTEN = {
    "update_membership": {"role": ["admin"]},
    "accept_machine": {"hostname": "r2-u07", "plan": "sim.small"},
    "device_action": {"type": "reinstall", "operating_system": "debian_12"},
    # query arguments in the spec, which older clients (packet-python) send as a body
    "bond_port": {"bulk_enable": True},
    "disbond_port": {"bulk_disable": True},
    "inspection_report": {
        "cpus": 8, "memory_mib": 16384,
        "disks": [{"name": "nvme0n1", "size_bytes": 512110190592, "size_gb": 512.1, "type": "nvme",
                   "model": "Samsung SSD 980 PRO 512GB"}],
        "nics": [{"name": "eth0", "mac": "52:54:00:12:34:56", "carrier": True}],
        "serial": "CZ2151ABCD", "vendor": "HPE", "model": "ProLiant DL20 Gen10",
        "bmc": {"address": "10.20.0.57", "source": "ipmitool lan print"}, "boot_mac": "52:54:00:12:34:56"},
    "discovery_lease": {"action": "add", "mac": "b8:ce:f6:aa:bb:cc", "ip": "10.20.0.58",
                        "hostname": "ILO-CZ2151ABCE", "vendor_class": ""},
    "report_lldp": {"token": MADE_UP["token"], "frames": [{
        "mac": "52:54:00:12:34:56",  # from lab-sw1 (chassis b8:ce:f6:00:00:30), port swp3
        "frame": "0180c200000eb8cef600003088cc020704b8cef600003004050573777033060200780a076c61622d7377310000"}]},
    "bulk_enroll_file": {"file": "- hostname: r1-u13\n  metro: fr2\n  plan: m3.large.x86\n  bmc:\n"
                                 "    driver: redfish\n    address: https://10.20.0.13\n    username: admin\n"
                                 "    password: bmc-secret\n  nics:\n    - {mac: 'b8:ce:f6:12:34:58', name: eth0}\n"},
}


class Recorder:
    """Runs requests as the demo's member or operator; keeps each named body and 201 answer."""

    def __init__(self):
        app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="ingot-examples-"), secret_key="examples"))
        database = app.extensions["ingot.db"]
        upgrade(database.engine)
        with database.Session() as s:
            tokens = demo.seed(s, app.extensions["ingot.secrets"], app.config["INGOT"].data_dir)
        self.client = app.test_client()
        self.member = {"X-Auth-Token": tokens["member_token"]}
        self.operator = {"X-Auth-Token": tokens["operator_token"]}
        self.project_id = tokens["project_id"]
        self.requests: dict = {}
        self.created: dict = {}

    def __call__(self, name: str | None, method: str, path: str, body: dict | None, *, operator: bool = False):
        """The answer of ``method path`` with ``body``; raises AssertionError unless it is a 2xx."""
        r = self.client.open(API + path, method=method, json=body,
                             headers=self.operator if operator else self.member)
        assert r.status_code < 300, f"{name}: {method} {path} -> {r.status_code} {r.get_data(as_text=True)}"
        if name:
            self.requests[name] = body
            if r.status_code == 201:
                self.created[name] = {k: MADE_UP.get(k, v) if v else v for k, v in r.get_json().items()}
        return r.get_json() if r.status_code != 204 else None


def record() -> dict:
    """Every example, ``{"requests": {view: body}, "created": {view: answer}}``."""
    run = Recorder()
    pid = run.project_id
    run("update_user", "PUT", "/user", {"first_name": "Alice", "last_name": "Martin", "timezone": "Europe/Paris"})
    run("create_user_key", "POST", "/user/api-keys", {"description": "CI pipeline", "read_only": True})
    run("create_project_key", "POST", f"/projects/{pid}/api-keys", {"description": "Terraform", "read_only": False})
    project = run("create_project", "POST", "/projects",
                  {"name": "web-prod", "tags": ["web"], "customdata": {"team": "web"}})
    run("update_project", "PUT", f"/projects/{project['id']}",
        {"name": "web-production", "customdata": {"team": "web", "oncall": "alice"}})
    key = run("create_key", "POST", "/ssh-keys", {"label": "laptop", "key": KEY})
    run("create_project_key_ssh", "POST", f"/projects/{pid}/ssh-keys",
        {"label": "deploy", "key": KEY.replace("alice@laptop", "deploy@ci")})
    run("update_key", "PATCH", f"/ssh-keys/{key['id']}", {"label": "old laptop"})
    # the catalogue and the fleet (operator)
    metro = run("create_metro", "POST", "/locations/metros", {"code": "fr2", "name": "Frankfurt 2", "country": "DE"},
                operator=True)
    run("update_metro", "PATCH", f"/locations/metros/{metro['id']}", {"name": "Frankfurt, hall 2"}, operator=True)
    facility = run("create_facility", "POST", "/facilities", {"code": "fr2a", "name": "Frankfurt 2, room A",
                                                              "metro": "fr2", "features": ["baremetal"]}, operator=True)
    run("update_facility", "PATCH", f"/facilities/{facility['id']}", {"features": ["baremetal", "layer2"]},
        operator=True)
    plan = run("create_plan", "POST", "/plans", {
        "slug": "m3.large.x86", "name": "m3.large.x86", "description": "32 cores, 256 GB, 2 x 3.8 TB NVMe",
        "specs": {"cpus": [{"count": 1, "type": "AMD EPYC 7502P 32-Core"}], "memory": {"total": "256GB"},
                  "drives": [{"count": 2, "size": "3.8TB", "type": "NVMe"}]},
        "match": {"cpus": {"min": 32}, "memory_mib": {"min": 250000}, "disk_count": 2}, "price_hour": 3.1},
        operator=True)
    run("update_plan", "PATCH", f"/plans/{plan['id']}", {"price_hour": 2.9}, operator=True)
    os_row = run("create_operating_system", "POST", "/operating-systems", {
        "slug": "rocky_9", "name": "Rocky Linux 9", "distro": "rocky", "version": "9", "install_method": "image",
        "image_url": "https://images.example.com/rocky-9.raw.xz", "image_format": "xz", "default_user": "rocky"},
        operator=True)
    run("update_operating_system", "PATCH", f"/operating-systems/{os_row['id']}",
        {"provisionable_on": ["m3.large.x86"]}, operator=True)
    pool = run("create_ip_pool", "POST", "/ip-pools", {"metro": "fr2", "type": "public_ipv4", "cidr": "198.51.100.0/24",
                                                       "gateway": "198.51.100.1", "description": "transit A"},
               operator=True)
    run("update_ip_pool", "PATCH", f"/ip-pools/{pool['id']}", {"description": "transit A (rack 1-4)"}, operator=True)
    machine = run("enroll_machine", "POST", "/machines", {
        "hostname": "r1-u12", "metro": "fr2", "plan": "m3.large.x86",
        "bmc": {"driver": "redfish", "address": "https://10.20.0.12", "username": "admin", "password": "bmc-secret",
                "options": {"verify_tls": False}},
        "nics": [{"mac": "b8:ce:f6:12:34:56", "name": "eth0"}, {"mac": "b8:ce:f6:12:34:57", "name": "eth1"}]},
        operator=True)
    run("update_machine", "PATCH", f"/machines/{machine['id']}", {"hostname": "r1-u12-fr2"}, operator=True)
    run("maintenance_on", "POST", f"/machines/{machine['id']}/maintenance", {"reason": "replacing a failed DIMM"},
        operator=True)
    run(None, "DELETE", f"/machines/{machine['id']}/maintenance", None, operator=True)
    run("machine_action", "POST", f"/machines/{machine['id']}/actions", {"type": "inspect"}, operator=True)
    reservation = run("create_reservation", "POST", "/hardware-reservations",
                      {"project_id": pid, "machine_id": machine["id"]}, operator=True)
    run("update_reservation", "PATCH", f"/hardware-reservations/{reservation['id']}", {"provisionable": False},
        operator=True)
    run("update_provisioning_network", "PATCH", f"/locations/metros/{metro['id']}/provisioning-network",
        {"unknown_mac_discovery": True, "auto_accept": True, "auto_accept_plans": ["m3.large.x86"],
         "wol_broadcast": "10.20.255.255"}, operator=True)
    # a tenant's devices, addresses and capacity
    device = run("create_device", "POST", f"/projects/{pid}/devices", {
        "hostname": "web-1", "plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04",
        "userdata": "#cloud-config\npackages: [nginx]\n", "tags": ["web"], "customdata": {"role": "frontend"}})
    run("update_device", "PATCH", f"/devices/{device['id']}", {"description": "front end, blue", "locked": True})
    block = run("reserve", "POST", f"/projects/{pid}/ips", {"type": "public_ipv4", "metro": "lab", "quantity": 4,
                                                           "tags": ["vip"], "details": "load balancer addresses"})
    run("update_ip", "PATCH", f"/ips/{block['id']}", {"details": "load balancer addresses (blue)",
                                                     "tags": ["vip", "blue"]})
    prefix, last = block["network"].rsplit(".", 1)
    run("attach_ip", "POST", f"/devices/{device['id']}/ips", {"address": f"{prefix}.{int(last) + 1}"})
    run("create_batch", "POST", f"/projects/{pid}/devices/batch", {"batches": [{
        "hostnames": ["web-2", "web-3"], "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "tags": ["web"]}]})
    run("check_metro_capacity", "POST", "/capacity/metros",
        {"servers": [{"metro": "lab", "plan": "sim.small", "quantity": 2}]})
    run("check_facility_capacity", "POST", "/capacity",
        {"servers": [{"facility": "lab1", "plan": "sim.large", "quantity": 1}]})
    # the provider's network (operator), then a tenant's BGP, VLANs and ports on the device web-1
    vlans = run("create_vlan_range", "POST", "/vlan-ranges",
                {"metro": "lab", "first": 1000, "last": 1999, "description": "tenant VLANs"}, operator=True)
    run("update_vlan_range", "PATCH", f"/vlan-ranges/{vlans['id']}", {"description": "tenant VLANs, racks 1-4"},
        operator=True)
    asns = run("create_asn_range", "POST", "/bgp-asn-ranges", {"first": 65000, "last": 65099,
                                                              "description": "local BGP"}, operator=True)
    run("update_asn_range", "PATCH", f"/bgp-asn-ranges/{asns['id']}", {"description": "local BGP of tenants"},
        operator=True)
    switch = run("create_switch", "POST", "/switches", {
        "name": "lab-sw1", "metro": "lab", "driver": "linux", "address": "ssh://10.20.0.2", "username": "ingot",
        "password": "switch-secret", "uplinks": ["swp48"], "options": {"bridge": "br0", "l3_vlan": 1, "sudo": True},
        "description": "top of rack 1"}, operator=True)
    run("update_switch", "PATCH", f"/switches/{switch['id']}", {"uplinks": ["swp47", "swp48"]}, operator=True)
    router = run("create_router", "POST", "/routers", {
        "metro": "lab", "driver": "frr", "address": "ssh://10.20.0.1", "username": "ingot",
        "password": "router-secret", "asn": 65530, "peer_ipv4": ["203.0.113.1"], "options": {"sudo": True},
        "description": "edge router"}, operator=True)
    run("update_router", "PATCH", f"/routers/{router['id']}", {"peer_ipv6": ["2001:db8:66::1"]}, operator=True)
    run("grant_global_range", "POST", "/global-bgp-ranges", {"project_id": project["id"], "range": "192.0.2.0/24"},
        operator=True)
    run("request_bgp_config", "POST", f"/projects/{pid}/bgp-configs",
        {"deployment_type": "local", "asn": 65000, "md5": "Ex4mpleMd5Pass", "use_case": "MetalLB"})
    bgp = run("create_bgp_session", "POST", f"/devices/{device['id']}/bgp/sessions",
              {"address_family": "ipv4", "default_route": False})
    run("update_bgp_session", "PUT", f"/bgp/sessions/{bgp['id']}", True)
    storage = run("create_vlan", "POST", f"/projects/{pid}/virtual-networks",
                  {"metro": "lab", "description": "storage network", "tags": ["storage"]})
    run("update_vlan", "PATCH", f"/virtual-networks/{storage['id']}",
        {"description": "storage network (iSCSI)", "tags": ["storage", "iscsi"]})
    backup = run(None, "POST", f"/projects/{pid}/virtual-networks", {"metro": "lab", "vxlan": 1042})
    bond0 = run(None, "GET", f"/devices/{device['id']}", None)["network_ports"][0]["id"]
    run("assign_port", "POST", f"/ports/{bond0}/assign", {"vnid": storage["vxlan"]})
    run("create_port_batch", "POST", f"/ports/{bond0}/vlan-assignments/batches", {"vlan_assignments": [
        {"vlan": backup["vxlan"], "state": "assigned"}, {"vlan": storage["id"], "state": "unassigned"}]})
    run("unassign_port", "POST", f"/ports/{bond0}/unassign", {"vnid": backup["id"]})
    run("convert_layer2", "POST", f"/ports/{bond0}/convert/layer-2", {"vnid": storage["vxlan"]})
    run("assign_native_vlan", "POST", f"/ports/{bond0}/native-vlan", {"vnid": storage["vxlan"]})
    run(None, "POST", f"/ports/{bond0}/unassign", {"vnid": storage["id"]})
    run("convert_layer3", "POST", f"/ports/{bond0}/convert/layer-3",
        {"request_ips": [{"address_family": 4, "public": True}, {"address_family": 4, "public": False}]})
    # organizations and who belongs where
    org = run("create_organization", "POST", "/organizations", {
        "name": "Acme Research", "description": "The research lab's servers",
        "website": "https://research.example.com"}, operator=True)
    run("update_organization", "PUT", f"/organizations/{org['id']}",
        {"description": "The research lab's servers (HPC)"}, operator=True)
    hpc = run("create_organization_project", "POST", f"/organizations/{org['id']}/projects",
              {"name": "hpc", "tags": ["research"]}, operator=True)
    run("invite_to_organization", "POST", f"/organizations/{org['id']}/invitations", {
        "invitee": "carol@example.com", "roles": ["collaborator"], "projects_ids": [hpc["id"]],
        "message": "Join the HPC project"}, operator=True)
    run("invite_to_project", "POST", f"/projects/{pid}/invitations",
        {"invitee": "bob@example.com", "roles": ["admin"], "message": "Welcome aboard"})
    return {"requests": dict(sorted({**run.requests, **HAND_WRITTEN}.items())),
            "created": dict(sorted(run.created.items()))}


if __name__ == "__main__":
    EXAMPLES_FILE.write_text(json.dumps(record(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {EXAMPLES_FILE}")
