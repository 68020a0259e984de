"""The custom storage layout (Equinix ``storage``): its shape, normalised, and the rules it must keep.

A layout names disks and their GPT partitions, RAID arrays built from partitions, and
filesystems made on partitions or arrays::

    {"disks": [{"device": "/dev/sda", "wipeTable": true,
                "partitions": [{"label": "EFI", "number": 1, "size": "512M"},
                               {"label": "ROOT", "number": 2, "size": 0}]}],
     "raid": [{"devices": ["/dev/sda2", "/dev/sdb2"], "level": "1", "name": "/dev/md/ROOT"}],
     "filesystems": [{"mount": {"device": "/dev/md/ROOT", "format": "ext4", "point": "/",
                                "create": {"options": ["-L", "ROOT"]}}}]}

Sizes are what ``sgdisk`` takes: a number of 512-byte sectors, or a number with ``K``, ``M``,
``G`` or ``T`` (binary units); ``0`` is the rest of the disk (the disk's last partition only).
``wipe_table`` is accepted for ``wipeTable`` and ``mount.options`` for ``mount.create.options``;
answers use the spec's spelling (``wipeTable``, ``mount.options``).

:func:`parse` checks the shape and the rules within the layout (references, RAID members, one
root filesystem); :func:`check_disks` and :func:`check_boot` check it against a plan's or a
machine's disks and boot mode. Both report ``("storage.<path>", reason)`` pairs.
"""
from __future__ import annotations

import json
import re

from marshmallow import ValidationError, fields

