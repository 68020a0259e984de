"""Devices: the Equinix ``Device`` shape, create/update input, actions, batches."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_dump, post_load, pre_load, validate, validates_schema

from api.schemas.catalog import FacilitySchema, MetroSchema, OperatingSystemRefSchema, PlanRefSchema
from api.schemas.common import (
    MULTILINE,
    DirectDump,
    HrefField,
    JSONObject,
    ListArgs,
    OneOrMany,
    Ref,
    Refs,
    RequestSchema,
    Tags,
    as_iso,
    as_text,
    href,
    id_ref,
    is_http_url,
    list_schema,
    ref,
    refs,
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


class DeviceSchema(DirectDump, Schema):
    """A ``Device``. ``sos``, ``provisioning_events`` and the private fields come from
    :func:`api.services.devices.present`."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    short_id = fields.String(metadata={"description": "The first 8 characters of its id."})
    href = fields.Function(lambda d: href("devices", d.id), metadata={"description": "Its URL in this API."})
    hostname = fields.String(metadata={"description": "Its hostname (RFC 1123), set on the installed OS."})
    description = fields.String(metadata={"description": "Free text the project gave it."})
    state = fields.String(metadata={
        "description": "`queued`, `provisioning`, `active`, `powering_on`, `powering_off`, `inactive` (off), "
                       "`reinstalling`, `deprovisioning` or `failed`."})
    provisioning_percentage = fields.Integer(metadata={
        "description": "How far its install (or reinstall) is, 0 to 100."})
    provisioning_events = fields.List(fields.Nested(EventSchema), metadata={
        "description": "Its newest 10 events, newest first."})
    plan = fields.Nested(PlanRefSchema, metadata={"description": "Its plan."})
    metro = fields.Nested(MetroSchema, metadata={"description": "The metro it is in."})
    facility = fields.Nested(FacilitySchema, allow_none=True, metadata={
        "description": "The facility the create named, else its metro's first facility; null if the metro has none."})
    operating_system = fields.Nested(OperatingSystemRefSchema, metadata={
        "description": "The operating system installed (or being installed)."})
    ip_addresses = fields.List(fields.Nested(IpAddressSchema), attribute="ip_assignments", metadata={
        "description": "Its addresses: from the metro's pools (one of them its management address) and from the "
                       "project's reserved blocks."})
    network_ports = fields.Function(lambda d: port_views(d.machine.ports) if d.machine else [], metadata={
        "description": "Its machine's ports: `bond0` and one per NIC (`eth0`, `eth1`…), each with its network type, "
                       "bond and virtual networks."})
    network_frozen = fields.Constant(False, metadata={"description": "Always false: Ingot does not freeze networks."})
    tags = Tags(metadata={"description": "Its tags."})
    userdata = fields.String(metadata={"description": "Its userdata (members of its project only)."})
    customdata = fields.Dict(metadata={"description": "Its customdata, a JSON object (members of its project only)."})
    always_pxe = fields.Boolean(metadata={
        "description": "Whether it netboots `ipxe_script_url` at every boot, not only at install."})
    ipxe_script_url = fields.Function(lambda d: d.ipxe_script_url or None, metadata={
        "description": "The iPXE script its machine chains (with `custom_ipxe` or `always_pxe`); null if none."})
    hardware_reservation = HrefField("hardware-reservations", attribute="hardware_reservation_id",
                                     allow_none=True, metadata={
        "description": "The hardware reservation it runs on, or null."})
    locked = fields.Boolean(metadata={
        "description": "A locked device cannot be deleted or reinstalled until unlocked."})
    billing_cycle = fields.String(metadata={"description": "As asked at create; informative, nothing is billed."})
    project = HrefField("projects", attribute="project_id", metadata={"description": "Its project (id and href)."})
    project_lite = fields.Function(lambda d: ref("projects", d.project_id), metadata={
        "description": "Its project's href."})
    ssh_keys = Refs("ssh-keys", metadata={"description": "Hrefs of the SSH keys it was given."})
    volumes = fields.Constant([], metadata={"description": "Always empty: Ingot has no block storage volumes."})
    root_password = fields.Function(lambda d: d.root_password, metadata={
        "description": "The root password set at install, to members of its project, for a day after the create; then"
                       " null."})
    user = fields.Function(lambda d: d.operating_system.default_user or "root", metadata={
        "description": "The user to log in as (the OS's default user, e.g. `root`)."})
    created_by = fields.Function(_created_by, metadata={
        "description": "The user who created it, or null (created by a project API key)."})
    sos = fields.String(metadata={
        "description": "Its serial console's address, `<device id>@<host>` (ssh to it with a key of the device)."})
    spot_instance = fields.Constant(False, metadata={"description": "Always false: Ingot has no spot market."})
    termination_time = fields.DateTime(allow_none=True, metadata={
        "description": "When Ingot deletes it by itself, if set at create; else null."})
    # Ingot extension: the device boots the rescue environment
    rescue = fields.Boolean(metadata={
        "description": "Ingot extension: true while it boots the rescue environment instead of its OS."})
    actions = fields.Function(lambda d: _actions(), metadata={
        "description": "The actions `POST /devices/{id}/actions` takes (each allowed from certain states only)."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})
    storage = StorageField(dump_only=True, metadata={
        "description": "Its custom storage layout (disks, partitions, RAID, filesystems), or null for the OS's own."})
    user_state = fields.Function(lambda d: d.user_state or None, metadata={
        "description": "Ingot extension: what its installed OS last posted to its `user_state_url`: `running`, "
                       "`succeeded` or `failed`; null until it posts."})
    user_state_message = fields.Function(lambda d: d.user_state_message or None, metadata={
        "description": "Ingot extension: the message that came with `user_state`, or null."})

    # left out rather than null (the spec's Storage is an object, not nullable): no layout, the OS image's own
    OMITTED_WHEN_EMPTY = ("storage",)

    @post_dump(pass_original=True)
    def _hide_private(self, data, original, **kwargs):
        """userdata, customdata and root_password only for the device's project
        (``original`` is the device as :func:`api.services.devices.present` shows it)."""
        if not original.private_shown:
            for key in PRIVATE_FIELDS:
                data.pop(key, None)
        for key in self.OMITTED_WHEN_EMPTY:
            if not data.get(key):
                data.pop(key, None)
        return data

    def _direct(self, d) -> dict:
        plan, metro, facility, osys = d.plan, d.metro, d.facility, d.operating_system
        events, addresses, private = d.provisioning_events, d.ip_assignments, d.private_shown
        out = {
            "id": as_text(d.id), "short_id": as_text(d.short_id), "href": href("devices", d.id),
            "hostname": as_text(d.hostname), "description": as_text(d.description), "state": as_text(d.state),
            "provisioning_percentage": None if d.provisioning_percentage is None else int(d.provisioning_percentage),
            "provisioning_events": None if events is None else _EVENT.dump(events, many=True),
            "plan": None if plan is None else _PLAN.dump(plan),
            "metro": None if metro is None else _METRO.dump(metro),
            "facility": None if facility is None else _FACILITY.dump(facility),
            "operating_system": None if osys is None else _OS.dump(osys),
            "ip_addresses": None if addresses is None else _ADDRESS.dump(addresses, many=True),
            "network_ports": port_views(d.machine.ports) if d.machine else [],
            "network_frozen": False, "tags": list(d.tags or []),
        }
        if private:
            out["userdata"] = as_text(d.userdata)
            out["customdata"] = None if d.customdata is None else dict(d.customdata)
        out.update({
            "always_pxe": None if d.always_pxe is None else bool(d.always_pxe),
            "ipxe_script_url": d.ipxe_script_url or None,
            "hardware_reservation": id_ref("hardware-reservations", d.hardware_reservation_id),
            "locked": None if d.locked is None else bool(d.locked), "billing_cycle": as_text(d.billing_cycle),
            "project": id_ref("projects", d.project_id), "project_lite": ref("projects", d.project_id),
            "ssh_keys": refs("ssh-keys", d.ssh_keys or []), "volumes": [],
        })
        if private:
            out["root_password"] = d.root_password
        out.update({
            "user": osys.default_user or "root", "created_by": _created_by(d), "sos": as_text(d.sos),
            "spot_instance": False, "termination_time": as_iso(d.termination_time),
            "rescue": None if d.rescue is None else bool(d.rescue), "actions": _actions(),
            "created_at": as_iso(d.created_at), "updated_at": as_iso(d.updated_at),
        })
        if d.storage:
            out["storage"] = d.storage
        out["user_state"] = d.user_state or None
        out["user_state_message"] = d.user_state_message or None
        return out


