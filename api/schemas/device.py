"""Devices: the Equinix ``Device`` shape, create/update input, actions, batches."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, pre_load, validate, validates_schema

from api.schemas.catalog import FacilitySchema, MetroSchema, OperatingSystemRefSchema, PlanRefSchema
from api.schemas.common import (
    MULTILINE,
    HrefField,
    JSONObject,
    ListArgs,
    OneOrMany,
    Ref,
    Refs,
    RequestSchema,
    Tags,
    href,
    is_http_url,
    list_schema,
    ref,
    require_one_place,
    validate_hostname,
)
from api.schemas.event import EventSchema
from api.schemas.ip import IpAddressSchema
from api.schemas.ports import NETWORK_TYPES, port_views
from api.schemas.storage import StorageField

MAX_USERDATA_BYTES = 64 * 1024
DEVICE_STATES = ("queued", "provisioning", "active", "powering_on", "powering_off", "inactive",
                 "reinstalling", "deprovisioning", "failed")
ACTIONS = ("power_on", "power_off", "reboot", "reinstall", "rescue")
BILLING_CYCLES = ("hourly", "daily", "monthly", "yearly")
MAX_SSH_KEYS = 100


def validate_userdata(value: str) -> None:
    if len(value.encode()) > MAX_USERDATA_BYTES:
        raise ValidationError(f"must be at most {MAX_USERDATA_BYTES} bytes")


def validate_url(value: str | None) -> None:
    if value and not value.startswith(("http://", "https://")):
        raise ValidationError("must be an http:// or https:// URL")


def _created_by(d) -> dict | None:
    u = d.created_by
    if u is None:
        return None
    first, _, last = (u.full_name or "").partition(" ")
    return {"id": u.id, "short_id": u.id[:8], "email": u.email, "full_name": u.full_name, "first_name": first,
            "last_name": last, "href": href("users", u.id), "created_at": u.created_at.isoformat(),
            "updated_at": u.updated_at.isoformat()}


class DeviceSchema(Schema):
    """A ``Device``. ``sos``, ``provisioning_events`` and the private fields come from
    :func:`api.services.devices.present`."""

    id = fields.String()
    short_id = fields.String()
    href = fields.Function(lambda d: href("devices", d.id))
    hostname = fields.String()
    description = fields.String()
    state = fields.String()
    provisioning_percentage = fields.Integer()
    provisioning_events = fields.List(fields.Nested(EventSchema))
    plan = fields.Nested(PlanRefSchema)
    metro = fields.Nested(MetroSchema)
    facility = fields.Nested(FacilitySchema, allow_none=True)
    operating_system = fields.Nested(OperatingSystemRefSchema)
    ip_addresses = fields.List(fields.Nested(IpAddressSchema), attribute="ip_assignments")
    network_frozen = fields.Constant(False)
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
    project_lite = fields.Function(lambda d: ref("projects", d.project_id))
    ssh_keys = Refs("ssh-keys")
    volumes = fields.Constant([])
    root_password = fields.Function(lambda d: d.root_password)
    user = fields.Function(lambda d: d.operating_system.default_user or "root")
    created_by = fields.Function(_created_by)
    sos = fields.String()
    # the machine's ports: bond0, eth0, eth1…
    network_ports = fields.Function(lambda d: port_views(d.machine.ports) if d.machine else [])
    spot_instance = fields.Constant(False)
    termination_time = fields.DateTime(allow_none=True)
    rescue = fields.Boolean()  # Ingot extension: the device boots the rescue environment
    storage = StorageField(dump_only=True)   # the spec's Storage: the device's custom layout, if any
    # Ingot extensions: what the installed OS last posted to its user_state_url (running, succeeded, failed)
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
    facility = fields.String()
    reserved = fields.Boolean()
    has_termination_time = fields.Boolean()
    mac_address = fields.String()
    type = fields.String(validate=validate.OneOf(("ondemand", "spot", "reserved")))
    categories = fields.List(fields.String())


class IpAddressInput(RequestSchema):
    """One entry of a device's ``ip_addresses``: which addresses it gets."""

    address_family = fields.Integer(required=True, validate=validate.OneOf((4, 6)))
    public = fields.Boolean(load_default=True)
    cidr = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=128))
    ip_reservations = fields.List(fields.String(), load_default=list, validate=validate.Length(max=16))


