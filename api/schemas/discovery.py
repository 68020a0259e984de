"""A metro's provisioning network (Wake-on-LAN, discovery), DHCP lease reports, the ramdisk's
hardware report, and accepting a discovered machine."""
from __future__ import annotations

import ipaddress

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

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
    metro = fields.Function(lambda n: {"id": n.metro.id, "code": n.metro.code}, metadata={
        "description": "The metro (id and code)."})
    wol_broadcast = fields.String(metadata={
        "description": "The IPv4 broadcast address Wake-on-LAN packets of the metro's `wol` machines go to "
                       "(empty: 255.255.255.255)."})
    wol_interface = fields.String(metadata={
        "description": "The interface they are sent through (empty: as the host routes them)."})
    wol_port = fields.Integer(metadata={"description": "Their UDP port (default 9)."})
    bmc_discovery = fields.Boolean(metadata={
        "description": "Whether BMCs that take a DHCP lease in the metro are probed and enrolled."})
    unknown_mac_discovery = fields.Boolean(metadata={
        "description": "Whether an unknown MAC that netboots becomes a `discovered` machine (and is "
                       "inspected)."})
    auto_accept = fields.Boolean(metadata={
        "description": "Whether discovered machines whose facts fit a plan are accepted without an operator."})
    auto_accept_plans = fields.List(fields.String(), metadata={
        "description": "The plans auto-accept is limited to (slugs); empty: any plan that fits."})
    bmc_username = fields.String(metadata={"description": "The user BMC discovery tries on a new BMC."})
    bmc_password_set = fields.Function(lambda n: bool(n.bmc_password_enc), metadata={
        "description": "Whether a default BMC password is stored (it is never shown)."})
    bmc_options = fields.Dict(metadata={
        "description": "Driver options given to machines BMC discovery enrolls (e.g. `{\"verify_tls\": "
                       "false}`)."})
    redfish_url = fields.String(metadata={
        "description": "The Redfish URL BMC discovery tries, with `{ip}` for the BMC's address."})
    ipmi_port = fields.Integer(metadata={"description": "The IPMI port BMC discovery tries (default 623)."})
    lease_hook_configured = fields.Function(lambda n: bool(n.lease_hook_token_hash), metadata={
        "description": "Whether the metro has a lease-hook token (made when BMC discovery is first turned "
                       "on)."})
    updated_at = fields.DateTime(allow_none=True, metadata={
        "description": "When the settings last changed, or null (never set)."})


class ProvisioningNetworkUpdateSchema(Strict):
    """Only the fields sent change. ``bmc_password`` is write-only; ``rotate_lease_hook_token``
    replaces the lease hook's secret (render ``ingot admin dnsmasq-config --lease-hook`` again)."""

    wol_broadcast = fields.String(validate=lambda v: v == "" or validate_ipv4(v) is None, metadata={
        "description": "The IPv4 broadcast address for Wake-on-LAN packets, or empty."})
    wol_interface = fields.String(validate=validate_interface, metadata={
        "description": "The interface to send them through (e.g. `eth1`), or empty."})
    wol_port = fields.Integer(validate=validate.Range(min=1, max=65535), metadata={
        "description": "Their UDP port, 1 to 65535."})
    bmc_discovery = fields.Boolean(metadata={"description": "Probe and enroll BMCs that take a DHCP lease."})
    unknown_mac_discovery = fields.Boolean(metadata={
        "description": "Make a `discovered` machine of an unknown MAC that netboots."})
    auto_accept = fields.Boolean(metadata={
        "description": "Accept discovered machines that fit a plan without an operator."})
    auto_accept_plans = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                    validate=validate.Length(max=64), metadata={
        "description": "Limit auto-accept to these plan slugs (at most 64); empty: any plan."})
    bmc_username = fields.String(validate=validate.Length(max=255), metadata={
        "description": "The user to try on a new BMC."})
    bmc_password = fields.String(load_only=True, validate=validate.Length(max=255), metadata={
        "description": "The password to try on a new BMC; stored encrypted, never shown."})
    bmc_options = fields.Dict(metadata={"description": "Driver options for the machines BMC discovery enrolls."})
    redfish_url = fields.String(validate=[validate.Length(max=255), validate_redfish_url], metadata={
        "description": "An http(s) URL template with `{ip}`, e.g. `https://{ip}` or `http://{ip}:8000`."})
    ipmi_port = fields.Integer(validate=validate.Range(min=1, max=65535), metadata={
        "description": "The IPMI port to try, 1 to 65535."})
    rotate_lease_hook_token = fields.Boolean(load_only=True, metadata={
        "description": "Make a new lease-hook token (then render `ingot admin dnsmasq-config --lease-hook` "
                       "again)."})


