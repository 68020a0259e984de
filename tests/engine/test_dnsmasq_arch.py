"""The rendered dnsmasq configuration in a real DHCP exchange: dnsmasq serves it in a network
namespace, and a DHCP client (busybox udhcpc) in another one announces a PXE client architecture
(option 93) and reads back the boot file: BIOS undionly.kpxe, x86-64 UEFI ipxe.efi, arm64 UEFI
ipxe-arm64.efi; iPXE itself (option 175) is told the chain URL instead."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from api.boot.dnsmasq import dnsmasq_config
from tests.support.settings import process_env
from tests.support.waiting import wait_for

TAG = f"i{os.getpid() % 100000}"
SERVER_NS, CLIENT_NS = f"ingot-dhcp-s-{TAG}", f"ingot-dhcp-c-{TAG}"
SCRIPT = """#!/bin/sh
[ "$1" = bound ] && echo "boot_file=$boot_file" > "$OUT"
exit 0
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def dhcp_link():
    """Two namespaces joined by a veth pair: 10.77.0.1/24 on the server's end."""
    if not (shutil.which("ip") and os.geteuid() == 0):
        pytest.fail("this test needs root and iproute2 (network namespaces)")
    try:
        _ip("netns", "add", SERVER_NS)
        _ip("netns", "add", CLIENT_NS)
        _ip("link", "add", f"vs{TAG}", "netns", SERVER_NS, "type", "veth", "peer", "name", f"vc{TAG}",
            "netns", CLIENT_NS)
        _ip("-n", SERVER_NS, "addr", "add", "10.77.0.1/24", "dev", f"vs{TAG}")
        for ns, dev in ((SERVER_NS, f"vs{TAG}"), (CLIENT_NS, f"vc{TAG}")):
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        for ns in (SERVER_NS, CLIENT_NS):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _boot_file(tmp_path, *options: str) -> str:
    out = tmp_path / "lease"
    out.unlink(missing_ok=True)
    script = tmp_path / "script.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    args = [arg for opt in options for arg in ("-x", opt)]
    res = subprocess.run(["ip", "netns", "exec", CLIENT_NS, shutil.which("busybox") or "busybox", "udhcpc",
                          "-i", f"vc{TAG}", "-n", "-q", "-f", "-t", "5", "-T", "2", "-s", str(script), *args],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "OUT": str(out)})
    assert out.exists(), f"no lease: {res.stdout} {res.stderr}"
    return out.read_text().strip().removeprefix("boot_file=")


def test_each_client_architecture_gets_its_ipxe_build(lab, settings, tmp_path):
    if not shutil.which("busybox"):
        pytest.fail("busybox is not installed (apt-get install busybox-static)")
    conf = tmp_path / "dnsmasq.conf"
    tftp = tmp_path / "tftp"
    tftp.mkdir()
    result = CliRunner().invoke(dnsmasq_config, [
        "--output", str(conf), "--tftp-root", str(tftp), "--interface", f"vs{TAG}",
        "--dhcp-range", "10.77.0.100,10.77.0.200,255.255.255.0,1h"],
        env=process_env(settings, INGOT_EXTERNAL_URL="http://10.77.0.1:8080"))
    assert result.exit_code == 0, result.output
    with dhcp_link():
        proc = subprocess.Popen(["ip", "netns", "exec", SERVER_NS, shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
                                 "--keep-in-foreground", "--user=root", f"--conf-file={conf}",
                                 f"--pid-file={tmp_path / 'pid'}", f"--dhcp-leasefile={tmp_path / 'leases'}",
                                 "--log-facility=-"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: (tmp_path / "pid").exists() or proc.poll() is not None, timeout=30,
                     message="dnsmasq started")
            assert proc.poll() is None, proc.communicate()[0]
            assert _boot_file(tmp_path, "0x5d:0000") == "undionly.kpxe"          # BIOS
            assert _boot_file(tmp_path, "0x5d:0007") == "ipxe.efi"               # x86-64 UEFI
            assert _boot_file(tmp_path, "0x5d:0009") == "ipxe.efi"
            assert _boot_file(tmp_path, "0x5d:000b") == "ipxe-arm64.efi"         # arm64 UEFI
            # iPXE (option 175) of a host Ingot does not know: the chain URL, by MAC
            chain = _boot_file(tmp_path, "0x5d:0007", "0xaf:0101")
            assert chain == "http://10.77.0.1:8080/metal/v1/boot/ipxe?mac=${net0/mac}"
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        assert "DHCPACK" in out, out
