"""Build Ingot's deploy ramdisk: a Debian kernel plus a busybox initramfs.

Nothing is installed on the build host. The kernel comes from Debian's
``linux-image-amd64`` package and busybox from ``busybox-static``; both are
fetched with ``apt-get download`` and unpacked with ``dpkg -x`` into a cache
directory. The initramfs (a gzip'd ``newc`` cpio archive) is written by this
module in pure Python, so building needs neither root nor the ``cpio`` tool.

Everything lands in a cache directory (``INGOT_RAMDISK_CACHE``, default
``~/.cache/ingot/ramdisk``) keyed by kernel version and by a hash of the
initramfs inputs, so a machine builds each variant once.

Public entry points: :func:`build_ramdisk` (wired as ``ingot admin ramdisk build``),
:func:`fetch_kernel` and :func:`build_initramfs` (reused by
:mod:`api.boot.tiny_os`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from api.boot.ramdisk.tools import AGENT_TOOLS, ToolError, collect
from api.core.config import Settings

HERE = Path(__file__).resolve().parent

#: bump when the layout of the initramfs changes in a way the hash misses
BUILD_FORMAT = "2"

KERNEL_META_PACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"

#: Modules for virtual machines (QEMU/KVM, the CI lab) — small and always included.
VM_MODULES = (
    "virtio_pci", "virtio_net", "net_failover", "virtio_blk", "virtio_scsi",
    "e1000", "e1000e", "sd_mod", "sr_mod", "ata_piix", "ahci",
)

#: Named module sets an operator can add with ``--modules`` (see docs/ramdisk.md).
MODULE_SETS: dict[str, tuple[str, ...]] = {
    "vm": VM_MODULES,
    # common datacenter NICs
    "nic": ("igb", "igc", "ixgbe", "i40e", "ice", "mlx4_en", "mlx5_core", "bnxt_en",
            "tg3", "bnx2x", "qede", "be2net", "r8169", "vmxnet3"),
    # common storage controllers and disks
    "storage": ("ahci", "nvme", "megaraid_sas", "mpt3sas", "hpsa", "smartpqi",
                "aacraid", "virtio_scsi", "sd_mod", "usb_storage", "uas", "xhci_pci",
                "ehci_pci"),
}
MODULE_SETS["hardware"] = tuple(dict.fromkeys(MODULE_SETS["nic"] + MODULE_SETS["storage"]))
# the host side of the machine's own BMC, for `ipmitool lan print` during inspection
MODULE_SETS["ipmi"] = ("ipmi_msghandler", "ipmi_si", "ipmi_devintf")

#: Modules the agent needs for storage layouts: software RAID and the filesystems it makes and mounts.
LAYOUT_MODULES = ("md_mod", "raid0", "raid1", "raid10", "raid456", "ext4", "vfat", "nls_cp437",
                  "nls_iso8859_1", "nls_ascii", "efivarfs")

#: Files of the deploy agent, relative to this package: (source, path in the initramfs, mode)
AGENT_FILES = (
    ("init.sh", "init", 0o755),
    ("lib.sh", "lib/ingot/lib.sh", 0o644),
    ("udhcpc.sh", "lib/ingot/udhcpc.sh", 0o755),
    ("storage.sh", "lib/ingot/storage.sh", 0o644),
)


class RamdiskBuildError(RuntimeError):
    """The ramdisk could not be built (missing tool, package or module)."""


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The build cache: ``path``, else ``$INGOT_RAMDISK_CACHE``, else ``~/.cache/ingot/ramdisk``."""
    path = path or Settings.from_env().ramdisk_cache
    if path:
        p = Path(path)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        p = Path(base) / "ingot" / "ramdisk"
    p.mkdir(parents=True, exist_ok=True)
    return p


@contextlib.contextmanager
def build_lock(root: Path):
    """Serialise builds sharing a cache directory (parallel test workers, CLI + tests)."""
    with open(root / ".build.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: Sequence[str], cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> str:
    try:
        res = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False,
                             env={**os.environ, **env} if env else None)
    except FileNotFoundError as exc:
        raise RamdiskBuildError(f"{cmd[0]} not found; install it (see docs/ramdisk.md)") from exc
    if res.returncode != 0:
        raise RamdiskBuildError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()[-2000:]}")
    return res.stdout


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- packages

def resolve_kernel_package(meta: str = KERNEL_META_PACKAGE) -> str | None:
    """The versioned package the meta package depends on (``linux-image-6.1.0-NN-amd64``)."""
    try:
        out = subprocess.run(["apt-cache", "depends", meta], capture_output=True, text=True,
                             check=False).stdout
    except FileNotFoundError:
        return None
    for line in out.splitlines():
        m = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
        if m and "unsigned" not in m.group(1):
            return m.group(1)
    return None


