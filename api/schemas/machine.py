"""Machines (operator-only). The BMC password is load-only: never dumped."""
from __future__ import annotations

import ipaddress
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import DirectDump, RequestSchema, as_iso, as_text, href, list_schema, validate_hostname

MAC_RE = re.compile(r"([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}")  # fullmatch
BMC_DRIVERS = ("sim", "redfish", "ipmi", "qemu", "wol")
BOOT_MODES = ("bios", "uefi")
IFACE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,15}")  # fullmatch
MACHINE_ACTIONS = ("power_on", "power_off", "reboot", "inspect", "set_boot_device")


def validate_mac(value: str) -> None:
    if not MAC_RE.fullmatch(value or ""):
        raise ValidationError("must be a MAC address like 52:54:00:12:34:56")


def _switch(n) -> dict | None:
    return {"id": n.switch.id, "name": n.switch.name} if n.switch else None


class NicSchema(DirectDump, Schema):
    id = fields.String(dump_only=True, metadata={"description": "The NIC's id."})
    mac = fields.String(metadata={"description": "Its MAC address."})
    name = fields.String(metadata={"description": "Its name (e.g. `eth0`; may be empty)."})
    switch = fields.Function(_switch, metadata={
        "description": "The switch it is cabled to (id and name), from enrolment or LLDP; null if unknown."})
    switch_port = fields.String(metadata={"description": "The switch port it is cabled to (empty if unknown)."})

    def _direct(self, n) -> dict:
        return {"id": as_text(n.id), "mac": as_text(n.mac), "name": as_text(n.name), "switch": _switch(n),
                "switch_port": as_text(n.switch_port)}


class NicInputSchema(RequestSchema):
    mac = fields.String(required=True, validate=validate_mac, metadata={
        "description": "The MAC address, like `52:54:00:12:34:56`."})
    name = fields.String(load_default="", validate=validate.Length(max=32), metadata={
        "description": "A name (e.g. `eth0`; up to 32 characters)."})
    switch = fields.String(load_default="", validate=validate.Length(max=128), metadata={
        "description": "The switch it is cabled to (name or id; with `switch_port`)."})
    switch_port = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "description": "The switch port it is cabled to (e.g. `swp3`; up to 64 characters)."})


class BMCSchema(DirectDump, Schema):
    driver = fields.String(attribute="bmc_driver", metadata={
        "description": "How Ingot powers it: `redfish`, `ipmi`, `wol` (Wake-on-LAN, no BMC), `sim` "
                       "(simulated) or `qemu`."})
    address = fields.String(attribute="bmc_address", metadata={
        "description": "The BMC's address (host, host:port or URL, as the driver takes it)."})
    username = fields.String(attribute="bmc_username", metadata={"description": "The BMC user."})
    options = fields.Dict(attribute="bmc_options", metadata={
        "description": "Driver options (e.g. Redfish's `verify_tls`, `system_id`; `wol`'s `probe`, "
                       "`power_off_command`)."})
    password_set = fields.Function(lambda m: bool(m.bmc_password_enc), metadata={
        "description": "Whether a BMC password is stored (it is never shown)."})

    def _direct(self, m) -> dict:
        return {"driver": as_text(m.bmc_driver), "address": as_text(m.bmc_address),
                "username": as_text(m.bmc_username), "options": _mapping(m.bmc_options),
                "password_set": bool(m.bmc_password_enc)}


def _mapping(value) -> dict | None:
    """A ``fields.Dict`` value as marshmallow dumps it (a copy)."""
    return None if value is None else dict(value)


def validate_ipv4(value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValidationError("must be an IPv4 address like 10.0.0.255") from None


def validate_interface(value: str) -> None:
    if value and not IFACE_RE.fullmatch(value):
        raise ValidationError("must be a network interface name like eth0")


def validate_probe(value: str) -> None:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in host):
        raise ValidationError("must be host:port")