def _actions() -> list[dict]:
    return [{"type": a, "name": a.replace("_", " ").title()} for a in ACTIONS]


_EVENT, _PLAN, _METRO, _FACILITY = EventSchema(), PlanRefSchema(), MetroSchema(), FacilitySchema()
_OS, _ADDRESS = OperatingSystemRefSchema(), IpAddressSchema()

PRIVATE_FIELDS = ("userdata", "customdata", "root_password")
DeviceListSchema = list_schema("devices", DeviceSchema, "DeviceList")


class DeviceListArgs(ListArgs):
    state = fields.String(validate=validate.OneOf(DEVICE_STATES), metadata={
        "description": "Only devices in this state."})
    hostname = fields.String(metadata={"description": "Only the device with this hostname (exact)."})
    search = fields.String(metadata={
        "description": "Only devices whose hostname or description contains this, or whose id or short id it is."})
    tag = fields.String(metadata={"description": "Only devices with this tag."})
    metro = fields.String(metadata={"description": "Only devices in this metro (code or id)."})
    plan = fields.String(metadata={"description": "Only devices of this plan (slug or id)."})
    facility = fields.String(metadata={"description": "Only devices asked in this facility (code or id)."})
    reserved = fields.Boolean(metadata={
        "description": "true: only devices on a hardware reservation; false: only the others."})
    has_termination_time = fields.Boolean(metadata={
        "description": "true: only devices with a termination time; false: only those without."})
    mac_address = fields.String(metadata={"description": "Only the device whose machine has a NIC with this MAC."})
    type = fields.String(validate=validate.OneOf(("ondemand", "spot", "reserved")), metadata={
        "description": "`ondemand` or `reserved` (as `reserved`); `spot` finds none."})
    categories = fields.List(fields.String(), metadata={
        "description": "Plan categories; every Ingot plan is `compute`, any other finds none."})


