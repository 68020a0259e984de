"""A tiny OS image that really boots: Ingot's end-to-end test tenant OS.

The image is a raw disk with an MBR (syslinux's ``mbr.bin``) and one bootable
FAT16 partition (label ``INGOTOS``, starting at 1 MiB) holding SYSLINUX (BIOS),
systemd-boot as ``/EFI/BOOT/BOOTX64.EFI`` (UEFI: the same disk boots under both),
the same Debian kernel as the deploy ramdisk, and a busybox initramfs whose /init
(``api/boot/ramdisk/os-init.sh``) plays a freshly installed OS on first boot:

1. finds its metadata URL in Ingot's config drive (the 4 KiB block at the start
   of its disk's last MiB, written by the deploy agent; see docs/ramdisk.md);
2. gets an address by DHCP and ``GET <metadata>/metadata``;
3. writes the ``ssh_keys`` to ``/root/.ssh/authorized_keys`` on its root
   filesystem, which is the FAT partition itself — so a test reads them back
   from the disk file with mtools (:func:`read_file`), no mount needed;
4. ``POST <metadata>/phone-home`` (once per metadata URL) and stays up.

Its ``tar.gz`` variant is the same OS as a root filesystem archive (``/boot/vmlinuz``,
``/boot/initrd.gz``, ``/etc``, ``/root``), for storage layouts: the deploy agent extracts it
into the root filesystem it made and installs the boot loader; the OS then finds its root
by ``root=UUID=`` (assembling RAID arrays with the ``mdadm`` its initramfs carries).

Built entirely without root or loop mounts: ``mkfs.fat --offset``, mtools
``mcopy`` and ``syslinux --offset --install`` operate on the image file.
:func:`image` is its command group, wired as ``ingot admin image build-tiny-os``.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path
from typing import Sequence

import click

from api.boot.ramdisk.build import (
    LAYOUT_MODULES,
    VM_MODULES,
    RamdiskBuildError,
    _run,
    _sha256,
    build_initramfs,
    build_lock,
    cache_dir,
    fetch_busybox,
    fetch_kernel,
    package_tree,
    tool_files,
)
from api.boot.ramdisk.tools import OS_TOOLS

HERE = Path(__file__).resolve().parent / "ramdisk"
IMAGE_FORMAT = "2"
SECTOR = 512
PART_START = 2048                  # sectors: the partition starts at 1 MiB
DEFAULT_SIZE_MIB = 24
FS_LABEL = "INGOTOS"
MODULES = tuple(dict.fromkeys(VM_MODULES + LAYOUT_MODULES + ("fat", "nls_utf8")))
SYSTEMD_BOOT = ("systemd-boot-efi", "usr/lib/systemd/boot/efi/systemd-bootx64.efi")
ARCHIVE_FORMAT = "tar.gz"        # the root filesystem archive variant
SYSLINUX_MBR = ("/usr/lib/syslinux/mbr/mbr.bin", "/usr/lib/SYSLINUX/mbr.bin")

SYSLINUX_CFG = """\
SERIAL 0 115200
DEFAULT ingot
PROMPT 0
TIMEOUT 0
LABEL ingot
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND console=tty0 console=ttyS0,115200 quiet
"""
LOADER_CONF = "default ingot.conf\ntimeout 0\n"
LOADER_ENTRY = """\
title Ingot test OS
linux /vmlinuz
initrd /initrd.gz
options console=tty0 console=ttyS0,115200 quiet
"""


class TestImageError(RamdiskBuildError):
    """The test image could not be built or read."""


@dataclasses.dataclass
class TinyOsImage:
    kernel_version: str
    path: Path                 # the raw image
    sha256: str
    size: int
    variants: dict[str, dict]  # {"gz": {"path", "sha256", "size"}, "xz": {...}}
    manifest: Path

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return json.loads(json.dumps(d, default=str))

    def checksum(self, fmt: str = "raw") -> str:
        """``sha256:<hex>`` of the file as published in format ``fmt``."""
        return "sha256:" + (self.sha256 if fmt == "raw" else self.variants[fmt]["sha256"])

    def file(self, fmt: str = "raw") -> Path:
        return self.path if fmt == "raw" else Path(self.variants[fmt]["path"])


def _mbr(size_sectors: int) -> bytes:
    code = b""
    for cand in SYSLINUX_MBR:
        if os.path.exists(cand):
            code = Path(cand).read_bytes()[:440]
            break
    if not code:
        raise TestImageError("syslinux's mbr.bin not found; apt-get install syslinux-common")
    code = code.ljust(440, b"\x00")
    count = size_sectors - PART_START
    # one entry: bootable, type 0x0e (FAT16 LBA); CHS fields saturated (LBA is used)
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0E, b"\xfe\xff\xff", PART_START, count)
    return code + struct.pack("<IH", 0x1A2B3C4D, 0) + entry + b"\x00" * 48 + b"\x55\xaa"


def partition_offset(image: str | os.PathLike, number: int = 1) -> int:
    """Byte offset of MBR partition ``number`` in a disk image (or a disk file after deploy)."""
    with open(image, "rb") as fh:
        mbr = fh.read(512)
    if mbr[510:512] != b"\x55\xaa":
        raise TestImageError(f"{image}: no MBR signature")
    start = struct.unpack_from("<I", mbr, 446 + 16 * (number - 1) + 8)[0]
    if not start:
        raise TestImageError(f"{image}: no partition {number}")
    return start * SECTOR


def read_file(image: str | os.PathLike, inner: str, partition: int = 1) -> bytes:
    """Read ``inner`` (e.g. ``/root/.ssh/authorized_keys``) from the FAT partition of a disk file."""
    off = partition_offset(image, partition)
    res = subprocess.run(["mtype", "-i", f"{image}@@{off}", "::" + inner], capture_output=True,
                         env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    if res.returncode != 0:
        raise FileNotFoundError(f"{inner} on {image} partition {partition}: {res.stderr.decode().strip()}")
    return res.stdout


def read_config_drive(disk: str | os.PathLike) -> dict[str, str] | None:
    """The key=value pairs of Ingot's config drive block on a disk file, or None."""
    size = os.path.getsize(disk)
    with open(disk, "rb") as fh:
        fh.seek(size - 1024 * 1024)
        block = fh.read(4096).rstrip(b"\x00").decode(errors="replace")
    lines = block.splitlines()
    if not lines or lines[0] != "INGOT-CONFIG-DRIVE 1":
        return None
    out = {}
    for line in lines[1:]:
        if line == "END":
            break
        k, _, v = line.partition("=")
        out[k] = v
    return out


