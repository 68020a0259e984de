"""Bulk enroll from an inventory file: each BMC checked (bounded concurrency,
per-call timeout), the good ones enrolled through the same service as
POST /machines, a summary of what failed and why; and the click command."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.cli.admin import machines_enroll
from api.models import Event, Machine
from api.services.enrollment import enroll_from_file, read_inventory
from tests.support.peers.redfish import fake_system
from tests.support.ports import free_port
from tests.support.settings import process_env

# a live BMC answers a check within this however busy the machine; the dead IPMI one costs it
CHECK_TIMEOUT = 10.0


@pytest.fixture
def inventory(tmp_path, make_redfish_bmc, make_ipmi_bmc, lab):
    """An inventory with two good machines and one of every kind of trouble."""
    good = fake_system(1300, name="good", nics=2)
    bmc = make_redfish_bmc([good, fake_system(1301, name="badpw")])
    sim = make_ipmi_bmc()
    path = tmp_path / "inventory.yaml"
    path.write_text(f"""
defaults:
  metro: lab
  bmc: {{driver: redfish, address: "{bmc.url}", username: {bmc.username}, password: {bmc.password}}}
machines:
  - hostname: rf-good
    bmc: {{options: {{system_id: "{good['uuid']}"}}}}
  - hostname: ipmi-good
    plan: sim.small
    bmc: {{driver: ipmi, address: "{sim.address}", username: {sim.username}, password: {sim.password}}}
    nics: [{{mac: "52:54:00:cc:00:01"}}]
  - hostname: rf-badpw
    bmc: {{password: wrong, options: {{system_id: "{bmc.system_ids[1]}"}}}}
  - hostname: rf-nobody
    bmc: {{address: "http://127.0.0.1:{free_port()}"}}
  - hostname: ipmi-nobody
    bmc: {{driver: ipmi, address: "127.0.0.1:{free_port(udp=True)}"}}
  - hostname: bad-mac
    nics: [{{mac: "not-a-mac"}}]
  - hostname: sim-01
  - hostname: rf-noplan
    plan: no.such.plan
    bmc: {{options: {{system_id: "{good['uuid']}"}}}}
""")
    return path


def test_enroll_from_file_summarizes_what_failed_and_why(inventory, lab, box):
    seen = []
    summary = enroll_from_file(str(inventory), lab, box, progress=seen.append, concurrency=4, timeout=CHECK_TIMEOUT)
    assert sorted(o.hostname for o in seen) == sorted(o.hostname for o in summary.outcomes)  # one each
    by_name = {o.hostname: o for o in summary.outcomes}
    assert [o.hostname for o in summary.outcomes][:3] == ["rf-good", "ipmi-good", "rf-badpw"]  # file order
    assert by_name["rf-good"].status == "enrolled" and by_name["rf-good"].state == "inspecting"
    assert by_name["ipmi-good"].status == "enrolled" and by_name["ipmi-good"].state == "available", \
        by_name["ipmi-good"]
    assert by_name["sim-01"].status == "exists"
    failed = {o.hostname: (o.kind, o.message) for o in summary.failed}
    assert failed["rf-badpw"][0] == "bad credentials" and "credentials" in failed["rf-badpw"][1]
    assert failed["rf-nobody"][0] == "unreachable" and "127.0.0.1" in failed["rf-nobody"][1]
    assert failed["ipmi-nobody"][0] == "unreachable"
    assert failed["bad-mac"][0] == "invalid" and "nics.0.mac" in failed["bad-mac"][1]
    assert failed["rf-noplan"][0] == "invalid" and "plan" in failed["rf-noplan"][1]
    lines = summary.lines()
    assert lines[0].startswith("2 enrolled, 1 already enrolled, 5 failed")
    assert "bad credentials (1):" in lines and "unreachable (2):" in lines

    with lab.Session() as s:
        m = s.scalar(select(Machine).where(Machine.hostname == "rf-good"))
        assert m.operation == "inspect" and m.bmc_driver == "redfish"
        assert box.decrypt(m.bmc_password_enc) == "password"  # encrypted at rest, as via the API
        assert s.scalar(select(Machine.id).where(Machine.hostname == "rf-badpw")) is None
        assert s.scalar(select(Event.id).where(Event.type == "machine.enrolled", Event.machine_id == m.id))

    # running the same file again enrolls nothing twice
    again = enroll_from_file(str(inventory), lab, box, concurrency=4, timeout=CHECK_TIMEOUT)
    assert {o.hostname for o in again.existing} >= {"rf-good", "ipmi-good", "sim-01"}
    assert not again.enrolled


def test_read_inventory_rejects_files_of_the_wrong_shape(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("machines: {hostname: x}\n")
    with pytest.raises(ValueError, match="expected a list"):
        read_inventory(str(bad))
    bad.write_text("machines: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        read_inventory(str(bad))
    j = tmp_path / "inv.json"
    j.write_text(json.dumps([{"hostname": "a", "metro": "lab"}]))
    assert read_inventory(str(j)) == [{"hostname": "a", "metro": "lab"}]


def test_cli_command(inventory, settings, lab):
    env = process_env(settings)
    timeout = str(CHECK_TIMEOUT)
    result = CliRunner().invoke(machines_enroll, ["--from-file", str(inventory), "--timeout", timeout], env=env)
    assert result.exit_code == 1, result.output  # something failed
    assert "2 enrolled, 1 already enrolled, 5 failed" in result.stdout
    assert "bad credentials (1):" in result.stdout and "  rf-badpw: " in result.stdout
    assert "enrolling" in result.stderr  # the progress bar
    again = CliRunner().invoke(machines_enroll, ["--from-file", str(inventory), "--timeout", timeout, "--json"],
                               env=env)
    doc = json.loads(again.stdout)
    assert doc["enrolled"] == 0 and doc["existing"] == 3 and doc["failed"] == 5
    missing = CliRunner().invoke(machines_enroll, ["--from-file", str(inventory) + ".nope"], env=env)
    assert missing.exit_code == 2