class IpAddressInput(RequestSchema):
    """One entry of a device's ``ip_addresses``: which addresses it gets."""

    address_family = fields.Integer(required=True, validate=validate.OneOf((4, 6)), metadata={"description": "4 or 6."})
    public = fields.Boolean(load_default=True, metadata={
        "description": "Public (default) or private; IPv6 is public only."})
    cidr = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=128), metadata={
        "description": "The prefix length of the block the device gets (default: one address)."})
    ip_reservations = fields.List(fields.String(), load_default=list, validate=validate.Length(max=16), metadata={
        "description": "Ids of the project's reserved blocks to take the address from (at most 16), instead of the "
                       "metro's pool."})


class SSHKeyInput(RequestSchema):
    """An inline key of a device create: a new project key (``key``, ``label``) or an existing one (``id``)."""

    id = fields.String(metadata={"description": "The id of an existing key of the project or of the caller."})
    key = fields.String(validate=validate.Length(min=1, max=16384), metadata={
        "description": "A new public key in OpenSSH form; it becomes a key of the project."})
    label = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The new key's name."})

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


FEATURE_WANTS = ("required", "preferred")


class Features(fields.Field):
    """``features``, in the API's two forms: a list of names (each required), or an object of name ->
    ``required`` | ``preferred``. Ingot selects no machine by feature, so a required one is refused (422);
    a preferred one cannot fail a request (Equinix serves it with a machine that lacks the feature when none
    has it), and no Ingot machine advertises one. ``{}`` is no features (packet-python sends it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and all(isinstance(name, str) for name in value):
            wanted = dict.fromkeys(value, "required")
        elif isinstance(value, dict) and all(want in FEATURE_WANTS for want in value.values()):
            wanted = dict(value)
        else:
            raise ValidationError('must be a list of feature names, or an object of name: "required" or "preferred"')
        required = [name for name, want in wanted.items() if want == "required"]
        if required:
            raise ValidationError(f"{NO_FEATURES} (required: {', '.join(required)})")
        return wanted

    def openapi(self) -> dict:
        """Both forms (api.schemas.common.declared_property)."""
        return {"oneOf": [{"type": "array", "items": {"type": "string"}},
                          {"type": "object", "additionalProperties": {"type": "string", "enum": list(FEATURE_WANTS)}}]}


USER_STATES = ("running", "succeeded", "failed")
WAITABLE = {"state": DEVICE_STATES, "user_state": USER_STATES}
MAX_WAIT_SECONDS = 300


class DeviceGetArgs(RequestSchema):
    """Ingot: ``wait_for=user_state:succeeded`` (or ``state:active``) holds the answer until the device
    gets there, it ends ``failed``, or ``timeout`` seconds pass."""

    include = fields.String(metadata={
        "description": "Accepted for Equinix clients; related objects are shown as Ingot always shows them."})
    exclude = fields.String(metadata={"description": "Accepted for Equinix clients; every field is shown."})
    wait_for = fields.String(metadata={
        "description": "Ingot extension: `user_state:<running|succeeded|failed>` or `state:<a device state>`; the "
                       "answer waits until the device gets there, ends `failed`, or `timeout` passes (the "
                       "`Ingot-Wait` header says which)."})
    timeout = fields.Float(validate=validate.Range(min=0, max=MAX_WAIT_SECONDS), metadata={
        "description": f"With `wait_for`: how long to wait, in seconds (default 60, at most {MAX_WAIT_SECONDS})."})

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

    hostname = fields.String(validate=validate_hostname, metadata={
        "description": "Its hostname (RFC 1123: letters, digits, hyphens and dots, labels up to 63, at most 253 in "
                       "all); default: one made from the plan and a short id."})
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Free text."})
    plan = fields.String(required=True, metadata={"description": "The plan: its slug or id."})
    metro = OneOrMany(load_default=None, allow_none=True, metadata={
        "description": "The metro: its code or id, or a list tried in order until one has a free machine. Give "
                       "`metro` or `facility`."})
    facility = OneOrMany(load_default=None, allow_none=True, metadata={
        "description": "A facility (code or id), or a list tried in order; `any` is every facility the list "
                       "does not name. The machine is taken in the facility's metro. Give `metro` or `facility`."})
    operating_system = fields.String(required=True, metadata={"description": "The operating system: its slug or id."})
    userdata = fields.String(load_default="", validate=validate_userdata, metadata={
        **MULTILINE,
        "maxLength": MAX_USERDATA_BYTES,
        "description": f"User data for cloud-init (or the installer), at most {MAX_USERDATA_BYTES // 1024} KiB "
                       "in UTF-8; readable by the device from its metadata service."})
    customdata = JSONObject(load_default=dict, metadata={
        "description": "A JSON object (or a JSON-encoded string of one) the device reads from its metadata."})
    tags = Tags(load_default=list, metadata={
        "description": "Tags: a list of at most 64 strings of 1 to 256 characters."})
    billing_cycle = fields.String(load_default="hourly", validate=validate.OneOf(BILLING_CYCLES), metadata={
        "description": "Kept and shown; nothing is billed."})
    always_pxe = fields.Boolean(load_default=False, metadata={
        "description": "Netboot `ipxe_script_url` at every boot, not only at install (needs `ipxe_script_url`)."})
    ipxe_script_url = fields.String(load_default="", allow_none=True,
                                    validate=[validate.Length(max=2048), validate_url], metadata={
        "description": "An http(s) URL of an iPXE script; required with the `custom_ipxe` operating system."})
    hardware_reservation_id = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Put it on this hardware reservation of the project, or `next-available` for any free one of "
                       "the plan."})
    project_ssh_keys = fields.List(fields.String(), load_default=None, allow_none=True, metadata={
        "description": "Ids of project keys to give it. When this, `user_ssh_keys` and `ssh_keys` are all empty or "
                       "omitted (and not `no_ssh_keys`), it gets every project key and the caller's keys; otherwise "
                       "exactly the keys named."})
    user_ssh_keys = fields.List(fields.String(), load_default=None, allow_none=True, metadata={
        "description": "Ids of the caller's own keys to give it (see `project_ssh_keys`)."})
    ssh_keys = fields.List(fields.Nested(SSHKeyInput), load_default=list, validate=validate.Length(max=MAX_SSH_KEYS),
                           metadata={"description": "Keys inline, added to those `project_ssh_keys` and "
                                                    "`user_ssh_keys` name: `{\"id\": ...}` of an existing key, or "
                                                    "`{\"key\": ..., \"label\": ...}` of a new project key."})
    no_ssh_keys = fields.Boolean(load_default=False, metadata={
        "description": "Give it no key unless named: not the project's and the caller's by default."})
    locked = fields.Boolean(load_default=False, metadata={
        "description": "Create it locked (no delete or reinstall until unlocked)."})
    ip_addresses = fields.List(fields.Nested(IpAddressInput), load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=3), metadata={
        "description": "Which addresses it gets: 1 to 3 entries (public IPv4, private IPv4, public IPv6); default: "
                       "all the metro has pools for."})
    public_ipv4_subnet_size = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=32),
                                             metadata={"description": "The prefix length of its public IPv4 block."})
    private_ipv4_subnet_size = fields.Integer(load_default=None, allow_none=True,
                                              validate=validate.Range(min=1, max=32), metadata={
        "description": "The prefix length of its private IPv4 block."})
    termination_time = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None, metadata={
        "description": "When Ingot deletes it by itself (ISO 8601 with a timezone, in the future)."})
    spot_instance = fields.Boolean(load_default=False, validate=_refuse("spot_instance", NO_SPOT), metadata={
        "description": "Refused (422) when true: Ingot has no spot market."})
    spot_price_max = fields.Float(load_default=None, allow_none=True, validate=_refuse("spot_price_max", NO_SPOT),
                                  metadata={"description": "Refused (422) when set: Ingot has no spot market."})
    features = Features(load_default=dict, metadata={
        "description": "A list of feature names, or an object of name: `required` or `preferred`. A required feature "
                       "is refused (422): Ingot does not select machines by feature, choose a plan whose machines "
                       "have it; a preferred one is served by any machine, as Equinix does when none has it."})
    network_frozen = fields.Boolean(load_default=False, validate=_refuse("network_frozen", NO_FREEZE), metadata={
        "description": "Refused (422) when true: Ingot does not freeze networks."})
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

    hostname = fields.String(validate=validate_hostname, metadata={
        "description": "A new hostname (RFC 1123)."})
    description = fields.String(validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "New free text."})
    userdata = fields.String(validate=validate_userdata, metadata={
        **MULTILINE,
        "maxLength": MAX_USERDATA_BYTES,  # the validator counts UTF-8 bytes: a bound, as characters
        "description": f"New userdata (at most {MAX_USERDATA_BYTES // 1024} KiB in UTF-8)."})
    customdata = JSONObject(metadata={"description": "A new JSON object (or a JSON-encoded string of one)."})
    tags = Tags(metadata={"description": "New tags (replace the old ones)."})
    billing_cycle = fields.String(validate=validate.OneOf(BILLING_CYCLES), metadata={
        "description": "Kept and shown; nothing is billed."})
    always_pxe = fields.Boolean(metadata={
        "description": "Netboot `ipxe_script_url` at every boot (needs an `ipxe_script_url`)."})
    ipxe_script_url = fields.String(allow_none=True, validate=validate.Length(max=2048), metadata={
        "description": "A new http(s) iPXE script URL, or null."})
    locked = fields.Boolean(metadata={"description": "Lock or unlock it."})
    spot_instance = fields.Boolean(validate=_refuse("spot_instance", NO_SPOT), metadata={
        "description": "Refused (422) when true: Ingot has no spot market."})
    network_frozen = fields.Boolean(validate=_refuse("network_frozen", NO_FREEZE), metadata={
        "description": "Refused (422) when true: Ingot does not freeze networks."})
    firmware_set_id = fields.String(allow_none=True, validate=_refuse("firmware_set_id", NO_FIRMWARE_SETS), metadata={
        "description": "Refused (422) when set: Ingot has no firmware sets."})
    # an Ingot shortcut (Equinix's Terraform resource metal_device_network_type does it port by port)
    network_type = fields.String(validate=validate.OneOf(NETWORK_TYPES), metadata={
        "description": "Ingot shortcut: convert all its ports to `layer3`, `hybrid`, `hybrid-bonded`, "
                       "`layer2-individual` or `layer2-bonded` (as `POST /ports/{id}/convert/...` does port by port)."})


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
    force_delete = fields.Boolean(load_default=False, metadata={
        "description": "Accepted for Equinix clients; changes nothing."})
    # Ingot extension (Equinix has it on reinstall only): skip the disk wipe on release
    deprovision_fast = fields.Boolean(load_default=False, metadata={
        "description": "Ingot extension: do not wipe the disks before the machine returns to the pool."})


class BatchInstanceSchema(DeviceCreateSchema):
    quantity = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100), metadata={
        "description": "How many devices (default: one per name in `hostnames`, else 1)."})
    hostnames = fields.List(fields.String(validate=validate_hostname), load_default=list,
                            validate=validate.Length(max=100), metadata={
        "description": "The devices' hostnames, one per device (at most 100)."})

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
                          validate=validate.Length(min=1, max=10), metadata={
        "description": "1 to 10 batches, each a device create with `quantity` and `hostnames`; at most 100 devices in"
                       " all."})

    @validates_schema
    def _total(self, data, **kwargs):
        total = sum(b.get("quantity", 1) for b in data.get("batches", []))
        if total > MAX_BATCH:
            raise ValidationError(f"at most {MAX_BATCH} devices per batch request", "batches")


class BatchSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    state = fields.String(metadata={
        "description": "`completed` (its devices were created) or `failed` (none was; see `error_messages`)."})
    quantity = fields.Integer(metadata={"description": "How many devices were asked."})
    error_messages = fields.List(fields.String(), metadata={"description": "Why a failed batch was not made."})
    devices = Refs("devices", metadata={"description": "Hrefs of its devices."})
    project = Ref("projects", attribute="project_id", metadata={"description": "Its project's href."})
    href = fields.Function(lambda b: href("batches", b.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


BatchListSchema = Schema.from_dict({"batches": fields.List(fields.Nested(BatchSchema), metadata={
    "description": "The batches: on a create, one per batch asked, in order (a failed one says why)."})},
    name="BatchList")


class BatchDeleteArgs(RequestSchema):
    remove_associated_instances = fields.Boolean(load_default=False, metadata={
        "description": "Delete the batch's devices too."})


class UserdataSchema(Schema):
    userdata = fields.String(metadata={"description": "The device's userdata (empty if none)."})


class UserdataValidateArgs(RequestSchema):
    userdata = fields.String(load_default="", validate=validate_userdata, metadata={
        **MULTILINE,
        "maxLength": MAX_USERDATA_BYTES,
        "description": f"The userdata to check (at most {MAX_USERDATA_BYTES // 1024} KiB in UTF-8)."})