def _inputs_tag(kernel_version: str, busybox: Path, size_mib: int) -> str:
    h = hashlib.sha256(f"{IMAGE_FORMAT}:{kernel_version}:{busybox.parent.parent.name}:{size_mib}".encode())
    h.update(SYSLINUX_CFG.encode())
    for name in MODULES:
        h.update(name.encode())
    for f in ("os-init.sh", "lib.sh", "udhcpc.sh"):
        h.update(hashlib.sha256((HERE / f).read_bytes()).digest())
    h.update((LOADER_CONF + LOADER_ENTRY + repr(OS_TOOLS)).encode())
    return h.hexdigest()[:12]


def _build_raw(path: Path, archive: Path, kernel, busybox: Path, size_mib: int, workdir: Path) -> None:
    for tool in ("mkfs.fat", "mcopy", "mmd", "syslinux"):
        if not shutil.which(tool):
            raise TestImageError(f"{tool} not found; apt-get install dosfstools mtools syslinux syslinux-common")
    initrd = workdir / "initrd.gz"
    files = [("init", (HERE / "os-init.sh").read_bytes(), 0o755),
             ("lib/ingot/lib.sh", (HERE / "lib.sh").read_bytes(), 0o644),
             ("lib/ingot/udhcpc.sh", (HERE / "udhcpc.sh").read_bytes(), 0o755)] + tool_files(OS_TOOLS)
    build_initramfs(initrd, kernel=kernel, busybox=busybox, files=files, modules=MODULES)
    cfg = workdir / "syslinux.cfg"
    cfg.write_text(SYSLINUX_CFG)
    (workdir / "loader.conf").write_text(LOADER_CONF)
    (workdir / "ingot.conf").write_text(LOADER_ENTRY)
    efi = package_tree(SYSTEMD_BOOT[0]) / SYSTEMD_BOOT[1]

    sectors = size_mib * 1024 * 1024 // SECTOR
    part_kib = (sectors - PART_START) * SECTOR // 1024
    with open(path, "wb") as fh:
        fh.truncate(sectors * SECTOR)
        fh.write(_mbr(sectors))
    _run(["mkfs.fat", "-F", "16", "-n", FS_LABEL, "-i", "1A2B3C4D", f"--offset={PART_START}",
          "-h", str(PART_START), str(path), str(part_kib)])
    img = f"{path}@@{PART_START * SECTOR}"
    env = {"MTOOLS_SKIP_CHECK": "1"}
    _run(["mcopy", "-i", img, str(kernel.vmlinuz), "::/vmlinuz"], env=env)
    _run(["mcopy", "-i", img, str(initrd), "::/initrd.gz"], env=env)
    _run(["mcopy", "-i", img, str(cfg), "::/syslinux.cfg"], env=env)
    _run(["mmd", "-i", img, "::/root", "::/root/.ssh", "::/ingot", "::/EFI", "::/EFI/BOOT", "::/loader",
          "::/loader/entries"], env=env)
    _run(["mcopy", "-i", img, str(efi), "::/EFI/BOOT/BOOTX64.EFI"], env=env)
    _run(["mcopy", "-i", img, str(workdir / "loader.conf"), "::/loader/loader.conf"], env=env)
    _run(["mcopy", "-i", img, str(workdir / "ingot.conf"), "::/loader/entries/ingot.conf"], env=env)
    _run(["syslinux", "--offset", str(PART_START * SECTOR), "--install", str(path)])
    _build_archive(archive, kernel.vmlinuz, initrd)