class LeaseSchema(Strict):
    """What the DHCP lease hook (a dnsmasq ``dhcp-script``) reports."""

    action = fields.String(required=True, validate=validate.OneOf(("add", "old", "del")), metadata={
        "description": "dnsmasq's lease action: `add`, `old` (renewed) or `del` (released, ignored)."})
    mac = fields.String(required=True, validate=validate_mac, metadata={"description": "The client's MAC."})
    ip = fields.String(required=True, validate=validate_ip, metadata={"description": "The address leased."})
    hostname = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "description": "The hostname the client sent, if any."})
    vendor_class = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "description": "The DHCP vendor class the client sent, if any."})


class ReportedDiskSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "The disk's kernel name (e.g. `sda`, `nvme0n1`)."})
    size_bytes = fields.Integer(required=True, validate=validate.Range(min=0, max=2 ** 62), metadata={
        "description": "Its size in bytes."})
    size_gb = fields.Float(required=True, validate=validate.Range(min=0), metadata={"description": "Its size in GB."})
    type = fields.String(load_default="", validate=validate.Length(max=16), metadata={
        "description": "`ssd`, `hdd`, `nvme` or `virtio` (may be empty)."})
    model = fields.String(load_default="", validate=validate.Length(max=128), metadata={
        "description": "Its model, if known."})


class ReportedLldpSchema(Strict):
    """The LLDP neighbour a NIC sees: the switch (its system name or chassis id) and the switch port."""

    system_name = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The switch's system name (a switch of the machine's metro by that `name`)."})
    chassis_id = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The switch's chassis id, usually a MAC (a switch whose `chassis_id` option it is)."})
    port_id = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The switch port's id (its name, e.g. `swp1`, when the switch announces names)."})
    port_description = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The switch port's description (used when there is no `port_id`)."})

    @validates_schema
    def _names_a_switch_port(self, data, **_kwargs):
        if not (data.get("system_name") or data.get("chassis_id")):
            raise ValidationError("give the switch's system_name or chassis_id", "system_name")
        if not (data.get("port_id") or data.get("port_description")):
            raise ValidationError("give the switch port's port_id or port_description", "port_id")


class ReportedNicSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "The interface's name (e.g. `eth0`)."})
    mac = fields.String(required=True, validate=validate_mac, metadata={"description": "Its MAC."})
    carrier = fields.Boolean(load_default=False, metadata={"description": "Whether it has a link."})
    lldp = fields.Nested(ReportedLldpSchema, load_default=None, allow_none=True, metadata={
        "description": "The LLDP neighbour it sees (null or left out: none); it cables the NIC to that switch "
                       "port, as `POST /boot/lldp` does."})


class ReportedBmcSchema(Strict):
    address = fields.String(required=True, validate=validate_ip, metadata={
        "description": "The BMC's IP address, as the host reports it."})
    source = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "description": "Where it was read (`ipmitool lan print` or `redfish host interface`)."})


class InspectionReportSchema(Strict):
    """The hardware Ingot's ramdisk found (its ``inspect`` action; docs/ramdisk.md)."""

    cpus = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "Logical CPUs."})
    memory_mib = fields.Integer(required=True, validate=validate.Range(min=1, max=2 ** 40), metadata={
        "description": "Memory in MiB."})
    disks = fields.List(fields.Nested(ReportedDiskSchema), load_default=list, validate=validate.Length(max=256),
        metadata={"description": "The disks found (at most 256)."})
    nics = fields.List(fields.Nested(ReportedNicSchema), load_default=list, validate=validate.Length(max=64), metadata={
        "description": "The network interfaces found (at most 64)."})
    serial = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The system's serial number (DMI)."})
    vendor = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The system's vendor (DMI)."})
    model = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The system's model (DMI)."})
    bmc = fields.Nested(ReportedBmcSchema, load_default=None, allow_none=True, metadata={
        "description": "The BMC the host reports, or null."})
    boot_mac = fields.String(load_default="", validate=lambda v: v == "" or validate_mac(v) is None, metadata={
        "description": "The MAC the ramdisk booted from, if known."})
    boot_mode = fields.String(validate=validate.OneOf(BOOT_MODES), metadata={
        "description": "How the firmware booted the ramdisk: `uefi` or `bios`."})


class MachineAcceptSchema(Strict):
    """Accept a discovered machine: optionally rename it, give its plan, or give its BMC (it
    stays a ``wol`` machine, woken by its MACs, without one)."""

    hostname = fields.String(validate=validate_hostname, metadata={
        "description": "A new name for the machine (RFC 1123), unique in the fleet."})
    plan = fields.String(allow_none=True, metadata={
        "description": "Its plan (slug or id), or null for none; if not sent, the plan inspection matched "
                       "stays."})
    bmc = fields.Nested(BMCInputSchema, metadata={
        "description": "Its BMC, if it has one (without, it stays a `wol` machine woken by its MACs)."})