def download_deb(package: str, dest: Path) -> Path:
    """``apt-get download`` one package into ``dest`` (kept as a cache) and return the .deb."""
    dest.mkdir(parents=True, exist_ok=True)
    existing = sorted(dest.glob(f"{package}_*.deb"))
    if existing:
        return existing[-1]
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        # apt drops privileges to _apt; a private dir it can write avoids a warning
        os.chmod(tmp, 0o777)
        _run(["apt-get", "download", "-q", package], cwd=tmp)
        debs = glob.glob(os.path.join(tmp, f"{package}_*.deb"))
        if not debs:
            raise RamdiskBuildError(f"apt-get download {package} produced no .deb")
        target = dest / os.path.basename(debs[0])
        shutil.move(debs[0], target)
    return target


def _extract_deb(deb: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _run(["dpkg-deb", "-x", str(deb), str(tmp)])
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


@dataclasses.dataclass
class Kernel:
    version: str          # e.g. 6.1.0-56-amd64
    vmlinuz: Path
    modules_dir: Path     # .../lib/modules/<version>

    def module_index(self) -> dict[str, Path]:
        """Module name (``-`` normalised to ``_``) -> file."""
        index: dict[str, Path] = {}
        for path in (self.modules_dir / "kernel").rglob("*.ko*"):
            name = path.name.split(".ko")[0].replace("-", "_")
            index.setdefault(name, path)
        return index

    def aliases(self) -> dict[str, list[str]]:
        """Exact (non-wildcard) module aliases from depmod's modules.alias: alias -> module names."""
        f = self.modules_dir / "modules.alias"
        out: dict[str, list[str]] = {}
        if f.exists():
            for line in f.read_text().splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "alias" and not any(c in parts[1] for c in "*?["):
                    out.setdefault(parts[1], []).append(parts[2].replace("-", "_"))
        return out

    def builtin(self) -> set[str]:
        f = self.modules_dir / "modules.builtin"
        if not f.exists():
            return set()
        return {Path(line.strip()).name.split(".ko")[0].replace("-", "_")
                for line in f.read_text().splitlines() if line.strip()}


def fetch_kernel(cache: str | os.PathLike | None = None, kernel_deb: str | os.PathLike | None = None) -> Kernel:
    """Download (once) and unpack Debian's current kernel package into the cache.

    ``kernel_deb`` (or ``$INGOT_KERNEL_DEB``) uses a local ``linux-image-*.deb``
    instead, e.g. a backports kernel for newer hardware.
    """
    root = cache_dir(cache)
    kernel_deb = kernel_deb or Settings.from_env().kernel_deb
    if kernel_deb:
        deb = Path(kernel_deb)
        pkg = deb.name.split("_")[0]
    else:
        pkg = resolve_kernel_package()
        if pkg is None:
            # offline: fall back to the newest kernel already unpacked here
            found = sorted(root.glob("kernel-*/boot/vmlinuz-*"))
            if not found:
                raise RamdiskBuildError(
                    f"cannot resolve {KERNEL_META_PACKAGE} (run apt-get update) and no cached kernel in {root}")
            return _kernel_from_tree(found[-1].parents[1])
        deb = None
    version = pkg[len("linux-image-"):]
    tree = root / f"kernel-{version}"
    if not (tree / "boot" / f"vmlinuz-{version}").exists():
        if deb is None:
            deb = download_deb(pkg, root / "debs")
        _extract_deb(deb, tree)
    kernel = _kernel_from_tree(tree)
    if not (kernel.modules_dir / "modules.alias").exists() and shutil.which("depmod"):
        # aliases resolve soft dependencies (e.g. crc-t10dif wants "crct10dif"); the
        # package ships none because its postinst runs depmod on the installed host
        base = kernel.modules_dir.parents[3] if kernel.modules_dir.parents[2].name == "usr" \
            else kernel.modules_dir.parents[2]
        _run(["depmod", "-b", str(base), kernel.version])
    return kernel


def _kernel_from_tree(tree: Path) -> Kernel:
    vmlinuz = sorted((tree / "boot").glob("vmlinuz-*"))
    if not vmlinuz:
        raise RamdiskBuildError(f"no vmlinuz in {tree}/boot")
    version = vmlinuz[-1].name[len("vmlinuz-"):]
    mods = tree / "lib" / "modules" / version
    if not mods.is_dir():
        mods = tree / "usr" / "lib" / "modules" / version   # merged-/usr kernels
    return Kernel(version=version, vmlinuz=vmlinuz[-1], modules_dir=mods)


def fetch_busybox(cache: str | os.PathLike | None = None) -> Path:
    """A static busybox binary from Debian's ``busybox-static`` (downloaded once)."""
    root = cache_dir(cache)
    deb = download_deb(BUSYBOX_PACKAGE, root / "debs")
    tree = root / ("busybox-" + deb.stem.split("_", 1)[1])
    binary = tree / "bin" / "busybox"
    if not binary.exists():
        _extract_deb(deb, tree)
    if not binary.exists():
        raise RamdiskBuildError(f"{deb.name} has no bin/busybox")
    return binary


# --------------------------------------------------------------------------- modules

def _module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.name.endswith(".ko.zst"):
        try:
            return subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            raise RamdiskBuildError(f"{path.name} is zstd-compressed; install zstd") from exc
    return data


def module_depends(path: Path) -> list[str]:
    """The module's ``depends`` list (``modinfo -F depends``; read from .modinfo if modinfo is absent)."""
    if shutil.which("modinfo") and path.name.endswith(".ko"):
        out = _run(["modinfo", "-F", "depends", str(path)]).strip()
    else:
        data = _module_bytes(path)
        m = re.search(rb"\x00depends=([^\x00]*)\x00", data)
        out = m.group(1).decode() if m else ""
    return [d.replace("-", "_") for d in out.split(",") if d.strip()]


def module_softdeps_pre(path: Path) -> list[str]:
    """The ``pre:`` soft dependencies (``modinfo -F softdep``), names or aliases."""
    if not (shutil.which("modinfo") and path.name.endswith(".ko")):
        return []
    out = _run(["modinfo", "-F", "softdep", str(path)]).split()
    pre, on = [], False
    for tok in out:
        if tok.endswith(":"):
            on = tok == "pre:"
        elif on:
            pre.append(tok)
    return pre


def resolve_modules(kernel: Kernel, wanted: Iterable[str], *, strict: bool = False) -> list[Path]:
    """Module files for ``wanted`` plus their dependencies, dependencies first.

    Names that are built into the kernel are skipped; unknown names raise when
    ``strict`` and are skipped otherwise.
    """
    index = kernel.module_index()
    builtin = kernel.builtin()
    aliases = kernel.aliases()
    order: list[Path] = []
    seen: set[str] = set()
    missing: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        name = name.replace("-", "_")
        if name in seen or name in builtin:
            return
        if name in stack:
            return  # a cycle cannot be loaded by insmod anyway; keep going
        path = index.get(name)
        if path is None:
            missing.append(name)
            return
        for soft in module_softdeps_pre(path):
            key = soft.replace("-", "_")
            targets = [key] if key in index or key in builtin else \
                aliases.get(soft, []) + aliases.get("crypto-" + soft, [])
            for target in dict.fromkeys(targets):
                if target in index:
                    visit(target, stack + (name,))
        for dep in module_depends(path):
            visit(dep, stack + (name,))
        seen.add(name)
        order.append(path)

    for name in wanted:
        visit(name, ())
    if missing and strict:
        raise RamdiskBuildError(f"modules not found in kernel {kernel.version}: {', '.join(sorted(set(missing)))}")
    return order


# --------------------------------------------------------------------------- cpio

class CpioWriter:
    """A minimal ``newc`` cpio writer: files, directories and device nodes, all owned by root."""

    def __init__(self, fh: io.BufferedIOBase):
        self.fh = fh
        self.ino = 1
        self.dirs: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b"\x00"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0]
        self.ino += 1
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.fh.write(header + encoded)
        self.fh.write(b"\x00" * ((4 - (len(header) + len(encoded)) % 4) % 4))
        self.fh.write(data)
        self.fh.write(b"\x00" * ((4 - len(data) % 4) % 4))

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub and sub not in self.dirs:
                self.dirs.add(sub)
                self._entry(sub, 0o040000 | mode)

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """A regular file; a ``mode`` with a file type (``stat.S_IFLNK | 0o777``) makes that instead
        (a symlink's data is its target)."""
        path = path.strip("/")
        if "/" in path:
            self.mkdir(path.rsplit("/", 1)[0])
        self._entry(path, mode if mode & 0o170000 else 0o100000 | mode, data)

    def add_chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        path = path.strip("/")
        if "/" in path:
            self.mkdir(path.rsplit("/", 1)[0])
        self._entry(path, 0o020000 | mode, rdev=(major, minor))

    def close(self) -> None:
        self._entry("TRAILER!!!", 0)


