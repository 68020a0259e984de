"""Userland tools for the ramdisks, taken from Debian packages (``apt-get download`` + ``dpkg -x``).

The deploy agent partitions disks (``sgdisk``), builds RAID arrays (``mdadm``), makes filesystems
(``mke2fs``, ``mkfs.fat``) and installs boot loaders (``extlinux`` + ``gptmbr.bin`` for BIOS,
``systemd-bootx64.efi`` for UEFI); the test OS assembles its arrays with ``mdadm``. Those are
dynamically linked, so their shared libraries come along: every ``DT_NEEDED`` of every binary
must be found in :data:`LIBRARY_PACKAGES` (the build fails naming what is missing), and the
libraries land in ``/lib/x86_64-linux-gnu`` with the loader at ``/lib64``.
"""
from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import Callable, Iterable

#: package -> files (paths inside the package) the agent needs
AGENT_TOOLS: dict[str, tuple[str, ...]] = {
    "mdadm": ("sbin/mdadm",),
    "gdisk": ("sbin/sgdisk",),
    "e2fsprogs": ("sbin/mke2fs", "etc/mke2fs.conf"),
    "util-linux": ("sbin/blkid",),   # busybox-static has no blkid
    "dosfstools": ("sbin/mkfs.fat",),
    "extlinux": ("usr/bin/extlinux",),
    "syslinux-common": ("usr/lib/syslinux/mbr/gptmbr.bin",),
    "systemd-boot-efi": ("usr/lib/systemd/boot/efi/systemd-bootx64.efi",),
}
#: what the test OS needs to find its RAID root
OS_TOOLS: dict[str, tuple[str, ...]] = {"mdadm": ("sbin/mdadm",)}
#: names the tools are also called by (mke2fs picks the filesystem from its name)
ALIASES = {"sbin/mkfs.ext4": "mke2fs", "sbin/mkfs.ext3": "mke2fs", "sbin/mkfs.ext2": "mke2fs",
           "sbin/mkfs.vfat": "mkfs.fat"}
#: where the shared libraries of those tools come from
LIBRARY_PACKAGES = ("libc6", "libudev1", "libstdc++6", "libgcc-s1", "libpopt0", "libuuid1",
                    "libext2fs2", "libcom-err2", "libblkid1")
LIB_DIR = "lib/x86_64-linux-gnu"
LOADER = "ld-linux-x86-64.so.2"
SYMLINK = stat.S_IFLNK | 0o777

_ELF64 = b"\x7fELF\x02\x01"
_SHT_DYNAMIC, _DT_NEEDED = 6, 1


def elf_needed(data: bytes) -> list[str]:
    """The ``DT_NEEDED`` sonames of a little-endian ELF64 file ([] for anything else)."""
    if not data.startswith(_ELF64):
        return []
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    needed = []
    for sh in sections:
        if sh[1] != _SHT_DYNAMIC:
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 16):
            tag, val = struct.unpack_from("<qQ", data, off)
            if tag == 0:
                break
            if tag == _DT_NEEDED:
                start = strtab[4] + val
                needed.append(data[start:data.index(b"\x00", start)].decode())
    return needed


class ToolError(RuntimeError):
    """A tool's file or library is missing."""


def _real(tree: Path, rel: str) -> Path:
    """``rel`` inside ``tree`` with symlinks followed inside the tree (absolute targets stay inside)."""
    path = tree / rel
    for _ in range(16):
        if not path.is_symlink():
            return path
        target = os.readlink(path)
        path = tree / target.lstrip("/") if target.startswith("/") else path.parent / target
    raise ToolError(f"symlink loop at {tree / rel}")


def _library_index(trees: Iterable[Path]) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for tree in trees:
        for base in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64"):
            d = tree / base
            if d.is_dir():
                for f in d.iterdir():
                    if ".so" in f.name:
                        index.setdefault(f.name, _real(tree, f"{base}/{f.name}"))
    return index


def collect(tools: dict[str, tuple[str, ...]], tree: Callable[[str], Path]) -> list[tuple[str, bytes, int]]:
    """``(path, data, mode)`` entries for the initramfs: the tools' files, their aliases, and every
    shared library they need (transitively); a mode with ``S_IFLNK`` is a symlink to ``data``.
    ``tree(package)`` is the unpacked package.

    Raises:
        ToolError: a file is missing, or a library is not in :data:`LIBRARY_PACKAGES`.
    """
    files: list[tuple[str, bytes, int]] = []
    wanted: list[str] = []
    for package, paths in tools.items():
        root = tree(package)
        for rel in paths:
            path = _real(root, rel)
            if not path.is_file():
                raise ToolError(f"{package} has no {rel}")
            data = path.read_bytes()
            files.append((rel, data, 0o755 if "bin/" in rel else 0o644))
            wanted += elf_needed(data)
    present = {p for p, _, _ in files}
    files += [(alias, target.encode(), SYMLINK) for alias, target in ALIASES.items()
              if f"{alias.rsplit('/', 1)[0]}/{target}" in present]
    if not wanted:
        return files
    index = _library_index(tree(p) for p in LIBRARY_PACKAGES)
    done: set[str] = set()
    while wanted:
        soname = wanted.pop()
        if soname in done:
            continue
        if soname not in index:
            raise ToolError(f"shared library {soname} is in none of {', '.join(LIBRARY_PACKAGES)}")
        done.add(soname)
        data = index[soname].read_bytes()
        files.append((f"{LIB_DIR}/{soname}", data, 0o755))
        wanted += elf_needed(data)
    if LOADER in done:
        files.append((f"lib64/{LOADER}", f"/{LIB_DIR}/{LOADER}".encode(), SYMLINK))
    return files
