"""Unit tests of the runtime's value handling (no Terraform, no server)."""
from __future__ import annotations

import pytest
from tf.types import Unknown
from tf.utils import Diagnostics

from api.terraform import spec
from api.terraform import values as v
from api.terraform.data_sources import apply_filters, apply_sort
from api.terraform.resources import plan
from api.terraform.servicer import check_config
from api.terraform.states import request_body
from api.terraform.waiters import parse_duration


def test_cty_types():
    assert v.cty_type({"type": "list", "element": {"type": "string"}}) == ["list", "string"]
    obj = {"type": "object", "attributes": {"a": {"type": "number"}, "b": {"type": "bool"}}}
    assert v.cty_type({"type": "list", "element": obj}) == ["list", ["object", {"a": "number", "b": "bool"}]]


def test_coerce_matches_the_terraform_type():
    assert v.coerce(4, {"type": "string"}) == "4"
    assert v.coerce("3", {"type": "number"}) == 3
    assert v.coerce({}, {"type": "list", "element": {"type": "string"}}) == []  # old clients send tags: {}
    obj = {"type": "object", "attributes": {"a": {"type": "string"}, "b": {"type": "bool"}}}
    assert v.coerce({"a": 1, "x": 2}, obj) == {"a": "1", "b": None}


def test_transforms():
    assert v.transform("id_from_href", "/metal/v1/projects/abc") == "abc"
    assert v.transform("ids_from_hrefs", [{"href": "/x/1"}, {"href": "/x/2"}]) == ["1", "2"]
    assert v.transform("json_string", {"b": 1, "a": [1]}) == '{"a":[1],"b":1}'
    assert v.transform("json_string", {}) is None
    assert v.transform("json_parse", '{"a": 1}') == {"a": 1}
    with pytest.raises(v.TransformError):
        v.transform("json_parse", "{nope")
    ips = [{"address": "10.0.0.1", "public": False, "address_family": 4},
           {"address": "1.2.3.4", "public": True, "address_family": 4}]
    pick = {"name": "pick", "where": {"public": True, "address_family": 4}, "field": "address"}
    assert v.transform(pick, ips) == "1.2.3.4"
    assert v.transform("cidr_notation", {"network": "1.2.3.0", "cidr": 29}) == "1.2.3.0/29"


def test_read_value_maps_nested_objects():
    spec = {"type": "list", "read": "network_ports", "element": {"type": "object", "attributes": {
        "name": {"type": "string", "read": "name"}, "mac": {"type": "string", "read": "data.mac"}}}}
    obj = {"network_ports": [{"name": "eth0", "data": {"mac": "aa"}}]}
    assert v.read_value(obj, spec) == [{"name": "eth0", "mac": "aa"}]


def test_equal_treats_empty_as_null_and_json_semantically():
    assert v.equal(None, [])
    assert v.equal("", None)
    assert v.equal('{"a": 1}', '{"a":1}', {"type": "string", "read_transform": "json_string"})
    assert not v.equal(["a"], ["b"])
    assert v.equal(["a", "b"], ["b", "a"], {"type": "set"})


def test_state_path():
    st = {"reinstall": [{"enabled": True}], "behavior": []}
    assert v.state_path(st, "reinstall.0.enabled") is True
    assert v.state_path(st, "behavior.0.allow_changes") is None


def test_durations():
    assert parse_duration("20m", 0) == 1200
    assert parse_duration("1h30m", 0) == 5400
    assert parse_duration("2s", 0) == 2
    assert parse_duration(None, 7) == 7
    with pytest.raises(ValueError):
        parse_duration("soon", 0)


def test_filters_and_sort():
    rows = [{"slug": "a", "class": "c3", "metros": ["am", "ny"], "price": 2.0},
            {"slug": "b", "class": "m3", "metros": ["am"], "price": 1.0},
            {"slug": "c", "class": "c3", "metros": ["ny"], "price": 3.0}]
    def slugs(filters):
        return [r["slug"] for r in apply_filters(rows, filters)]

    assert slugs([{"attribute": "metros", "values": ["am"]}]) == ["a", "b"]
    assert slugs([{"attribute": "metros", "values": ["am", "ny"], "all": True}]) == ["a"]
    assert slugs([{"attribute": "price", "values": ["2.5"], "match_by": "less_than"}]) == ["a", "b"]
    assert slugs([{"attribute": "class", "values": ["3"], "match_by": "substring"}]) == ["a", "b", "c"]
    assert [r["slug"] for r in apply_sort(rows, [{"attribute": "price", "direction": "desc"}])] == ["c", "a", "b"]