def build_initramfs(output: Path, *, kernel: Kernel, busybox: Path, files: Sequence[tuple[str, bytes, int]],
                    modules: Iterable[str]) -> list[str]:
    """Write a gzip'd initramfs: busybox, ``files`` [(path, data, mode)], and ``modules`` (+deps).

    The modules are stored under ``/lib/modules/<version>/`` uncompressed and
    listed, dependencies first, in ``/etc/ingot/modules`` for the init script
    to ``insmod``. Returns that list.
    """
    mod_paths = resolve_modules(kernel, modules)
    listed: list[str] = []
    tmp = output.with_name(output.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        cpio = CpioWriter(gz)
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "mnt",
                  "etc/ingot", "lib/ingot", "root", "var/log"):
            cpio.mkdir(d)
        cpio.add_chardev("dev/console", 5, 1)
        cpio.add_chardev("dev/null", 1, 3, 0o666)
        cpio.add_file("bin/busybox", busybox.read_bytes(), 0o755)
        for rel, data, mode in files:
            cpio.add_file(rel, data, mode)
        for path in mod_paths:
            rel = path.relative_to(kernel.modules_dir).as_posix()
            rel = re.sub(r"\.ko\.(xz|gz|zst)$", ".ko", rel)
            cpio.add_file(f"lib/modules/{kernel.version}/{rel}", _module_bytes(path))
            listed.append(rel)
        cpio.add_file("etc/ingot/modules", ("\n".join(listed) + "\n").encode())
        cpio.add_file("etc/ingot/kernel-version", (kernel.version + "\n").encode())
        cpio.close()
    tmp.rename(output)
    return listed