class WolOptionsSchema(Schema):
    """What a ``wol`` machine's driver takes (api/bmc/wol.py); anything else is an error."""

    class Meta:
        unknown = RAISE

    mac = fields.String(validate=validate_mac, metadata={
        "description": "One MAC to wake (instead of the machine's NICs)."})
    macs = fields.List(fields.String(validate=validate_mac), validate=validate.Length(max=16), metadata={
        "description": "The MACs to wake (default: the machine's NICs); at most 16."})
    broadcast = fields.String(validate=validate_ipv4, metadata={
        "description": "The IPv4 broadcast address the packet goes to (default: the metro's, else "
                       "255.255.255.255)."})
    interface = fields.String(validate=validate_interface, metadata={
        "description": "Send through this network interface (e.g. `eth1`)."})
    port = fields.Integer(validate=validate.Range(min=1, max=65535), metadata={
        "description": "The UDP port (default 9)."})
    power_off_command = fields.List(fields.String(validate=validate.Length(min=1, max=1024)),
                                    validate=validate.Length(min=1, max=64), metadata={
        "description": "The command (an argv list) Ingot's worker runs to power the machine off; `{mac}` is "
                       "replaced by its first MAC."})
    probe = fields.String(validate=validate_probe, metadata={
        "description": "`host:port` whose TCP answer means the machine is on (e.g. its SSH port)."})


class BMCInputSchema(RequestSchema):
    driver = fields.String(required=True, validate=validate.OneOf(BMC_DRIVERS), metadata={
        "description": "`redfish`, `ipmi`, `wol` (no BMC: Wake-on-LAN), `sim` (the simulated lab) or `qemu`."})
    address = fields.String(load_default="", validate=validate.Length(max=512), metadata={
        "description": "The BMC's address (required but for `wol`, which takes none); up to 512 characters."})
    username = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The BMC user (none for `wol`)."})
    password = fields.String(load_default="", load_only=True, validate=validate.Length(max=255), metadata={
        "description": "The BMC password, stored encrypted and never shown (none for `wol`)."})
    options = fields.Dict(load_default=dict, metadata={
        "description": "Driver options; for `wol` only those of the `wol` driver (`mac`, `macs`, `broadcast`,"
                       " `interface`, `port`, `power_off_command`, `probe`)."})

    @validates_schema
    def _per_driver(self, data, **kwargs):
        """A ``wol`` machine has no BMC: an address or credentials are a mistake; every other driver needs an
        address."""
        if data.get("driver") == "wol":
            for key in ("address", "username", "password"):
                if data.get(key):
                    raise ValidationError("a wol machine has no BMC: leave the address and credentials out "
                                          "(the metro's provisioning network says where its packets go)", key)
            try:
                WolOptionsSchema().load(data.get("options") or {})
            except ValidationError as exc:
                raise ValidationError(exc.messages, "options") from None
        elif not data.get("address"):
            raise ValidationError("Missing data for required field.", "address")


# one instance each: making a schema copies its fields, more than a machine's BMC dump costs
_BMC, _NICS = BMCSchema(), NicSchema(many=True)


