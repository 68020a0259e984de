"""Machines (operator-only). The BMC password is load-only: never dumped."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import RequestSchema, href, list_schema, validate_hostname

MAC_RE = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
BMC_DRIVERS = ("sim", "redfish", "ipmi", "qemu")
BOOT_MODES = ("bios", "uefi")
MACHINE_ACTIONS = ("power_on", "power_off", "reboot", "inspect", "set_boot_device")


def validate_mac(value: str) -> None:
    if not MAC_RE.match(value or ""):
        raise ValidationError("must be a MAC address like 52:54:00:12:34:56")


class NicSchema(Schema):
    id = fields.String(dump_only=True)
    mac = fields.String()
    name = fields.String()


class NicInputSchema(RequestSchema):
    mac = fields.String(required=True, validate=validate_mac)
    name = fields.String(load_default="", validate=validate.Length(max=32))


class BMCSchema(Schema):
    driver = fields.String(attribute="bmc_driver")
    address = fields.String(attribute="bmc_address")
    username = fields.String(attribute="bmc_username")
    options = fields.Dict(attribute="bmc_options")
    password_set = fields.Function(lambda m: bool(m.bmc_password_enc))


class BMCInputSchema(RequestSchema):
    driver = fields.String(required=True, validate=validate.OneOf(BMC_DRIVERS))
    address = fields.String(required=True, validate=validate.Length(min=1, max=512))
    username = fields.String(load_default="", validate=validate.Length(max=255))
    password = fields.String(load_default="", load_only=True, validate=validate.Length(max=255))
    options = fields.Dict(load_default=dict)


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