# --------------------------------------------------------------------------- the deploy ramdisk

@dataclasses.dataclass
class Ramdisk:
    kernel_version: str
    kernel: Path
    initrd: Path
    kernel_sha256: str
    initrd_sha256: str
    modules: list[str]
    manifest: Path

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def _agent_files() -> list[tuple[str, bytes, int]]:
    return [(dest, (HERE / src).read_bytes(), mode) for src, dest, mode in AGENT_FILES]


def _expand_modules(extra: Iterable[str]) -> list[str]:
    names: list[str] = list(VM_MODULES + LAYOUT_MODULES)
    env = Settings.from_env().ramdisk_modules
    for item in list(extra) + [x for x in re.split(r"[\s,]+", env) if x]:
        for name in re.split(r"[\s,]+", item):
            if not name:
                continue
            if name.startswith("@"):            # @hardware, @nic, @storage
                key = name[1:]
                if key not in MODULE_SETS:
                    raise RamdiskBuildError(f"unknown module set {name!r}; known: "
                                            + ", ".join("@" + k for k in MODULE_SETS))
                names.extend(MODULE_SETS[key])
            else:
                names.append(name)
    return list(dict.fromkeys(names))


def package_tree(package: str, cache: str | os.PathLike | None = None) -> Path:
    """A Debian package downloaded (once) and unpacked in the cache."""
    root = cache_dir(cache)
    deb = download_deb(package, root / "debs")
    tree = root / ("pkg-" + deb.stem)
    if not tree.exists():
        _extract_deb(deb, tree)
    return tree


def tool_files(tools: dict[str, tuple[str, ...]], cache: str | os.PathLike | None = None
               ) -> list[tuple[str, bytes, int]]:
    """The files of ``tools`` (package -> paths) and their shared libraries, from Debian packages
    (see :mod:`api.boot.ramdisk.tools`). Raises RamdiskBuildError."""
    try:
        return collect(tools, lambda package: package_tree(package, cache))
    except ToolError as exc:
        raise RamdiskBuildError(str(exc)) from exc


def firmware_files(packages: Iterable[str], cache: str | os.PathLike | None = None) -> list[tuple[str, bytes, int]]:
    """``lib/firmware/...`` files of Debian firmware packages (e.g. ``firmware-bnx2x``).

    The packages come from the ``non-free-firmware`` component, which must be in
    the host's apt sources.
    """
    root = cache_dir(cache)
    files: list[tuple[str, bytes, int]] = []
    for pkg in packages:
        deb = download_deb(pkg, root / "debs")
        tree = root / ("fw-" + deb.stem)
        if not tree.exists():
            _extract_deb(deb, tree)
        for base in (tree / "lib" / "firmware", tree / "usr" / "lib" / "firmware"):
            if base.is_dir():
                for f in sorted(base.rglob("*")):
                    if f.is_file() and not f.is_symlink():
                        files.append(("lib/firmware/" + f.relative_to(base).as_posix(), f.read_bytes(), 0o644))
    return files