SECTOR = 512
UNITS = {"": SECTOR, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
FORMATS = ("ext4", "ext3", "ext2", "vfat", "swap")
RAID_MIN_MEMBERS = {"0": 2, "1": 2, "5": 3, "6": 4, "10": 2}
OS_POINTS = ("/", "/boot", "/boot/efi")   # rewritten by a reinstall that preserves data
ESP_POINT = "/boot/efi"
GPT_OVERHEAD = 2048 * SECTOR + 34 * SECTOR  # first MiB (alignment, primary GPT) + the backup GPT
MAX_DISKS, MAX_PARTITIONS, MAX_OPTIONS = 32, 128, 16

_DISK = re.compile(r"^/dev/(sd[a-z]{1,2}|vd[a-z]{1,2}|xvd[a-z]{1,2}|hd[a-z]|nvme\d{1,2}n\d{1,2}|mmcblk\d{1,2})$")
_RAID = re.compile(r"^/dev/(md/[A-Za-z0-9_-]{1,32}|md\d{1,3})$")
_SIZE = re.compile(r"^(\d{1,15})([KMGT]?)$")
_LABEL = re.compile(r"^[A-Za-z0-9._-]{1,36}$")
_POINT = re.compile(r"^/([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$")
_OPTION = re.compile(r"^[A-Za-z0-9=,._:+/-]{1,64}$")


class LayoutError(ValueError):
    """A layout that breaks the rules; ``problems`` are ``(field path, reason)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{p}: {r}" for p, r in problems))
        self.problems = problems

    def messages(self) -> list[str]:
        return [f"{p}: {r}" for p, r in self.problems]


def partition_device(disk: str, number: int) -> str:
    """``/dev/sda`` 2 -> ``/dev/sda2``; ``/dev/nvme0n1`` 2 -> ``/dev/nvme0n1p2``."""
    return f"{disk}p{number}" if disk[-1].isdigit() else f"{disk}{number}"


def size_bytes(size: str) -> int:
    """Bytes of a normalised size (``0``: the rest of the disk)."""
    m = _SIZE.fullmatch(size)
    return int(m.group(1)) * UNITS[m.group(2)]


def _size(value, path: str, problems: list) -> str | None:
    text = str(value).strip().upper() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    text = re.sub(r"^(\d+)([KMGT])I?B$", r"\1\2", text)   # 512MiB, 512MB -> 512M (binary units, as sgdisk)
    m = _SIZE.fullmatch(text)
    if not m:
        problems.append((path, f"{value!r} is not a size (512M, 20G, a number of 512-byte sectors, or 0)"))
        return None
    return str(int(m.group(1))) + m.group(2)


def _obj(value, path: str, problems: list) -> dict:
    if not isinstance(value, dict):
        problems.append((path, "must be an object"))
        return {}
    return value


def _list(value, path: str, problems: list, limit: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append((path, "must be a list"))
        return []
    if len(value) > limit:
        problems.append((path, f"at most {limit} items"))
        return []
    return value


def _text(value, path: str, problems: list, pattern: re.Pattern, what: str) -> str | None:
    if not isinstance(value, str) or not pattern.fullmatch(value):  # fullmatch: "$" would take a final newline
        problems.append((path, f"{value!r} is not {what}"))
        return None
    return value


def _unknown(doc: dict, known: tuple[str, ...], path: str, problems: list) -> None:
    for key in doc:
        if key not in known:
            problems.append((f"{path}.{key}", "is not a known field"))


def _disks(raw: list, problems: list) -> list[dict]:
    disks, seen = [], set()
    for i, item in enumerate(_list(raw, "storage.disks", problems, MAX_DISKS)):
        path = f"storage.disks[{i}]"
        d = _obj(item, path, problems)
        _unknown(d, ("device", "wipeTable", "wipe_table", "partitions"), path, problems)
        device = _text(d.get("device"), f"{path}.device", problems, _DISK,
                       "a disk device (/dev/sda, /dev/vdb, /dev/nvme0n1...)")
        if device in seen:
            problems.append((f"{path}.device", f"{device} is listed twice"))
        seen.add(device)
        wipe = d.get("wipeTable", d.get("wipe_table", False))
        if not isinstance(wipe, bool):
            problems.append((f"{path}.wipeTable", "must be true or false"))
        parts, numbers = [], set()
        raw_parts = _list(d.get("partitions"), f"{path}.partitions", problems, MAX_PARTITIONS)
        for j, p_raw in enumerate(raw_parts):
            ppath = f"{path}.partitions[{j}]"
            p = _obj(p_raw, ppath, problems)
            _unknown(p, ("label", "number", "size"), ppath, problems)
            number = p.get("number")
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PARTITIONS:
                problems.append((f"{ppath}.number", f"must be a partition number from 1 to {MAX_PARTITIONS}"))
                number = None
            elif number in numbers:
                problems.append((f"{ppath}.number", f"partition {number} is listed twice"))
            numbers.add(number)
            label = p.get("label") or f"part{number}"
            _text(label, f"{ppath}.label", problems, _LABEL, "a label (1 to 36 letters, digits, '.', '_', '-')")
            size = _size(p.get("size", 0), f"{ppath}.size", problems)
            if size == "0" and j != len(raw_parts) - 1:
                problems.append((f"{ppath}.size", "0 (the rest of the disk) overlaps the partitions after it; "
                                                  "only the disk's last partition may take the rest"))
            parts.append({"label": label, "number": number, "size": size})
        disks.append({"device": device, "wipeTable": wipe is True, "partitions": parts})
    return disks


def _raids(raw: list, partitions: set[str], problems: list) -> list[dict]:
    raids, names = [], set()
    for i, item in enumerate(_list(raw, "storage.raid", problems, MAX_DISKS)):
        path = f"storage.raid[{i}]"
        r = _obj(item, path, problems)
        _unknown(r, ("devices", "level", "name"), path, problems)
        name = _text(r.get("name"), f"{path}.name", problems, _RAID, "an array name (/dev/md/NAME or /dev/mdN)")
        if name in names:
            problems.append((f"{path}.name", f"{name} is listed twice"))
        names.add(name)
        level = str(r.get("level", "")).lower().removeprefix("raid")
        if level not in RAID_MIN_MEMBERS:
            problems.append((f"{path}.level",
                             f"{r.get('level')!r} is not a RAID level ({', '.join(RAID_MIN_MEMBERS)})"))
        members = [m for m in _list(r.get("devices"), f"{path}.devices", problems, MAX_DISKS)]
        for j, m in enumerate(members):
            if m not in partitions:
                problems.append((f"{path}.devices[{j}]", f"{m!r} is not a partition of the layout's disks"))
        if len(set(members)) != len(members):
            problems.append((f"{path}.devices", "a partition is listed twice"))
        if level in RAID_MIN_MEMBERS and len(members) < RAID_MIN_MEMBERS[level]:
            problems.append((f"{path}.devices", f"RAID {level} needs at least {RAID_MIN_MEMBERS[level]} devices, "
                                                f"got {len(members)}"))
        raids.append({"devices": members, "level": level, "name": name})
    return raids


def _filesystems(raw: list, devices: set[str], problems: list) -> list[dict]:
    out, points = [], set()
    for i, item in enumerate(_list(raw, "storage.filesystems", problems, MAX_PARTITIONS)):
        path = f"storage.filesystems[{i}]"
        f = _obj(item, path, problems)
        _unknown(f, ("mount",), path, problems)
        mpath = f"{path}.mount"
        m = _obj(f.get("mount"), mpath, problems)
        _unknown(m, ("device", "format", "point", "create", "options"), mpath, problems)
        device = m.get("device")
        if device not in devices:
            problems.append((f"{mpath}.device", f"{device!r} is not a partition or RAID array of the layout"))
        fmt = m.get("format")
        if fmt not in FORMATS:
            problems.append((f"{mpath}.format", f"{fmt!r} is not one of {', '.join(FORMATS)}"))
        point = m.get("point") or ("none" if fmt == "swap" else None)
        if fmt == "swap":
            if point != "none":
                problems.append((f"{mpath}.point", "a swap area has no mount point (use \"none\")"))
        elif _text(point, f"{mpath}.point", problems, _POINT, "an absolute mount point") and point in points:
            problems.append((f"{mpath}.point", f"{point} is mounted twice"))
        points.add(point)
        create = m.get("create") if m.get("create") is not None else {}
        create = _obj(create, f"{mpath}.create", problems)
        _unknown(create, ("options",), f"{mpath}.create", problems)
        options = create.get("options", m.get("options")) or []
        opath = f"{mpath}.create.options"
        for j, opt in enumerate(_list(options, opath, problems, MAX_OPTIONS)):
            _text(opt, f"{opath}[{j}]", problems, _OPTION, "a plain option (letters, digits, = , . _ : + / -)")
        out.append({"mount": {"device": device, "format": fmt, "point": point,
                              "options": list(options) if isinstance(options, list) else []}})
    return out


def parse(raw) -> dict:
    """The layout in its normal form ({} for none).

    Raises:
        LayoutError: the layout's shape or its rules are wrong.
    """
    if raw in (None, "", {}):
        return {}
    problems: list[tuple[str, str]] = []
    doc = _obj(raw, "storage", problems)
    _unknown(doc, ("disks", "raid", "filesystems"), "storage", problems)
    disks = _disks(doc.get("disks"), problems)
    partitions = {partition_device(d["device"], p["number"]) for d in disks if d["device"]
                  for p in d["partitions"] if p["number"]}
    raids = _raids(doc.get("raid"), partitions, problems)
    used: dict[str, str] = {}
    for i, r in enumerate(raids):
        for m in r["devices"]:
            if m in used:
                problems.append((f"storage.raid[{i}].devices", f"{m} is already used by {used[m]}"))
            used[m] = r["name"]
    devices = (partitions - set(used)) | {r["name"] for r in raids if r["name"]}
    filesystems = _filesystems(doc.get("filesystems"), devices | set(used), problems)
    with_fs: set[str] = set()
    for i, f in enumerate(filesystems):
        dev = f["mount"]["device"]
        if dev in used:
            problems.append((f"storage.filesystems[{i}].mount.device", f"{dev} is a member of {used[dev]}"))
        elif dev in with_fs:
            problems.append((f"storage.filesystems[{i}].mount.device", f"{dev} already has a filesystem"))
        with_fs.add(dev)
    roots = [f for f in filesystems if f["mount"]["point"] == "/"]
    if not problems and not roots:
        problems.append(("storage.filesystems", "no root filesystem: one filesystem must be mounted at /"))
    if problems:
        raise LayoutError(problems)
    return {"disks": disks, "raid": raids, "filesystems": filesystems}


def parse_json_or_object(value) -> dict:
    """Like :func:`parse`, for a layout given as an object or as a JSON string of one (Terraform's form)."""
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except ValueError:
            raise LayoutError([("storage", "must be a JSON object")]) from None
    return parse(value)


class StorageField(fields.Field):
    """A ``storage`` layout in a request: an object or a JSON string of one, normalised."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_json_or_object(value)
        except LayoutError as exc:
            # keys are full paths ("storage.disks[0].device"); the prefix is the field itself
            raise ValidationError({p.removeprefix("storage").lstrip(".") or "_schema": [r]
                                   for p, r in exc.problems}) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value or None


# --- the layout against a plan's or a machine's hardware ----------------------------

def root_filesystem(layout: dict) -> dict:
    return next(f["mount"] for f in layout["filesystems"] if f["mount"]["point"] == "/")


def boot_filesystem(layout: dict) -> dict:
    """The filesystem holding /boot (its own, or the root filesystem)."""
    return next((f["mount"] for f in layout["filesystems"] if f["mount"]["point"] == "/boot"),
                root_filesystem(layout))


def data_filesystems(layout: dict) -> list[dict]:
    """Filesystems a reinstall with preserve_data keeps (everything but the OS's and swap)."""
    return [f["mount"] for f in layout.get("filesystems", [])
            if f["mount"]["point"] not in OS_POINTS and f["mount"]["format"] != "swap"]


def check_disks(layout: dict, disks: dict[str, int | None], whose: str) -> list[tuple[str, str]]:
    """Problems of ``layout`` on hardware with ``disks`` (device -> bytes, None when unknown)."""
    problems = []
    known = ", ".join(sorted(disks)) or "none known"
    for i, d in enumerate(layout.get("disks", [])):
        if d["device"] not in disks:
            problems.append((f"storage.disks[{i}].device", f"{d['device']} is not a disk of {whose} (its disks: "
                                                           f"{known})"))
            continue
        capacity = disks[d["device"]]
        rest = any(p["size"] == "0" for p in d["partitions"])
        need = sum(size_bytes(p["size"]) for p in d["partitions"]) + GPT_OVERHEAD + (2**20 if rest else 0)
        if capacity and need > capacity:
            problems.append((f"storage.disks[{i}].partitions",
                             f"the sizes add up to {need // 2**20} MiB with the partition table, more than "
                             f"{d['device']}'s {capacity // 2**20} MiB: they would overlap"))
    return problems


def check_boot(layout: dict, boot_mode: str, whose: str) -> list[tuple[str, str]]:
    """Problems booting ``layout`` in ``boot_mode`` (``uefi``: an EFI system partition; ``bios``: an ext
    filesystem for /boot, on a partition or a RAID 1 array)."""
    raids = {r["name"]: r for r in layout.get("raid", [])}
    if boot_mode == "uefi":
        esp = next((f["mount"] for f in layout["filesystems"] if f["mount"]["point"] == ESP_POINT), None)
        if esp is None or esp["format"] != "vfat" or esp["device"] in raids:
            return [("storage.filesystems", f"{whose} boots by UEFI: the layout needs an EFI system partition, "
                                            f"a vfat filesystem on a partition mounted at {ESP_POINT}")]
        return []
    boot = boot_filesystem(layout)
    if not boot["format"].startswith("ext") or (boot["device"] in raids and raids[boot["device"]]["level"] != "1"):
        return [("storage.filesystems", f"{whose} boots by BIOS: /boot must be an ext2/3/4 filesystem on a "
                                        "partition or a RAID 1 array (the boot loader reads it there)")]
    return []


def agent_lines(layout: dict, preserve_data: bool) -> list[str]:
    """The layout as the deploy agent reads it: one whitespace-separated instruction per line.

    ``disk DEV wipe|keep``, ``part DEV NUMBER SIZE TYPE LABEL``, ``raid NAME LEVEL create|assemble
    MEMBERS...``, ``fs DEVICE FORMAT POINT make|keep OPTIONS...`` (filesystems in mount order). With
    ``preserve_data`` only the OS's filesystems are made; disks, arrays and data filesystems are kept.
    """
    fs_of = {f["mount"]["device"]: f["mount"] for f in layout["filesystems"]}
    members = {m: r for r in layout["raid"] for m in r["devices"]}
    lines = []
    for d in layout["disks"]:
        lines.append(f"disk {d['device']} {'keep' if preserve_data else 'wipe' if d['wipeTable'] else 'add'}")
        for p in d["partitions"]:
            dev = partition_device(d["device"], p["number"])
            mount = fs_of.get(dev) or {}
            kind = "fd00" if dev in members else "ef00" if mount.get("point") == ESP_POINT else \
                "8200" if mount.get("format") == "swap" else "8300"
            size = "0" if p["size"] == "0" else f"+{p['size']}"
            lines.append(f"part {d['device']} {p['number']} {size} {kind} {p['label']}")
    for r in layout["raid"]:
        lines.append(f"raid {r['name']} {r['level']} {'assemble' if preserve_data else 'create'} "
                     + " ".join(r["devices"]))
    ordered = sorted(layout["filesystems"], key=lambda f: (f["mount"]["point"] == "none",
                                                           f["mount"]["point"].count("/"), f["mount"]["point"]))
    for f in ordered:
        m = f["mount"]
        make = not preserve_data or m["point"] in OS_POINTS or m["format"] == "swap"
        options = list(m["options"])
        if m["format"] == "vfat" and options and options[0] in ("12", "16", "32"):
            options.insert(0, "-F")   # Equinix's documented form: ["32", "-n", "EFI"] means -F 32 -n EFI
        lines.append(" ".join([f"fs {m['device']} {m['format']} {m['point']} {'make' if make else 'keep'}",
                               *options]).rstrip())
    return lines
