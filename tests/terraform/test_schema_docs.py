"""The provider definition is valid, the docs are generated from it, the runtime
serves exactly it, and it agrees with the API's OpenAPI document."""
from __future__ import annotations

import copy
import json
import os
import stat

import pytest

from api.terraform import docs, openapi_check, spec
from api.terraform.install import install, os_arch


def test_provider_schema_validates_against_its_json_schema():
    assert spec.validate() == []


def test_json_schema_rejects_a_broken_definition(tmp_path):
    import shutil

    root = tmp_path / "provider-schema"
    shutil.copytree(spec.schema_dir(), root)
    p = root / "resources" / "metal_project.json"
    doc = json.loads(p.read_text())
    doc["attributes"]["name"]["type"] = "strng"
    doc["attributes"]["bogus"] = {"type": "string", "description": "no flags"}
    doc["api"]["read"]["path"] = "/projects/{nope}"
    p.write_text(json.dumps(doc))
    spec._load_cached.cache_clear()
    try:
        errors = "\n".join(spec.validate(root))
    finally:
        spec._load_cached.cache_clear()
    assert "strng" in errors and "bogus" in errors and "{nope}" in errors


def test_committed_docs_match_the_schema():
    assert docs.stale() == [], "run: python -m api.terraform.docs"


def test_docs_cover_every_attribute():
    rendered = docs.render()
    prov = spec.load()
    for td in list(prov.resources.values()) + list(prov.data_sources.values()):
        folder = "resources" if td.kind == "resource" else "data-sources"
        text = rendered[f"{folder}/{td.name}.md"]
        for name in td.attributes:
            assert f"`{name}`" in text, (td.name, name)


def test_openapi_checker_accepts_what_the_provider_expects_and_flags_gaps():
    doc = openapi_check.expected_openapi()
    assert openapi_check.check(doc) == []
    broken = copy.deepcopy(doc)
    dev = broken["paths"]["/metal/v1/devices/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    del dev["properties"]["ip_addresses"]
    del broken["paths"]["/metal/v1/devices/{id}/actions"]
    problems = "\n".join(openapi_check.check(broken))
    assert "access_public_ipv4" in problems and "ip_addresses" in problems
    assert "POST /devices/{id}/actions" in problems


@pytest.mark.terraform
def test_openapi_cross_check_against_live_api(server):
    import requests

    doc = requests.get(server.url.rstrip("/") + spec.load().api["openapi"], timeout=30).json()
    problems = set(openapi_check.check(doc))
    assert not problems, "provider-schema/ and the API's OpenAPI disagree:\n" + "\n".join(sorted(problems))


def test_install_writes_an_executable_mirror(tmp_path):
    inst = install(tmp_path / "mirror")
    prov = spec.load()
    exe = (tmp_path / "mirror" / "terraform.local" / "ingot" / "metal" / prov.version / os_arch()
           / f"terraform-provider-metal_v{prov.version}")
    assert inst.executable == exe.resolve()
    assert exe.stat().st_mode & stat.S_IXUSR
    text = exe.read_text()
    assert text.startswith("#!/bin/sh") and "-m api.terraform.main" in text
    msg = inst.instructions()
    assert 'source  = "terraform.local/ingot/metal"' in msg
    assert "filesystem_mirror" in msg and str(tmp_path / "mirror") in msg
    # the wrapper really starts the provider (go-plugin handshake line on stdout)
    import subprocess

    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PLUGIN_PROTOCOL_VERSIONS": "6"})
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    assert line.startswith("1|6|unix|"), line


@pytest.mark.terraform
def test_terraform_sees_exactly_the_declared_schema(make_tf):
    tf = make_tf("http://127.0.0.1:9", "unused")
    tf.write('terraform {\n  required_providers {\n    metal = { source = "terraform.local/ingot/metal" }\n  }\n}\n')
    tf.init()
    res = tf.run("providers", "schema", "-json")
    served = json.loads(res.stdout[res.stdout.index("{"):])["provider_schemas"]["terraform.local/ingot/metal"]
    prov = spec.load()
    assert set(served["resource_schemas"]) == set(prov.resources)
    assert set(served["data_source_schemas"]) == set(prov.data_sources)
    for kind, defs in (("resource_schemas", prov.resources), ("data_source_schemas", prov.data_sources)):
        for name, td in defs.items():
            block = served[kind][name]["block"]
            assert set(block["attributes"]) == set(td.attributes), name
            for an, a in td.attributes.items():
                got = block["attributes"][an]
                for flag in ("required", "optional", "computed", "sensitive"):
                    assert bool(got.get(flag)) == bool(a.spec.get(flag)), (name, an, flag)
            assert set(block.get("block_types", {})) == set(td.blocks), name
    assert set(served["provider"]["block"]["attributes"]) == set(prov.config)
