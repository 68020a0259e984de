"""The API's JSON bodies: keys sorted, compact, UTF-8, one newline at the end — written by orjson
(api/app.py FastJSONProvider), and what orjson refuses still answered as Flask's own encoder writes it."""
from __future__ import annotations

import datetime as dt
import json


def test_a_device_list_is_sorted_compact_utf8(lab, tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "cafe", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "description": "café — rack ✓", "tags": ["zürich"], "customdata": {"b": 1, "a": {"z": [], "y": None}}})
    assert r.status_code == 201, r.get_json()
    listed = tenant.get(f"/projects/{tenant.project_id}/devices")
    assert listed.status_code == 200
    assert listed.mimetype == "application/json"
    body = json.loads(listed.data)
    assert listed.data == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    device = body["devices"][0]
    assert (device["description"], device["tags"], device["customdata"]) == (
        "café — rack ✓", ["zürich"], {"a": {"y": None, "z": []}, "b": 1})


def test_what_orjson_refuses_is_written_as_flask_would(app):
    with app.app_context():
        assert app.json.response({2: "two", 1: "one"}).data == b'{"1":"one","2":"two"}\n'  # keys not strings
        assert app.json.response({"n": 2 ** 70}).data == b'{"n":1180591620717411303424}\n'  # past 64 bits
        at = dt.datetime(2026, 12, 4, 12, 30, tzinfo=dt.timezone.utc)  # Flask's HTTP date, not orjson's
        assert app.json.response({"at": at}).data == b'{"at":"Fri, 04 Dec 2026 12:30:00 GMT"}\n'
