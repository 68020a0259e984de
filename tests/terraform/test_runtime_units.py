"""Unit tests of the runtime's value handling (no Terraform, no server)."""
from __future__ import annotations

import pytest

from api.terraform import values as v
from api.terraform.runtime import _apply_filters, _apply_sort, parse_duration


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
        return [r["slug"] for r in _apply_filters(rows, filters)]
    assert slugs([{"attribute": "metros", "values": ["am"]}]) == ["a", "b"]
    assert slugs([{"attribute": "metros", "values": ["am", "ny"], "all": True}]) == ["a"]
    assert slugs([{"attribute": "price", "values": ["2.5"], "match_by": "less_than"}]) == ["a", "b"]
    assert slugs([{"attribute": "class", "values": ["3"], "match_by": "substring"}]) == ["a", "b", "c"]
    assert [r["slug"] for r in _apply_sort(rows, [{"attribute": "price", "direction": "desc"}])] == ["c", "a", "b"]