def test_network_values():
    assert v.transform("is_layer2", "layer2-bonded") is True and v.transform("is_layer2", "hybrid") is False
    vlans = [{"id": "a", "vxlan": 1000}, {"id": "b", "vxlan": 1001}]
    assert v.transform({"name": "pluck", "field": "vxlan"}, vlans) == [1000, 1001]
    spec = {"type": "string", "equivalent": [["layer3", "hybrid-bonded"]]}
    assert v.equal("layer3", "hybrid-bonded", spec) and not v.equal("layer3", "hybrid", spec)
    # one object (an organization's address) read as a list of one; an empty one as none
    address = {"type": "list", "read": "address", "element": {"type": "object", "attributes": {
        "city": {"type": "string", "read": "city"}}}}
    assert v.read_value({"address": {"city": "Amsterdam"}}, address) == [{"city": "Amsterdam"}]
    assert v.read_value({"address": {}}, address) == []


def test_argument_combinations_are_checked_at_plan_time():
    vlan = spec.load().resources["metal_vlan"]
    errors = [d.summary for d in check_config(vlan, {"project_id": "p", "metro": "am", "facility": "am1"}).diagnostics]
    assert "Conflicting arguments: facility and metro" in errors
    errors = [d.summary for d in check_config(vlan, {"project_id": "p"}).diagnostics]
    assert errors == ["Set exactly one of facility, metro"]
    assert not check_config(vlan, {"project_id": "p", "metro": "am"}).diagnostics


def test_a_port_plan_knows_what_an_apply_changes():
    """A handler's resource with an update call is updated in place; VLAN numbers follow the IDs they are read
    with; roles outside Ingot's invitable ones stop the plan."""
    port = spec.load().resources["metal_port"]
    prior = {"id": "p1", "port_id": "p1", "bonded": True, "layer2": True, "vlan_ids": ["a", "b"],
             "vxlan_ids": [1000, 1001], "native_vlan_id": "a", "name": "bond0", "network_type": "layer2-bonded"}
    planned, replace = plan(port, prior, {**prior, "vlan_ids": ["a"], "native_vlan_id": None}, Diagnostics())
    assert replace == [] and planned["vxlan_ids"] is Unknown and planned["network_type"] is Unknown
    assert planned["vlan_ids"] == ["a"] and planned["id"] == "p1"  # stable
    planned, _ = plan(port, prior, dict(prior), Diagnostics())
    assert planned["vxlan_ids"] == [1000, 1001] and planned["network_type"] == "layer2-bonded"
    member = spec.load().resources["metal_organization_member"]
    config = {"invitee": "a@example.com", "organization_id": "o", "projects_ids": ["p"], "roles": ["owner"]}
    assert [d.summary for d in check_config(member, config).diagnostics] == ["Invalid value for roles"]


def test_a_device_create_sends_its_addresses_facilities_and_termination_time():
    """Equinix's provider sends ip_address (as address family and public), facilities and termination_time on
    create only; an update sends none of them."""
    device = spec.load().resources["metal_device"]
    state = {"project_id": "p", "plan": "c3", "operating_system": "ubuntu", "facilities": ["am1", "am2"],
             "termination_time": "2099-01-01T00:00:00Z",
             "ip_address": [{"type": "public_ipv4", "cidr": 31, "reservation_ids": ["r1"]},
                            {"type": "private_ipv4", "cidr": None, "reservation_ids": None}]}
    body = request_body(device, state, "create")
    assert body["ip_addresses"] == [{"address_family": 4, "public": True, "cidr": 31, "ip_reservations": ["r1"]},
                                    {"address_family": 4, "public": False}]
    assert body["facility"] == ["am1", "am2"] and body["termination_time"] == "2099-01-01T00:00:00Z"
    update = request_body(device, state, "update", only={"ip_address", "facilities", "termination_time"})
    assert not {"ip_addresses", "facility", "termination_time"} & set(update)
    errors = [d.summary for d in check_config(device, {**state, "metro": "am"}).diagnostics]
    assert "Conflicting arguments: facilities and metro" in errors
