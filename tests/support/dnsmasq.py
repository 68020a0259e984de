"""``dnsmasq --test`` on a rendered configuration (Debian's dnsmasq-base binary)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def dnsmasq_test(path) -> subprocess.CompletedProcess:
    """Run ``dnsmasq --test`` on the configuration file ``path`` (fails the test when dnsmasq is missing)."""
    if not shutil.which(DNSMASQ):
        pytest.fail("dnsmasq is not installed: apt-get install dnsmasq-base (the Debian dnsmasq binary)")
    return subprocess.run([DNSMASQ, "--test", f"--conf-file={path}"], capture_output=True, text=True)
