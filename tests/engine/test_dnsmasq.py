"""`ingot admin dnsmasq-config`: the rendered configuration for the demo inventory
passes `dnsmasq --test`, and carries a static lease and chain URL per machine."""
from __future__ import annotations

import re

from click.testing import CliRunner

from api.boot.dnsmasq import dnsmasq_config
from tests.support.dnsmasq import dnsmasq_test
from tests.support.settings import process_env


def _env(settings) -> dict:
    return process_env(settings, INGOT_EXTERNAL_URL="http://10.66.0.2:8080")


def test_demo_inventory_renders_a_config_dnsmasq_accepts(lab, settings, tenant, tmp_path):
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"hostname": "web-1", "plan": "sim.small", "metro": "lab",
                          "operating_system": "ubuntu_24_04"})
    assert r.status_code == 201
    device = r.get_json()
    private = next(a["address"] for a in device["ip_addresses"] if not a["public"])
    tftp = tmp_path / "tftp"
    tftp.mkdir()
    out = tmp_path / "etc" / "ingot-dnsmasq.conf"
    result = CliRunner().invoke(dnsmasq_config, ["--output", str(out), "--tftp-root", str(tftp),
                                                 "--dhcp-range", "10.66.0.200,10.66.0.250,255.255.255.0,1h"],
                                env=_env(settings))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert oct(out.stat().st_mode & 0o777) == "0o640"  # it holds boot tokens
    hosts = re.findall(r"^dhcp-host=(.*)$", text, re.M)
    assert len(hosts) == 8  # one per NIC of the demo's machines
    macs = {h.split(",")[0] for h in hosts}
    assert macs == {f"52:54:00:00:00:{i:02x}" for i in range(1, 9)}
    # the device's machine gets its private address as a static lease
    assert sum(1 for h in hosts if private in h.split(",")) == 1
    chains = re.findall(r"^dhcp-boot=tag:ipxe,tag:(m[0-9a-f]+),(\S+)$", text, re.M)
    assert len(chains) == 8 and all(url.startswith("http://10.66.0.2:8080/metal/v1/boot/ipxe/") for _, url in chains)
    assert "dhcp-boot=tag:ipxe,tag:!ingot,http://10.66.0.2:8080/metal/v1/boot/ipxe?mac=${net0/mac}" in text
    assert "dhcp-range=set:ingot-static,10.66.0.0,static,255.255.255.0,12h" in text
    check = dnsmasq_test(out)
    assert check.returncode == 0 and "syntax check OK" in (check.stdout + check.stderr), check.stderr


def test_stdout_by_default_and_helpful_errors(lab, settings, tmp_path):
    result = CliRunner().invoke(dnsmasq_config, [], env=_env(settings))
    assert result.exit_code == 0 and result.output.startswith("# dnsmasq configuration")
    path = tmp_path / "stdout.conf"
    path.write_text(result.output.replace("tftp-root=/srv/tftp", f"tftp-root={tmp_path}"))
    assert dnsmasq_test(path).returncode == 0
    env = {**_env(settings), "INGOT_EXTERNAL_URL": ""}
    result = CliRunner().invoke(dnsmasq_config, [], env=env)
    assert result.exit_code == 2 and "INGOT_EXTERNAL_URL" in result.output
    result = CliRunner().invoke(dnsmasq_config, ["--dhcp-range", "10.0.0.1,10.0.0.9\nserver=1.1.1.1"],
                                env=_env(settings))
    assert result.exit_code == 2 and "dhcp-range" in result.output
    result = CliRunner().invoke(dnsmasq_config, ["--metro", "nope"], env=_env(settings))
    assert result.exit_code == 2 and "metro" in result.output