def hook_files(hooks_dir: str | os.PathLike) -> list[tuple[str, bytes, int]]:
    """Every ``*.sh`` in ``hooks_dir`` as ``/etc/ingot/hooks/<name>`` (sourced by the agent)."""
    d = Path(hooks_dir)
    if not d.is_dir():
        raise RamdiskBuildError(f"hooks directory {d} does not exist")
    return [(f"etc/ingot/hooks/{f.name}", f.read_bytes(), 0o644) for f in sorted(d.glob("*.sh"))]


def build_ramdisk(output: str | os.PathLike | None = None, *, cache: str | os.PathLike | None = None,
                  modules: Iterable[str] = (), extra_files: Sequence[tuple[str, bytes, int]] = (),
                  firmware_packages: Iterable[str] = (), hooks_dir: str | os.PathLike | None = None,
                  kernel_deb: str | os.PathLike | None = None, force: bool = False) -> Ramdisk:
    """Build (or reuse from the cache) the deploy kernel + initramfs.

    Args:
        output: also copy the kernel and initrd here as ``vmlinuz`` and ``initrd`` (the names
            Ingot serves), with an ``ingot-deploy.json`` manifest.
        cache: the cache directory (default :func:`cache_dir`).
        modules: extra module names or sets (``@hardware``, ``@nic``, ``@storage``);
            ``$INGOT_RAMDISK_MODULES`` adds more (comma/space separated).
        extra_files: extra ``(path, data, mode)`` to put in the initramfs, e.g.
            firmware under ``lib/firmware/`` or a hook in ``etc/ingot/hooks/``.
        firmware_packages: Debian firmware packages whose ``lib/firmware`` to include.
        hooks_dir: a directory of ``*.sh`` hooks the agent sources before networking.
        kernel_deb: a local ``linux-image-*.deb`` to use instead of Debian's current one.
        force: rebuild even if the cache has this variant.
    """
    root = cache_dir(cache)
    with build_lock(root):
        return _build_ramdisk(root, output, modules, extra_files, firmware_packages, hooks_dir, kernel_deb, force)


def _build_ramdisk(root, output, modules, extra_files, firmware_packages, hooks_dir, kernel_deb, force) -> Ramdisk:
    kernel = fetch_kernel(root, kernel_deb)
    busybox = fetch_busybox(root)
    names = _expand_modules(modules)
    agent = _agent_files() + tool_files(AGENT_TOOLS, root) + list(extra_files) \
        + firmware_files(firmware_packages, root)
    if hooks_dir:
        agent += hook_files(hooks_dir)
    h = hashlib.sha256(BUILD_FORMAT.encode())
    h.update(busybox.parent.parent.name.encode())
    for name in names:
        h.update(b"m:" + name.encode())
    for path, data, mode in agent:
        h.update(f"f:{path}:{mode}:".encode() + hashlib.sha256(data).digest())
    tag = h.hexdigest()[:12]

    kernel_out = root / f"ingot-deploy-{kernel.version}.vmlinuz"
    initrd_out = root / f"ingot-deploy-{kernel.version}-{tag}.initrd.gz"
    manifest = root / f"ingot-deploy-{kernel.version}-{tag}.json"
    if force or not (kernel_out.exists() and initrd_out.exists() and manifest.exists()):
        if force or not kernel_out.exists():
            shutil.copyfile(kernel.vmlinuz, kernel_out.with_suffix(".tmp"))
            kernel_out.with_suffix(".tmp").rename(kernel_out)
        listed = build_initramfs(initrd_out, kernel=kernel, busybox=busybox, files=agent, modules=names)
        result = Ramdisk(kernel.version, kernel_out, initrd_out, _sha256(kernel_out), _sha256(initrd_out),
                         listed, manifest)
        manifest.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        data = json.loads(manifest.read_text())
        result = Ramdisk(kernel.version, kernel_out, initrd_out, data["kernel_sha256"], data["initrd_sha256"],
                         data["modules"], manifest)

    if output:
        # stable names, as Ingot serves them (GET /metal/v1/boot/files/vmlinuz|initrd)
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        for src, name in ((kernel_out, "vmlinuz"), (initrd_out, "initrd")):
            tmp = out / f".{name}.{os.getpid()}.tmp"
            shutil.copyfile(src, tmp)
            tmp.replace(out / name)
        copied = Ramdisk(result.kernel_version, out / "vmlinuz", out / "initrd", result.kernel_sha256,
                         result.initrd_sha256, result.modules, out / "ingot-deploy.json")
        copied.manifest.write_text(json.dumps({**copied.as_dict(), "built_from": {
            "kernel": kernel_out.name, "initrd": initrd_out.name}}, indent=2) + "\n")
        return copied
    return result