def _build_archive(target: Path, vmlinuz: Path, initrd: Path) -> None:
    """The same OS as a root filesystem archive: what a storage layout's root filesystem receives."""
    def entry(name: str, kind: bytes = tarfile.DIRTYPE, size: int = 0, mode: int = 0o755) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.size, info.mode, info.mtime = kind, size, mode, 0
        return info

    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("boot", "etc", "etc/ingot", "ingot", "root"):
            tar.addfile(entry(d))
        tar.addfile(entry("root/.ssh", mode=0o700))
        for name, src in (("boot/vmlinuz", vmlinuz), ("boot/initrd.gz", initrd)):
            with open(src, "rb") as fh:
                tar.addfile(entry(name, tarfile.REGTYPE, src.stat().st_size, 0o644), fh)
        release = b'NAME="Ingot test OS"\nID=ingot-test-os\n'
        tar.addfile(entry("etc/os-release", tarfile.REGTYPE, len(release), 0o644), io.BytesIO(release))


def build_tiny_os_image(output: str | os.PathLike | None = None, *, cache: str | os.PathLike | None = None,
                     formats: Sequence[str] = ("gz", "xz"), size_mib: int = DEFAULT_SIZE_MIB,
                     force: bool = False) -> TinyOsImage:
    """Build (or reuse from the cache) the bootable test OS image and its compressed variants.

    Returns a :class:`TinyOsImage` with the raw image's path and sha256 and, per
    variant in ``formats`` (``gz``, ``xz``), the compressed file's path and the
    sha256 *of the compressed file* (what the deploy agent verifies).
    """
    root = cache_dir(cache)
    with build_lock(root):
        return _build_tiny_os_image(root, output, formats, size_mib, force)


def _build_tiny_os_image(root: Path, output, formats, size_mib: int, force: bool) -> TinyOsImage:
    kernel = fetch_kernel(root)
    busybox = fetch_busybox(root)
    tag = _inputs_tag(kernel.version, busybox, size_mib)
    base = root / f"ingot-test-os-{kernel.version}-{tag}"
    raw = base.with_name(base.name + ".img")
    archive = base.with_name(base.name + "." + ARCHIVE_FORMAT)
    manifest = base.with_name(base.name + ".json")
    data = json.loads(manifest.read_text()) if manifest.exists() and raw.exists() and not force else None
    if data is None:
        work = root / f"work-{tag}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        try:
            tmp = raw.with_name(raw.name + ".tmp")
            _build_raw(tmp, archive, kernel, busybox, size_mib, work)
            tmp.rename(raw)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        data = {"kernel_version": kernel.version, "path": str(raw), "sha256": _sha256(raw),
                "size": raw.stat().st_size, "variants": {ARCHIVE_FORMAT: {
                    "path": str(archive), "sha256": _sha256(archive), "size": archive.stat().st_size}}}
    for fmt in formats:
        if fmt in data["variants"] and Path(data["variants"][fmt]["path"]).exists():
            continue
        target = raw.with_name(raw.name + "." + fmt)
        if fmt == "gz":
            with open(raw, "rb") as src, open(target, "wb") as dst_raw, \
                    gzip.GzipFile(fileobj=dst_raw, mode="wb", mtime=0) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        elif fmt == "xz":
            with open(raw, "rb") as src, lzma.open(target, "wb", preset=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            raise TestImageError(f"unknown image format {fmt!r} (gz, xz, {ARCHIVE_FORMAT})")
        data["variants"][fmt] = {"path": str(target), "sha256": _sha256(target), "size": target.stat().st_size}
    manifest.write_text(json.dumps(data, indent=2) + "\n")
    result = TinyOsImage(data["kernel_version"], Path(data["path"]), data["sha256"], data["size"],
                       data["variants"], manifest)
    if output:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        variants = {}
        for fmt in formats:
            v = data["variants"][fmt]
            dst = out / Path(v["path"]).name
            shutil.copyfile(v["path"], dst)
            variants[fmt] = {**v, "path": str(dst)}
        dst_raw = out / raw.name
        shutil.copyfile(raw, dst_raw)
        result = TinyOsImage(result.kernel_version, dst_raw, result.sha256, result.size, variants,
                           out / "ingot-test-os.json")
        result.manifest.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return result


@click.group("image")
def image() -> None:
    """OS images."""


@image.command("build-tiny-os")
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Copy the images and a manifest here.")
@click.option("--size-mib", type=int, default=24, show_default=True)
@click.option("--force", is_flag=True)
def build_test(output, size_mib, force) -> None:
    """Build the bootable test OS image (raw + .gz + .xz, with sha256s)."""
    try:
        img = build_tiny_os_image(output, size_mib=size_mib, force=force)
    except RamdiskBuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(img.as_dict(), indent=2))