class SSHKeyInput(RequestSchema):
    """An inline key of a device create: a new project key (``key``, ``label``) or an existing one (``id``)."""

    id = fields.String()
    key = fields.String(validate=validate.Length(min=1, max=16384))
    label = fields.String(load_default="", validate=validate.Length(max=255))

    @pre_load
    def _id_only(self, data, **kwargs):
        return {"id": data} if isinstance(data, str) else data

    @validates_schema
    def _key_or_id(self, data, **kwargs):
        if bool(data.get("id")) == bool(data.get("key")):
            raise ValidationError("give either the key of a new project key or the id of an existing one")


def _refuse(field_name: str, reason: str):
    """A validator for spec fields Ingot cannot honour (any value but the neutral one is a 422)."""
    def check(value):
        if value not in (None, False, [], ""):
            raise ValidationError(reason)
    check.__name__ = f"refuse_{field_name}"
    return check


NO_SPOT = "Ingot has no spot market; devices are on demand"
NO_FEATURES = "Ingot cannot select machines by feature; choose a plan whose machines have it"
NO_FREEZE = "Ingot does not freeze a device's network"
NO_FIRMWARE_SETS = "Ingot has no firmware sets"


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
    """``DeviceCreateInMetroInput`` and ``DeviceCreateInFacilityInput``: ``metro`` or ``facility``
    (a code or id, or a list tried in order). Fields Ingot cannot honour are refused, never ignored."""

    hostname = fields.String(validate=validate_hostname)
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata=MULTILINE)
    plan = fields.String(required=True)
    metro = OneOrMany(load_default=None, allow_none=True)
    facility = OneOrMany(load_default=None, allow_none=True)
    operating_system = fields.String(required=True)
    userdata = fields.String(load_default="", validate=validate_userdata, metadata={
        **MULTILINE,
        "maxLength": MAX_USERDATA_BYTES,
        "description": f"User data for cloud-init (or the installer), at most {MAX_USERDATA_BYTES // 1024} KiB "
                       "in UTF-8; readable by the device from its metadata service."})
    customdata = JSONObject(load_default=dict)
    tags = Tags(load_default=list)
    billing_cycle = fields.String(load_default="hourly", validate=validate.OneOf(BILLING_CYCLES))
    always_pxe = fields.Boolean(load_default=False)
    ipxe_script_url = fields.String(load_default="", allow_none=True,
                                    validate=[validate.Length(max=2048), validate_url])
    hardware_reservation_id = fields.String(load_default=None, allow_none=True)
    project_ssh_keys = fields.List(fields.String(), load_default=None, allow_none=True)
    user_ssh_keys = fields.List(fields.String(), load_default=None, allow_none=True)
    ssh_keys = fields.List(fields.Nested(SSHKeyInput), load_default=list, validate=validate.Length(max=MAX_SSH_KEYS))
    no_ssh_keys = fields.Boolean(load_default=False)
    locked = fields.Boolean(load_default=False)
    ip_addresses = fields.List(fields.Nested(IpAddressInput), load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=3))
    public_ipv4_subnet_size = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=32))
    private_ipv4_subnet_size = fields.Integer(load_default=None, allow_none=True,
                                              validate=validate.Range(min=1, max=32))
    termination_time = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)
    spot_instance = fields.Boolean(load_default=False, validate=_refuse("spot_instance", NO_SPOT))
    spot_price_max = fields.Float(load_default=None, allow_none=True, validate=_refuse("spot_price_max", NO_SPOT))
    features = fields.List(fields.String(), load_default=list, validate=_refuse("features", NO_FEATURES))
    network_frozen = fields.Boolean(load_default=False, validate=_refuse("network_frozen", NO_FREEZE))
    storage = StorageField(load_default=None, allow_none=True, metadata={
        "description": "A custom storage layout (disks, partitions, RAID, filesystems); default: the plan's."})

    @validates_schema
    def _url_scheme(self, data, **kwargs):
        url = data.get("ipxe_script_url") or ""
        if url and not is_http_url(url):
            raise ValidationError("must be an http:// or https:// URL without spaces", "ipxe_script_url")

    @validates_schema(skip_on_field_errors=False)
    def _where(self, data, **kwargs):
        require_one_place(data)


