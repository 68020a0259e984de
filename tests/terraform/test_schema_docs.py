"""The provider definition is valid, the docs are generated from it, the runtime
serves exactly it, and it agrees with the API's OpenAPI document."""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import stat

import pytest
import requests

from api.terraform import docs, openapi_check, spec, validation
from api.terraform.install import install, os_arch
from api.terraform.validation import validate


def test_provider_schema_validates_against_its_json_schema():
    assert validate() == []


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
    try:
        errors = "\n".join(validate(root))
    finally:
        spec.clear_cache()
    assert "strng" in errors and "bogus" in errors and "{nope}" in errors


def test_committed_docs_match_the_schema():
    assert docs.stale() == [], "run: python -m api.terraform.docs"


def test_an_address_serves_only_what_its_provider_had():
    lacking = spec.load().address("registry.terraform.io/equinix/metal")
    assert {("resource", "metal_organization_member"), ("data_source", "metal_devices")} == set(lacking.lacks)
    for source in ("registry.terraform.io/equinix/equinix", "terraform.local/ingot/metal"):
        assert not spec.load().address(source).lacks
    doc = docs.render()["resources/metal_organization_member.md"]
    assert "Not served under `registry.terraform.io/equinix/metal`" in doc
    typo = dataclasses.replace(lacking, lacks=(("resource", "metal_nothing"),))
    errors = validation.cross_references(dataclasses.replace(spec.load(), addresses=(typo,)))
    assert f"{lacking.source}: lacks undeclared resource metal_nothing" in errors


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
    """`server`: the suite's real Ingot (tests/conftest.py)."""

    doc = requests.get(server.url.rstrip("/") + spec.load().api.openapi, timeout=30).json()
    problems = set(openapi_check.check(doc))
    assert not problems, "provider-schema/ and the API's OpenAPI disagree:\n" + "\n".join(sorted(problems))


def test_install_writes_every_address_and_version(tmp_path):
    inst = install(tmp_path / "mirror", extra_versions=["4.16.1", "equinix/metal=3.2.2"])
    want = {("registry.terraform.io/equinix/equinix", "equinix", v) for v in ("4.14.0", "1.36.4", "4.16.1")}
    want |= {("registry.terraform.io/equinix/metal", "metal", v) for v in ("3.3.0", "3.2.2")}
    want |= {("terraform.local/ingot/metal", "metal", "0.1.0")}
    for source, type_, version in want:
        exe = (tmp_path / "mirror").joinpath(*source.split("/"), version, os_arch(),
                                             f"terraform-provider-{type_}_v{version}")
        assert exe.stat().st_mode & stat.S_IXUSR, exe
        text = exe.read_text()
        assert text.startswith("#!/bin/sh") and "-m api.terraform.main" in text
        assert f"INGOT_TF_ADDRESS={source}" in text
    assert "3.2.2" not in inst.versions["registry.terraform.io/equinix/equinix"]
    rc = inst.cli_config()
    sources = '"registry.terraform.io/equinix/equinix", "registry.terraform.io/equinix/metal", ' \
              '"terraform.local/ingot/metal"'
    assert f"include = [{sources}]" in rc and f"exclude = [{sources}]" in rc and str(tmp_path / "mirror") in rc
    assert rc in inst.instructions() and "METAL_AUTH_TOKEN" in inst.instructions()
    with pytest.raises(ValueError):
        install(tmp_path / "m2", extra_versions=["latest"])
    with pytest.raises(ValueError):
        install(tmp_path / "m2", extra_versions=["nobody/nothing=1.0.0"])
    # the wrapper really starts the provider (go-plugin handshake line on stdout)
    import subprocess

    proc = subprocess.Popen([str(inst.executable)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PLUGIN_PROTOCOL_VERSIONS": "6"})
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    assert line.startswith("1|6|unix|"), line


def test_ingot_terraform_install_command(tmp_path):
    from click.testing import CliRunner

    from api.terraform.cli import terraform

    res = CliRunner().invoke(terraform, ["install", "--dir", str(tmp_path), "--version", "4.15.0"])
    assert res.exit_code == 0, res.output
    assert "provider_installation {" in res.output and "4.15.0" in res.output
    assert (tmp_path / "registry.terraform.io" / "equinix" / "equinix" / "4.15.0").is_dir()
    bad = CliRunner().invoke(terraform, ["install", "--dir", str(tmp_path), "--version", "x"])
    assert bad.exit_code != 0 and "--version" in bad.output


REQUIRED = {"equinix": ("equinix/equinix", "~> 4.0"), "metal": ("equinix/metal", "~> 3.0"),
            "ingot": ("terraform.local/ingot/metal", ">= 0.1")}


@pytest.mark.terraform
@pytest.mark.parametrize("local", sorted(REQUIRED))
def test_terraform_sees_exactly_the_declared_schema(make_tf, local):
    """Every address serves every definition under its prefix (but what its provider never had: equinix/metal
    3.3.0 had no organization_member resource and no devices data source), and its family's provider block."""
    source, version = REQUIRED[local]
    tf = make_tf("http://127.0.0.1:9", "unused")
    tf.write(f'terraform {{\n  required_providers {{\n    {local} = {{ source = "{source}", version = "{version}" }}\n'
             "  }\n}\n")
    tf.init()
    res = tf.run("providers", "schema", "-json")
    schemas = json.loads(res.stdout[res.stdout.index("{"):])["provider_schemas"]
    full = source if source.count("/") == 2 else "registry.terraform.io/" + source
    served = schemas[full]
    prov = spec.load()
    address = prov.address(full)
    for kind, defs in (("resource_schemas", prov.resources), ("data_source_schemas", prov.data_sources)):
        assert set(served[kind]) == {address.type_name(td) for td in defs.values() if address.serves(td)}
        for td in filter(address.serves, defs.values()):
            block = served[kind][address.type_name(td)]["block"]
            assert set(block["attributes"]) == set(td.attributes), td.name
            for an, a in td.attributes.items():
                got = block["attributes"][an]
                for flag in ("required", "optional", "computed", "sensitive"):
                    assert bool(got.get(flag)) == bool(a.spec.get(flag)), (td.name, an, flag)
            assert set(block.get("block_types", {})) == set(td.blocks), td.name
    assert "equinix_metal_device" in served["resource_schemas"] or local != "equinix"
    member, devices = f"{address.prefix}organization_member", f"{address.prefix}devices"
    assert (member in served["resource_schemas"]) == (devices in served["data_source_schemas"]) == (local != "metal")
    assert f"{address.prefix}port" in served["resource_schemas"]  # equinix/metal 3.3.0 had metal_port
    config = set(served["provider"]["block"]["attributes"])
    assert config == {n for n, a in prov.config.items() if a.served_in(address.family)}
    assert ("client_id" in config) == (local == "equinix")
