"""Machines (operator-only). The BMC password is load-only: never dumped."""
from __future__ import annotations

import ipaddress
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import RequestSchema, href, list_schema, validate_hostname

MAC_RE = re.compile(r"([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}")  # fullmatch
BMC_DRIVERS = ("sim", "redfish", "ipmi", "qemu", "wol")
BOOT_MODES = ("bios", "uefi")
IFACE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,15}")  # fullmatch
MACHINE_ACTIONS = ("power_on", "power_off", "reboot", "inspect", "set_boot_device")


def validate_mac(value: str) -> None:
    if not MAC_RE.fullmatch(value or ""):
        raise ValidationError("must be a MAC address like 52:54:00:12:34:56")


class NicSchema(Schema):
    id = fields.String(dump_only=True)
    mac = fields.String()
    name = fields.String()
    switch = fields.Function(lambda n: {"id": n.switch.id, "name": n.switch.name} if n.switch else None)
    switch_port = fields.String()


class NicInputSchema(RequestSchema):
    mac = fields.String(required=True, validate=validate_mac)
    name = fields.String(load_default="", validate=validate.Length(max=32))
    switch = fields.String(load_default="", validate=validate.Length(max=128),
                           metadata={"description": "The switch's name or id (with switch_port)"})
    switch_port = fields.String(load_default="", validate=validate.Length(max=64))


class BMCSchema(Schema):
    driver = fields.String(attribute="bmc_driver")
    address = fields.String(attribute="bmc_address")
    username = fields.String(attribute="bmc_username")
    options = fields.Dict(attribute="bmc_options")
    password_set = fields.Function(lambda m: bool(m.bmc_password_enc))


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

    mac = fields.String(validate=validate_mac)
    macs = fields.List(fields.String(validate=validate_mac), validate=validate.Length(max=16))
    broadcast = fields.String(validate=validate_ipv4)
    interface = fields.String(validate=validate_interface)
    port = fields.Integer(validate=validate.Range(min=1, max=65535))
    power_off_command = fields.List(fields.String(validate=validate.Length(min=1, max=1024)),
                                    validate=validate.Length(min=1, max=64))
    probe = fields.String(validate=validate_probe)


class BMCInputSchema(RequestSchema):
    driver = fields.String(required=True, validate=validate.OneOf(BMC_DRIVERS))
    address = fields.String(load_default="", validate=validate.Length(max=512))
    username = fields.String(load_default="", validate=validate.Length(max=255))
    password = fields.String(load_default="", load_only=True, validate=validate.Length(max=255))
    options = fields.Dict(load_default=dict)

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


class MachineSchema(Schema):
    id = fields.String()
    hostname = fields.String()
    state = fields.String()
    metro = fields.Function(lambda m: {"id": m.metro.id, "code": m.metro.code})
    plan = fields.Function(lambda m: {"id": m.plan.id, "slug": m.plan.slug} if m.plan else None)
    bmc = fields.Function(lambda m: BMCSchema().dump(m))
    nics = fields.List(fields.Nested(NicSchema))
    facts = fields.Dict()
    boot_mode = fields.String()
    power_state = fields.String()
    power_expected = fields.String()
    power_checked_at = fields.DateTime(allow_none=True)
    maintenance_reason = fields.String()
    last_error = fields.String()
    operation = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    device = fields.Function(lambda m: {"id": m.device.id, "href": href("devices", m.device.id)}
                             if m.device else None)
    href = fields.Function(lambda m: href("machines", m.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


MachineListSchema = list_schema("machines", MachineSchema, "MachineList")


class MachineCreateSchema(RequestSchema):
    hostname = fields.String(required=True, validate=validate_hostname)
    metro = fields.String(required=True)
    plan = fields.String(load_default=None, allow_none=True)
    bmc = fields.Nested(BMCInputSchema, required=True)
    nics = fields.List(fields.Nested(NicInputSchema), load_default=list)
    inspect = fields.Boolean(load_default=None, allow_none=True)
    boot_mode = fields.String(validate=validate.OneOf(BOOT_MODES))  # default: the BMC options', else bios


class MachineUpdateSchema(RequestSchema):
    hostname = fields.String(validate=validate_hostname)
    plan = fields.String(allow_none=True)
    bmc = fields.Nested(BMCInputSchema)
    nics = fields.List(fields.Nested(NicInputSchema))
    boot_mode = fields.String(validate=validate.OneOf(BOOT_MODES))


class MaintenanceSchema(RequestSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=1024))


class MachineActionSchema(RequestSchema):
    type = fields.String(required=True, validate=validate.OneOf(MACHINE_ACTIONS))
    device = fields.String(validate=validate.OneOf(("pxe", "disk", "cdrom")))
    persistent = fields.Boolean(load_default=False)


class MachineListArgs(Schema):
    class Meta:
        unknown = "exclude"
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    state = fields.String()
    metro = fields.String()
    plan = fields.String()