class MachineSchema(DirectDump, Schema):
    """A machine as the operator sees it (dumped by ``_direct`` on the hot path: the operator's machine
    list; tests/api/test_machines.py compares it with marshmallow's)."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    hostname = fields.String(metadata={"description": "The machine's name in the fleet (not its device's hostname)."})
    state = fields.String(metadata={
        "description": "`discovered`, `enrolled`, `inspecting`, `available`, `allocated`, `provisioning`, "
                       "`active`, `deprovisioning`, `cleaning`, `maintenance` or `failed`."})
    metro = fields.Function(lambda m: {"id": m.metro.id, "code": m.metro.code}, metadata={
        "description": "Its metro (id and code)."})
    plan = fields.Function(lambda m: {"id": m.plan.id, "slug": m.plan.slug} if m.plan else None, metadata={
        "description": "Its plan (id and slug), or null until inspection matches one."})
    bmc = fields.Function(lambda m: _BMC.dump(m), metadata={
        "description": "How Ingot reaches its BMC (never the password)."})
    nics = fields.List(fields.Nested(NicSchema), metadata={"description": "Its NICs."})
    facts = fields.Dict(metadata={
        "description": "What inspection found: cpus, memory_mib, disks, nics, vendor, model, serial…"})
    boot_mode = fields.String(metadata={"description": "How it netboots: `bios` or `uefi`."})
    power_state = fields.String(metadata={"description": "The power state last read: `on`, `off` or `unknown`."})
    power_expected = fields.String(metadata={
        "description": "The power state Ingot wants it in (`on`, `off` or `unknown`)."})
    power_checked_at = fields.DateTime(allow_none=True, metadata={
        "description": "When the power state was last read, or null."})
    maintenance_reason = fields.String(metadata={"description": "Why it is in maintenance (empty otherwise)."})
    last_error = fields.String(metadata={"description": "The last operation's error, if it failed."})
    operation = fields.String(allow_none=True, metadata={
        "description": "The operation the engine is running on it (e.g. `provision`), or null."})
    step = fields.String(allow_none=True, metadata={"description": "That operation's current step, or null."})
    device = fields.Function(lambda m: {"id": m.device.id, "href": href("devices", m.device.id)}
                             if m.device else None, metadata={
        "description": "The device on it (id and href), or null."})
    href = fields.Function(lambda m: href("machines", m.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})

    def _direct(self, m) -> dict:
        return {
            "id": as_text(m.id), "hostname": as_text(m.hostname), "state": as_text(m.state),
            "metro": {"id": m.metro.id, "code": m.metro.code},
            "plan": {"id": m.plan.id, "slug": m.plan.slug} if m.plan else None,
            "bmc": _BMC.dump(m), "nics": None if m.nics is None else _NICS.dump(m.nics),
            "facts": _mapping(m.facts), "boot_mode": as_text(m.boot_mode), "power_state": as_text(m.power_state),
            "power_expected": as_text(m.power_expected), "power_checked_at": as_iso(m.power_checked_at),
            "maintenance_reason": as_text(m.maintenance_reason), "last_error": as_text(m.last_error),
            "operation": as_text(m.operation), "step": as_text(m.step),
            "device": {"id": m.device.id, "href": href("devices", m.device.id)} if m.device else None,
            "href": href("machines", m.id), "created_at": as_iso(m.created_at), "updated_at": as_iso(m.updated_at),
        }


MachineListSchema = list_schema("machines", MachineSchema, "MachineList")


class MachineCreateSchema(RequestSchema):
    hostname = fields.String(required=True, validate=validate_hostname, metadata={
        "description": "A name for the machine, unique in the fleet (RFC 1123)."})
    metro = fields.String(required=True, metadata={"description": "Its metro (code or id)."})
    plan = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Its plan (slug or id); without one it is inspected and matched to a plan."})
    bmc = fields.Nested(BMCInputSchema, required=True, metadata={"description": "How to reach its BMC."})
    nics = fields.List(fields.Nested(NicInputSchema), load_default=list, metadata={
        "description": "Its NICs (MACs netboot requests name); inspection adds the ones it finds."})
    inspect = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "Inspect it even with a plan (default: only without one)."})
    boot_mode = fields.String(validate=validate.OneOf(BOOT_MODES), metadata={
        "description": "How it netboots: `bios` or `uefi` (default: the BMC options' `boot_mode`, else `bios`)."})


class MachineUpdateSchema(RequestSchema):
    hostname = fields.String(validate=validate_hostname, metadata={"description": "A new name, unique in the fleet."})
    plan = fields.String(allow_none=True, metadata={
        "description": "A new plan (slug or id), or null for none; only while `enrolled`, `available`, "
                       "`maintenance` or `failed`."})
    bmc = fields.Nested(BMCInputSchema, metadata={"description": "New BMC settings (replace the old ones)."})
    nics = fields.List(fields.Nested(NicInputSchema), metadata={
        "description": "A new NIC list (replaces the old one)."})
    boot_mode = fields.String(validate=validate.OneOf(BOOT_MODES), metadata={
        "description": "How it netboots: `bios` or `uefi`."})


class MaintenanceSchema(RequestSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=1024), metadata={
        "description": "Why (up to 1024 characters), shown on the machine."})


class MachineActionSchema(RequestSchema):
    type = fields.String(required=True, validate=validate.OneOf(MACHINE_ACTIONS), metadata={
        "description": "`power_on`, `power_off`, `reboot`, `inspect` or `set_boot_device`."})
    device = fields.String(validate=validate.OneOf(("pxe", "disk", "cdrom")), metadata={
        "description": "`set_boot_device`: `pxe`, `disk` or `cdrom`."})
    persistent = fields.Boolean(load_default=False, metadata={
        "description": "`set_boot_device`: for every boot, not only the next."})


class MachineListArgs(Schema):
    class Meta:
        unknown = "exclude"
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "The page, from 1."})
    per_page = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000), metadata={
        "description": "Machines per page (default 10, at most 1000)."})
    state = fields.String(metadata={"description": "Only machines in this state."})
    metro = fields.String(metadata={"description": "Only machines of this metro (code or id)."})
    plan = fields.String(metadata={"description": "Only machines of this plan (slug or id)."})
