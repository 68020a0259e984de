"""Storage layouts checked against what they will run on: the plan's and the machine's disks, the
machine's boot mode, the operating system's image kind, and the rules of a reinstall that keeps data.

Every check raises :class:`~api.core.errors.Invalid` with one ``storage...: reason`` (or
``preserve_data: reason``) message per problem, before anything is written anywhere.
"""
from __future__ import annotations

import re

from api.core.errors import Invalid
from api.models import Device, Machine, OperatingSystem, Plan
from api.schemas.storage import check_boot, check_disks, data_filesystems

# image formats of a root filesystem archive (extracted into the root filesystem of a layout);
# raw, gz and xz are whole-disk images (written over the first disk, partition table and all)
ARCHIVE_FORMATS = ("tar", "tar.gz", "tar.xz")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$", re.IGNORECASE)
_DECIMAL = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}


def _raise(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise Invalid(*[f"{path}: {reason}" for path, reason in problems])


def plan_disks(plan: Plan) -> dict[str, int | None] | None:
    """The disks a plan promises: ``specs.drives[].devices`` (Ingot), sized by the drive's ``size``
    (``480GB``); None when the plan names no devices."""
    disks: dict[str, int | None] = {}
    for drive in (plan.specs or {}).get("drives") or []:
        if not isinstance(drive, dict):
            continue
        m = _SIZE.match(str(drive.get("size") or ""))
        size = int(float(m.group(1)) * _DECIMAL[m.group(2).upper()]) if m else None
        for device in drive.get("devices") or []:
            disks[str(device)] = size
    return disks or None


def machine_disks(machine: Machine) -> dict[str, int | None] | None:
    """The disks inspection found on a machine (``/dev/<name>`` -> bytes); None when not inspected."""
    disks: dict[str, int | None] = {}
    for disk in (machine.facts or {}).get("disks") or []:
        name = str(disk.get("name") or "")
        if not name:
            continue
        size = disk.get("size_bytes") or (int(disk["size_gb"] * 10 ** 9) if disk.get("size_gb") else None)
        disks[name if name.startswith("/dev/") else f"/dev/{name}"] = size
    return disks or None


def check_plan_layout(layout: dict, plan: Plan) -> None:
    """A layout (a device's or the plan's default) against the plan's disks. Raises Invalid."""
    disks = plan_disks(plan)
    if layout and disks is not None:
        _raise(check_disks(layout, disks, f"plan {plan.slug}"))


def check_machine_layout(layout: dict, machine: Machine) -> None:
    """A layout against the machine it will be written on (its inspected disks, its boot mode). Raises Invalid."""
    if not layout:
        return
    disks = machine_disks(machine)
    problems = check_disks(layout, disks, f"machine {machine.hostname}") if disks is not None else []
    _raise(problems + check_boot(layout, machine.boot_mode or "bios", f"machine {machine.hostname}"))


def check_os(layout: dict, os_row: OperatingSystem) -> None:
    """The OS must suit the layout: a root filesystem archive needs a layout, and a layout needs one.

    Raises Invalid."""
    archive = os_row.install_method == "image" and os_row.image_format in ARCHIVE_FORMATS
    if layout and not archive:
        how = "a whole-disk image" if os_row.install_method == "image" else \
            "installed by its own installer" if os_row.install_method == "ipxe_recipe" else "the tenant's iPXE script"
        raise Invalid(f"storage: operating system {os_row.slug} is {how}; a custom layout needs an image OS whose "
                      f"image is a root filesystem archive (image_format {', '.join(ARCHIVE_FORMATS)})")
    if archive and not layout:
        raise Invalid(f"storage: operating system {os_row.slug} is a root filesystem archive: the device (or its "
                      "plan) needs a storage layout to extract it into")


def check_preserve_data(device: Device, layout: dict) -> None:
    """``preserve_data`` on a reinstall: the layout must keep a data filesystem apart from the OS's, and
    stay the layout the data was written with. Raises Invalid."""
    if not layout:
        raise Invalid("preserve_data: the device has no storage layout separating the root filesystem from "
                      "data; without one the whole disk is rewritten (reinstall without preserve_data)")
    if not data_filesystems(layout):
        raise Invalid("preserve_data: the device's storage layout has no filesystem besides the operating "
                      "system's (/, /boot, /boot/efi) and swap; there is no data to keep")
    if device.storage and layout != device.storage:
        raise Invalid("preserve_data: the data filesystems stay where they are, so the storage layout cannot "
                      "change in the same reinstall")
