"""A metro's provisioning network (Wake-on-LAN, discovery), DHCP lease reports, the ramdisk's
hardware report, and accepting a discovered machine."""
from __future__ import annotations

import ipaddress

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from api.schemas.common import RequestSchema, validate_hostname
from api.schemas.machine import BOOT_MODES, BMCInputSchema, validate_interface, validate_ipv4, validate_mac


class Strict(RequestSchema):
    """Ingot's own request bodies: a field Ingot does not know is an error, not ignored (and, as every
    request schema, no control characters in text)."""

    class Meta:
        unknown = RAISE


def validate_redfish_url(value: str) -> None:
    if not value.startswith(("http://", "https://")) or "{ip}" not in value or any(c.isspace() for c in value):
        raise ValidationError("must be an http(s) URL template naming the BMC's address as {ip}, "
                              "e.g. https://{ip} or http://{ip}:8000")


def validate_ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError("must be an IP address") from None


class ProvisioningNetworkSchema(Schema):
    metro = fields.Function(lambda n: {"id": n.metro.id, "code": n.metro.code})
    wol_broadcast = fields.String()
    wol_interface = fields.String()
    wol_port = fields.Integer()
    bmc_discovery = fields.Boolean()
    unknown_mac_discovery = fields.Boolean()
    auto_accept = fields.Boolean()
    auto_accept_plans = fields.List(fields.String())
    bmc_username = fields.String()
    bmc_password_set = fields.Function(lambda n: bool(n.bmc_password_enc))
    bmc_options = fields.Dict()
    redfish_url = fields.String()
    ipmi_port = fields.Integer()
    lease_hook_configured = fields.Function(lambda n: bool(n.lease_hook_token_hash))
    updated_at = fields.DateTime(allow_none=True)


class ProvisioningNetworkUpdateSchema(Strict):
    """Only the fields sent change. ``bmc_password`` is write-only; ``rotate_lease_hook_token``
    replaces the lease hook's secret (render ``ingot admin dnsmasq-config --lease-hook`` again)."""

    wol_broadcast = fields.String(validate=lambda v: v == "" or validate_ipv4(v) is None)
    wol_interface = fields.String(validate=validate_interface)
    wol_port = fields.Integer(validate=validate.Range(min=1, max=65535))
    bmc_discovery = fields.Boolean()
    unknown_mac_discovery = fields.Boolean()
    auto_accept = fields.Boolean()
    auto_accept_plans = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                    validate=validate.Length(max=64))
    bmc_username = fields.String(validate=validate.Length(max=255))
    bmc_password = fields.String(load_only=True, validate=validate.Length(max=255))
    bmc_options = fields.Dict()
    redfish_url = fields.String(validate=[validate.Length(max=255), validate_redfish_url])
    ipmi_port = fields.Integer(validate=validate.Range(min=1, max=65535))
    rotate_lease_hook_token = fields.Boolean(load_only=True)


class LeaseSchema(Strict):
    """What the DHCP lease hook (a dnsmasq ``dhcp-script``) reports."""

    action = fields.String(required=True, validate=validate.OneOf(("add", "old", "del")))
    mac = fields.String(required=True, validate=validate_mac)
    ip = fields.String(required=True, validate=validate_ip)
    hostname = fields.String(load_default="", validate=validate.Length(max=64))
    vendor_class = fields.String(load_default="", validate=validate.Length(max=64))


class ReportedDiskSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    size_bytes = fields.Integer(required=True, validate=validate.Range(min=0, max=2 ** 62))
    size_gb = fields.Float(required=True, validate=validate.Range(min=0))
    type = fields.String(load_default="", validate=validate.Length(max=16))
    model = fields.String(load_default="", validate=validate.Length(max=128))


class ReportedNicSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    mac = fields.String(required=True, validate=validate_mac)
    carrier = fields.Boolean(load_default=False)


class ReportedBmcSchema(Strict):
    address = fields.String(required=True, validate=validate_ip)
    source = fields.String(load_default="", validate=validate.Length(max=64))


class InspectionReportSchema(Strict):
    """The hardware Ingot's ramdisk found (its ``inspect`` action; docs/ramdisk.md)."""

    cpus = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    memory_mib = fields.Integer(required=True, validate=validate.Range(min=1, max=2 ** 40))
    disks = fields.List(fields.Nested(ReportedDiskSchema), load_default=list, validate=validate.Length(max=256))
    nics = fields.List(fields.Nested(ReportedNicSchema), load_default=list, validate=validate.Length(max=64))
    serial = fields.String(load_default="", validate=validate.Length(max=255))
    vendor = fields.String(load_default="", validate=validate.Length(max=255))
    model = fields.String(load_default="", validate=validate.Length(max=255))
    bmc = fields.Nested(ReportedBmcSchema, load_default=None, allow_none=True)
    boot_mac = fields.String(load_default="", validate=lambda v: v == "" or validate_mac(v) is None)
    boot_mode = fields.String(validate=validate.OneOf(BOOT_MODES))   # how the firmware booted the ramdisk


class MachineAcceptSchema(Strict):
    """Accept a discovered machine: optionally rename it, give its plan, or give its BMC (it
    stays a ``wol`` machine, woken by its MACs, without one)."""

    hostname = fields.String(validate=validate_hostname)
    plan = fields.String(allow_none=True)
    bmc = fields.Nested(BMCInputSchema)
