"""The ramdisk build and the agent's shell helpers, without booting a VM."""
from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from api.boot.ramdisk import build as rb

LIB = Path(rb.__file__).parent / "lib.sh"


def read_newc(data: bytes) -> dict[str, tuple[int, int, int, bytes]]:
    """name -> (mode, rdevmajor, rdevminor, data) of a newc cpio archive."""
    out, pos = {}, 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        f = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = f[11], f[6]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos: pos + filesize]
        pos = (pos + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (f[1], f[9], f[10], body)


def test_initramfs_layout_and_module_order(ramdisk):
    entries = read_newc(gzip.decompress(ramdisk.initrd.read_bytes()))
    assert entries["init"][0] == 0o100755
    assert entries["init"][3].startswith(b"#!/bin/busybox sh")
    assert entries["dev/console"][:3] == (0o020600, 5, 1)
    assert entries["bin/busybox"][0] == 0o100755
    kver = entries["etc/ingot/kernel-version"][3].decode().strip()
    assert kver == ramdisk.kernel_version and ramdisk.kernel.name == f"ingot-deploy-{kver}.vmlinuz"
    order = entries["etc/ingot/modules"][3].decode().split()
    names = [Path(p).name[:-3].replace("-", "_") for p in order]
    for needed in ("virtio_pci", "virtio_net", "net_failover", "virtio_blk", "e1000", "sd_mod",
                   "crct10dif_generic"):
        assert needed in names
    for rel in order:
        assert f"lib/modules/{kver}/{rel}" in entries
    # dependencies (modinfo -F depends) come before their users
    kernel = rb.fetch_kernel()
    index = kernel.module_index()
    for i, name in enumerate(names):
        for dep in rb.module_depends(index[name]):
            if dep in names:
                assert names.index(dep) < i, f"{dep} after {name}"
    assert names.index("crct10dif_generic") < names.index("crc_t10dif")   # soft dep


def test_build_is_cached_and_output_has_manifest(ramdisk, tmp_path):
    again = rb.build_ramdisk(tmp_path / "out")
    assert again.initrd_sha256 == ramdisk.initrd_sha256
    manifest = json.loads((tmp_path / "out" / "ingot-deploy.json").read_text())
    assert manifest["kernel_version"] == ramdisk.kernel_version
    assert Path(manifest["initrd"]).read_bytes() == ramdisk.initrd.read_bytes()
    with pytest.raises(rb.RamdiskBuildError, match="unknown module set"):
        rb.build_ramdisk(modules=["@nonsense"])


def sh(script: str, busybox: Path, cwd: Path, **env: str) -> str:
    res = subprocess.run([str(busybox), "sh", "-c", f". {LIB}; {script}"], cwd=cwd,
                         capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", **env})
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_agent_json_helpers(ramdisk, tmp_path):
    busybox = rb.fetch_busybox()
    doc = {"action": "deploy", "image_url": "http://10.0.2.100/i.img?x=1&y=2", "target_disk": None,
           "image_checksum": "sha256:ab", "wipe": {"bytes": 2097152},
           "ssh_keys": ["ssh-ed25519 AAAA a@b", 'ssh-rsa BBBB "quoted" \\ back']}
    (tmp_path / "d.json").write_text(json.dumps(doc, indent=2))
    for key, want in (("action", "deploy"), ("image_url", doc["image_url"]), ("target_disk", ""),
                      ("bytes", "2097152"), ("missing", "")):
        assert sh(f"json_get {key} d.json || echo -n", busybox, tmp_path).rstrip("\n") == want
    assert sh("json_strings ssh_keys d.json", busybox, tmp_path).splitlines() == doc["ssh_keys"]
    text = 'checksum mismatch: "a"\\b\tc\nline 2'
    out = sh('json_str "$T"', busybox, tmp_path, T=text)
    assert json.loads(out) == text


def test_cli_commands(ramdisk, tmp_path, monkeypatch):
    import click
    from click.testing import CliRunner

    from api.boot.ramdisk.cli import ramdisk as ramdisk_group
    from api.boot.tiny_os import image

    @click.group()
    def main():
        pass

    main.add_command(ramdisk_group)
    main.add_command(image)
    monkeypatch.setenv("INGOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("INGOT_RAMDISK_DIR", raising=False)
    r = CliRunner().invoke(main, ["ramdisk", "build"])
    assert r.exit_code == 0, r.output
    served = tmp_path / "data" / "ramdisk"
    assert (served / "vmlinuz").read_bytes() == ramdisk.kernel.read_bytes()
    assert (served / "initrd").read_bytes() == ramdisk.initrd.read_bytes()
    assert json.loads(r.output)["initrd_sha256"] == ramdisk.initrd_sha256
    r = CliRunner().invoke(main, ["ramdisk", "build", "--modules", "@bogus"])
    assert r.exit_code != 0 and "unknown module set" in r.output