class DeviceUpdateSchema(RequestSchema):
    """PUT and PATCH: older clients send every field; only known ones apply."""

    hostname = fields.String(validate=validate_hostname)
    description = fields.String(validate=validate.Length(max=1024), metadata=MULTILINE)
    userdata = fields.String(validate=validate_userdata, metadata=MULTILINE)
    customdata = JSONObject()
    tags = Tags()
    billing_cycle = fields.String(validate=validate.OneOf(BILLING_CYCLES))
    always_pxe = fields.Boolean()
    ipxe_script_url = fields.String(allow_none=True, validate=validate.Length(max=2048))
    locked = fields.Boolean()
    spot_instance = fields.Boolean(validate=_refuse("spot_instance", NO_SPOT))
    network_frozen = fields.Boolean(validate=_refuse("network_frozen", NO_FREEZE))
    firmware_set_id = fields.String(allow_none=True, validate=_refuse("firmware_set_id", NO_FIRMWARE_SETS))
    # an Ingot shortcut (Equinix's Terraform resource metal_device_network_type does it port by port)
    network_type = fields.String(validate=validate.OneOf(NETWORK_TYPES))


class DeviceActionSchema(RequestSchema):
    """An action on a device; the engine carries it out and records each step as an event."""

    type = fields.String(required=True, validate=validate.OneOf(ACTIONS), metadata={
        "description": "What to do: `power_on` (from `inactive`), `power_off`, `reboot` and `rescue` "
                       "(from `active`), `reinstall` (from `active`, `inactive` or `failed`)."})
    operating_system = fields.String(metadata={
        "description": "`reinstall`: another operating system's slug (default: the device's own)."})
    ipxe_script_url = fields.String(allow_none=True, validate=[validate.Length(max=2048), validate_url], metadata={
        "description": "`reinstall`: chain this iPXE script (with the `custom_ipxe` OS) from now on."})
    preserve_data = fields.Boolean(load_default=False, metadata={
        "description": "`reinstall`: rewrite only the OS's filesystems of the device's storage layout and keep "
                       "its data filesystems (a layout that separates them is needed)."})
    deprovision_fast = fields.Boolean(load_default=False, metadata={
        "description": "`reinstall`: skip the disk wipe before installing."})
    storage = StorageField(load_default=None, allow_none=True, metadata={   # Ingot extension
        "description": "`reinstall`: a new storage layout with the new OS (not with `preserve_data`)."})


class DeviceDeleteArgs(RequestSchema):
    force_delete = fields.Boolean(load_default=False)
    # Ingot extension (Equinix has it on reinstall only): skip the disk wipe on release
    deprovision_fast = fields.Boolean(load_default=False)


class BatchInstanceSchema(DeviceCreateSchema):
    quantity = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100), metadata={
        "description": "How many devices (default: one per name in `hostnames`, else 1)."})
    hostnames = fields.List(fields.String(validate=validate_hostname), load_default=list,
                            validate=validate.Length(max=100))

    @post_load
    def _quantity(self, data, **kwargs):
        """Three hostnames and no quantity are three devices; more names than devices is an error."""
        names = data.get("hostnames") or []
        if data.get("quantity") is None:
            data["quantity"] = len(names) or 1
        elif len(names) > data["quantity"]:
            raise ValidationError(f"{len(names)} hostnames for a quantity of {data['quantity']}", "hostnames")
        return data


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
    devices = Refs("devices")
    project = Ref("projects", attribute="project_id")
    href = fields.Function(lambda b: href("batches", b.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


BatchListSchema = Schema.from_dict({"batches": fields.List(fields.Nested(BatchSchema))}, name="BatchList")


class BatchDeleteArgs(RequestSchema):
    remove_associated_instances = fields.Boolean(load_default=False)


class UserdataSchema(Schema):
    userdata = fields.String()


class UserdataValidateArgs(RequestSchema):
    userdata = fields.String(load_default="", validate=validate_userdata, metadata=MULTILINE)
