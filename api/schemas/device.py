"""Devices: the Equinix ``Device`` shape, create/update input, actions."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from api.schemas.catalog import MetroSchema, OperatingSystemRefSchema, PlanRefSchema
from api.schemas.common import (
    HrefField,
    JSONObject,
    ListArgs,
    RequestSchema,
    Tags,
    href,
    list_schema,
    validate_hostname,
)
from api.schemas.storage import StorageField

MAX_USERDATA_BYTES = 64 * 1024
DEVICE_STATES = ("queued", "provisioning", "active", "powering_on", "powering_off", "inactive",
                 "reinstalling", "deprovisioning", "failed")
ACTIONS = ("power_on", "power_off", "reboot", "reinstall", "rescue")
BILLING_CYCLES = ("hourly", "daily", "monthly", "yearly")


def validate_userdata(value: str) -> None:
    if len(value.encode()) > MAX_USERDATA_BYTES:
        raise ValidationError(f"must be at most {MAX_USERDATA_BYTES} bytes")


class IpAddressSchema(Schema):
    id = fields.String()
    address = fields.String()
    address_family = fields.Function(lambda a: 6 if a.kind == "public_ipv6" else 4)
    netmask = fields.Method("_netmask")
    cidr = fields.Integer(attribute="prefix")
    public = fields.Function(lambda a: a.kind != "private_ipv4")
    management = fields.Boolean()
    manageable = fields.Constant(True)
    gateway = fields.Function(lambda a: a.pool.gateway if a.pool else "")
    network = fields.Method("_network")
    assigned_to = HrefField("devices", attribute="device_id")
    href = fields.Function(lambda a: href("ips", a.id))
    created_at = fields.DateTime()

    def _netmask(self, a):
        import ipaddress
        return str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False).netmask)

    def _network(self, a):
        import ipaddress
        return str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False).network_address)


class DeviceSchema(Schema):
    id = fields.String()
    short_id = fields.String()
    href = fields.Function(lambda d: href("devices", d.id))
    hostname = fields.String()
    description = fields.String()
    state = fields.String()
    provisioning_percentage = fields.Integer()
    plan = fields.Nested(PlanRefSchema)
    metro = fields.Nested(MetroSchema)
    facility = fields.Constant(None)
    operating_system = fields.Nested(OperatingSystemRefSchema)
    ip_addresses = fields.List(fields.Nested(IpAddressSchema), attribute="ip_assignments")
    tags = Tags()
    userdata = fields.String()
    customdata = fields.Dict()
    always_pxe = fields.Boolean()
    ipxe_script_url = fields.Function(lambda d: d.ipxe_script_url or None)
    hardware_reservation = HrefField("hardware-reservations", attribute="hardware_reservation_id",
                                     allow_none=True)
    locked = fields.Boolean()
    billing_cycle = fields.String()
    project = HrefField("projects", attribute="project_id")
    ssh_keys = fields.Function(lambda d: [{"id": k.id, "href": href("ssh-keys", k.id)} for k in d.ssh_keys])
    root_password = fields.Function(lambda d: d.root_password)
    network_ports = fields.Function(lambda d: [
        {"id": n.id, "name": n.name or f"eth{i}", "type": "NetworkPort",
         "data": {"mac": n.mac, "bonded": False}}
        for i, n in enumerate(d.machine.nics if d.machine else [])])
    user = fields.Constant(None)
    spot_instance = fields.Constant(False)
    rescue = fields.Boolean()
    storage = StorageField(dump_only=True)
    # Ingot: what the installed OS last posted to its user_state_url (running, succeeded, failed)
    user_state = fields.Function(lambda d: d.user_state or None)
    user_state_message = fields.Function(lambda d: d.user_state_message or None)
    actions = fields.Function(lambda d: [{"type": a, "name": a.replace("_", " ").title()} for a in ACTIONS])
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    @post_dump(pass_original=True)
    def _hide_private(self, data, original, **kwargs):
        """userdata, customdata and root_password only for the device's project
        (``original`` is the device as :func:`api.services.devices.present` shows it)."""
        if not original.private_shown:
            for key in PRIVATE_FIELDS:
                data.pop(key, None)
        if not data.get("storage"):
            data.pop("storage", None)   # no layout: the OS image's own
        return data


PRIVATE_FIELDS = ("userdata", "customdata", "root_password")

DeviceListSchema = list_schema("devices", DeviceSchema, "DeviceList")


class DeviceListArgs(ListArgs):
    state = fields.String(validate=validate.OneOf(DEVICE_STATES))
    hostname = fields.String()
    search = fields.String()
    tag = fields.String()
    metro = fields.String()
    plan = fields.String()


USER_STATES = ("running", "succeeded", "failed")
WAITABLE = {"state": DEVICE_STATES, "user_state": USER_STATES}
MAX_WAIT_SECONDS = 300


class DeviceGetArgs(RequestSchema):
    """Ingot: ``wait_for=user_state:succeeded`` (or ``state:active``) holds the answer until the device
    gets there, it ends ``failed``, or ``timeout`` seconds pass."""

    include = fields.String()
    exclude = fields.String()
    wait_for = fields.String()
    timeout = fields.Float(validate=validate.Range(min=0, max=MAX_WAIT_SECONDS))

    @validates_schema
    def _wait(self, data, **kwargs):
        if "timeout" in data and "wait_for" not in data:
            raise ValidationError("only with wait_for", "timeout")
        if "wait_for" in data:
            field, _, value = data["wait_for"].partition(":")
            if value not in WAITABLE.get(field, ()):
                raise ValidationError("must be user_state:<" + "|".join(USER_STATES) + "> or state:<a device state>",
                                      "wait_for")


class DeviceCreateSchema(RequestSchema):
    hostname = fields.String(validate=validate_hostname)
    description = fields.String(load_default="", validate=validate.Length(max=1024))
    plan = fields.String(required=True)
    metro = fields.String(required=True)
    operating_system = fields.String(required=True)
    userdata = fields.String(load_default="", validate=validate_userdata)
    customdata = JSONObject(load_default=dict)
    tags = Tags(load_default=list)
    billing_cycle = fields.String(load_default="hourly", validate=validate.OneOf(BILLING_CYCLES))
    always_pxe = fields.Boolean(load_default=False)
    ipxe_script_url = fields.String(load_default="", allow_none=True,
                                    validate=validate.Length(max=2048))
    hardware_reservation_id = fields.String(load_default=None, allow_none=True)
    project_ssh_keys = fields.List(fields.String(), load_default=None, allow_none=True)
    user_ssh_keys = fields.List(fields.String(), load_default=None, allow_none=True)
    locked = fields.Boolean(load_default=False)
    storage = StorageField(load_default=None, allow_none=True)

    @validates_schema
    def _url_scheme(self, data, **kwargs):
        url = data.get("ipxe_script_url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise ValidationError("must be an http:// or https:// URL", "ipxe_script_url")


class DeviceUpdateSchema(RequestSchema):
    """PUT and PATCH: older clients send every field; only known ones apply."""

    hostname = fields.String(validate=validate_hostname)
    description = fields.String(validate=validate.Length(max=1024))
    userdata = fields.String(validate=validate_userdata)
    customdata = JSONObject()
    tags = Tags()
    billing_cycle = fields.String(validate=validate.OneOf(BILLING_CYCLES))
    always_pxe = fields.Boolean()
    ipxe_script_url = fields.String(allow_none=True, validate=validate.Length(max=2048))
    locked = fields.Boolean()


class DeviceActionSchema(RequestSchema):
    type = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    operating_system = fields.String()
    preserve_data = fields.Boolean(load_default=False)
    deprovision_fast = fields.Boolean(load_default=False)
    storage = StorageField(load_default=None, allow_none=True)   # Ingot: a new layout with the new OS


class DeviceDeleteArgs(RequestSchema):
    force_delete = fields.Boolean(load_default=False)
    # Ingot extension (Equinix has it on reinstall only): skip the disk wipe on release
    deprovision_fast = fields.Boolean(load_default=False)


class BatchInstanceSchema(DeviceCreateSchema):
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))
    hostnames = fields.List(fields.String(validate=validate_hostname), load_default=list)


MAX_BATCH = 100


class BatchCreateSchema(RequestSchema):
    batches = fields.List(fields.Nested(BatchInstanceSchema), required=True,
                          validate=validate.Length(min=1, max=10))

    @validates_schema
    def _total(self, data, **kwargs):
        total = sum(b.get("quantity", 1) for b in data.get("batches", []))
        if total > MAX_BATCH:
            raise ValidationError(f"at most {MAX_BATCH} devices per batch request", "batches")


class BatchSchema(Schema):
    id = fields.String()
    state = fields.String()
    quantity = fields.Integer()
    error_messages = fields.List(fields.String())
    devices = fields.Function(lambda b: [{"id": d.id, "href": href("devices", d.id)} for d in b["devices"]])
    created_at = fields.DateTime()


BatchListSchema = Schema.from_dict({"batches": fields.List(fields.Nested(BatchSchema))}, name="BatchList")
