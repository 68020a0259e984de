"""Metros, facilities, plans and operating systems (tenant views + operator input)."""
from __future__ import annotations

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import MULTILINE, DirectDump, RequestSchema, as_text, href, list_schema, update_schema
from api.schemas.storage import StorageField

# validate.Regexp matches from the start; \Z (not "$", which allows a final newline) ends the match
SLUG = validate.Regexp(r"[a-z0-9][a-z0-9._-]{0,63}\Z", error="must be lowercase letters, digits, '.', '_' or '-'")


class MetroSchema(DirectDump, Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    code = fields.String(metadata={"description": "Its short code, which requests use to name it (e.g. `da`)."})
    name = fields.String(metadata={"description": "Its display name."})
    country = fields.String(metadata={"description": "Its country code (may be empty)."})
    href = fields.Function(lambda m: href("locations/metros", m.id), metadata={"description": "Its URL in this API."})

    @staticmethod
    def _direct(m) -> dict:
        return {"id": as_text(m.id), "code": as_text(m.code), "name": as_text(m.name), "country": as_text(m.country),
                "href": href("locations/metros", m.id)}


MetroListSchema = list_schema("metros", MetroSchema, "MetroList")


class MetroCreateSchema(RequestSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"[a-z0-9]{2,16}\Z",
                         error="must be 2 to 16 lowercase letters or digits"), metadata={
        "description": "A short code, 2 to 16 lowercase letters or digits; cannot change later."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120), metadata={
        "description": "The display name."})
    country = fields.String(load_default="", validate=validate.Length(max=8), metadata={
        "description": "A country code, e.g. `US` (optional)."})


MetroUpdateSchema = update_schema(MetroCreateSchema, "MetroUpdate", exclude=("code",))


class FacilitySchema(Schema):
    """A facility: the operator's alias for a place in a metro."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    code = fields.String(metadata={"description": "Its short code, which a device create's `facility` may name."})
    name = fields.String(metadata={"description": "Its display name."})
    features = fields.List(fields.String(), metadata={
        "description": "Free labels the operator gave it (e.g. `baremetal`)."})
    ip_ranges = fields.Constant([], metadata={
        "description": "Always empty: a facility's addresses are its metro's pools."})
    metro = fields.Nested(MetroSchema, metadata={
        "description": "The metro it is in (a facility is an alias for a place inside a metro)."})
    href = fields.Function(lambda f: href("facilities", f.id), metadata={"description": "Its URL in this API."})


FacilityListSchema = list_schema("facilities", FacilitySchema, "FacilityList")


class FacilityCreateSchema(RequestSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9]{2,16}$",
                         error="must be 2 to 16 lowercase letters or digits"), metadata={
        "description": "A short code, 2 to 16 lowercase letters or digits; cannot change later."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120), metadata={
        "description": "The display name."})
    metro = fields.String(required=True, metadata={
        "description": "The metro it is in: its code or id; cannot change later."})
    features = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                           validate=validate.Length(max=32), metadata={
        "description": "Free labels (at most 32, each 1 to 64 characters)."})


FacilityUpdateSchema = update_schema(FacilityCreateSchema, "FacilityUpdate", exclude=("code", "metro"))


class PlanRefSchema(DirectDump, Schema):
    """A plan as embedded in a device or reservation."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    slug = fields.String(metadata={
        "description": "Its slug, which a device create's `plan` names (e.g. `c3.small.x86`)."})
    name = fields.String(metadata={"description": "Its display name."})
    description = fields.String(metadata={"description": "What the plan offers, in words."})
    line = fields.String(metadata={"description": "Its product line (`baremetal`)."})
    plan_class = fields.String(data_key="class", metadata={
        "description": "Its class (Equinix's `class`), usually the slug."})
    specs = fields.Dict(metadata={
        "description": "The hardware of its machines as Equinix describes it (cpus, memory, drives, nics), as the "
                       "operator entered it."})
    pricing = fields.Function(lambda p: {"hour": p.price_hour}, metadata={
        "description": "Its hourly price (`hour`), informative: Ingot bills nothing."})
    href = fields.Function(lambda p: href("plans", p.id), metadata={"description": "Its URL in this API."})

    @staticmethod
    def _direct(p) -> dict:
        return {"id": as_text(p.id), "slug": as_text(p.slug), "name": as_text(p.name),
                "description": as_text(p.description), "line": as_text(p.line), "class": as_text(p.plan_class),
                "specs": None if p.specs is None else dict(p.specs), "pricing": {"hour": p.price_hour},
                "href": href("plans", p.id)}


class PlanSchema(PlanRefSchema):
    """A plan as listed in the catalogue: where it is offered (the metros that have machines of
    it, and their facilities) at which hourly price."""

    type = fields.Constant("standard", metadata={"description": "Always `standard`."})
    legacy = fields.Constant(False, metadata={"description": "Always false."})
    categories = fields.Constant(["compute"], metadata={"description": "Always `[\"compute\"]`."})
    # Ingot extension: the inspection rules a machine of the plan satisfies
    match = fields.Dict(metadata={
        "description": "Ingot extension: the rules an inspected machine must meet to be of this plan: `cpus`, "
                       "`memory_mib`, `disk_count`, `disk_min_gb`, `nic_count`, each a number or `{min, max}`."})
    storage = StorageField(dump_only=True, metadata={
        "description": "Ingot extension: the default storage layout of its devices (Equinix's `storage` format), "
                       "used when a device gives none; null for the OS's own layout."})
    # on demand; hardware reservations are Ingot's operators' to make, and there is no spot market
    deployment_types = fields.Constant(["on_demand"], metadata={
        "description": "Always `[\"on_demand\"]`: reservations are made by operators, and there is no spot market."})
    # the spec's href and price, and the code Terraform's plan filters match on (Equinix gave the whole
    # metro with ?include=available_in_metros; the spec's item allows more properties)
    available_in_metros = fields.Function(lambda p: [
        {"href": href("locations/metros", m.id), "code": m.code, "price": {"hour": p.price_hour}}
        for m in p.available_metros], metadata={
        "description": "The metros that have machines of the plan: each one's href, code and hourly price."})
    available_in = fields.Function(lambda p: [
        {"href": href("facilities", f.id), "code": f.code, "price": {"hour": p.price_hour}}
        for f in p.available_facilities], metadata={
        "description": "The facilities of those metros: each one's href, code and hourly price."})


PlanListSchema = list_schema("plans", PlanSchema, "PlanList")


class PlanCreateSchema(RequestSchema):
    slug = fields.String(required=True, validate=SLUG, metadata={
        "description": "The slug devices name it by: lowercase letters, digits, `.`, `_`, `-`, up to 64; cannot "
                       "change later."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120), metadata={
        "description": "The display name."})
    description = fields.String(load_default="", metadata={
        **MULTILINE,
        "description": "What the plan offers, in words."})
    plan_class = fields.String(data_key="class", load_default="", metadata={
        "description": "Equinix's `class` (defaults to empty)."})
    line = fields.String(load_default="baremetal", metadata={"description": "The product line (default `baremetal`)."})
    specs = fields.Dict(load_default=dict, metadata={
        "description": "The hardware shown to tenants, in Equinix's `specs` shape; shown as entered."})
    match = fields.Dict(load_default=dict, metadata={
        "description": "The rules inspection matches a machine's facts against: `cpus`, `memory_mib`, "
                       "`disk_count`, `disk_min_gb`, `nic_count`, each a number or `{\"min\": ..., \"max\": ...}`."})
    price_hour = fields.Float(load_default=0.0, validate=validate.Range(min=0), metadata={
        "description": "The hourly price shown to tenants (0 or more); nothing is billed."})
    storage = StorageField(load_default=dict, metadata={
        "description": "The default storage layout of its devices (Equinix's `storage` format: disks, partitions, "
                       "RAID, filesystems), checked against the plan's disks; empty for none."})


PlanUpdateSchema = update_schema(PlanCreateSchema, "PlanUpdate", exclude=("slug",))


INSTALL_METHODS = ("ipxe_recipe", "image", "custom_ipxe")
IMAGE_FORMATS = ("raw", "gz", "xz", "tar", "tar.gz", "tar.xz")
_TEMPLATES = SandboxedEnvironment()  # parses only: the templates render at boot (api/boot/ipxe.py)


def validate_template(value: str) -> None:
    """An OS record's template (rendered when a machine boots) must at least parse."""
    try:
        _TEMPLATES.parse(value)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"is not a valid template (line {exc.lineno}: {exc.message})") from None


class OperatingSystemRefSchema(DirectDump, Schema):
    """An operating system as embedded in a device."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    slug = fields.String(metadata={
        "description": "Its slug, which a device create's `operating_system` names (e.g. `debian_12`)."})
    name = fields.String(metadata={"description": "Its display name."})
    distro = fields.String(metadata={"description": "Its distribution (e.g. `debian`)."})
    version = fields.String(metadata={"description": "Its version (e.g. `12`)."})
    href = fields.Function(lambda o: href("operating-systems", o.id), metadata={"description": "Its URL in this API."})

    @staticmethod
    def _direct(o) -> dict:
        return {"id": as_text(o.id), "slug": as_text(o.slug), "name": as_text(o.name), "distro": as_text(o.distro),
                "version": as_text(o.version), "href": href("operating-systems", o.id)}


class OperatingSystemSchema(OperatingSystemRefSchema):
    """An operating system as listed in the catalogue."""

    distro_label = fields.Function(lambda o: o.distro.capitalize(), metadata={
        "description": "Its distribution, capitalised for display."})
    provisionable_on = fields.List(fields.String(), metadata={
        "description": "The plans it may be installed on (slugs); empty: every plan."})
    # Ingot extension: how the OS is installed
    install_method = fields.String(metadata={
        "description": "Ingot extension: how it is installed: `ipxe_recipe` (an installer netboots and installs), "
                       "`image` (a disk image is written), or `custom_ipxe` (the tenant's iPXE script)."})
    # Ingot extension: the user its SSH keys are for
    default_user = fields.String(metadata={
        "description": "Ingot extension: the user its SSH keys are installed for (e.g. `root`, `debian`)."})
    preinstallable = fields.Constant(False, metadata={"description": "Always false."})
    licensed = fields.Constant(False, metadata={"description": "Always false: Ingot sells no licences."})
    pricing = fields.Constant({}, metadata={"description": "Always empty: nothing is billed."})


OperatingSystemListSchema = list_schema("operating_systems", OperatingSystemSchema, "OperatingSystemList")


class OperatingSystemCreateSchema(RequestSchema):
    slug = fields.String(required=True, validate=SLUG, metadata={
        "description": "The slug devices name it by: lowercase letters, digits, `.`, `_`, `-`, up to 64; cannot "
                       "change later."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120), metadata={
        "description": "The display name."})
    distro = fields.String(load_default="", metadata={"description": "The distribution (e.g. `debian`)."})
    version = fields.String(load_default="", metadata={"description": "The version (e.g. `12`)."})
    provisionable_on = fields.List(fields.String(), load_default=list, metadata={
        "description": "The plan slugs it may be installed on; empty: every plan."})
    install_method = fields.String(load_default="ipxe_recipe", validate=validate.OneOf(INSTALL_METHODS), metadata={
        "description": "`ipxe_recipe` (the installer's kernel and initrd netboot with an answer file), `image` (the "
                       "deploy ramdisk writes `image_url` to disk) or `custom_ipxe` (the device's own "
                       "`ipxe_script_url`)."})
    kernel_url = fields.String(load_default="", validate=validate_template, metadata={
        "description": "`ipxe_recipe`: the installer kernel's URL (a template, rendered at boot)."})
    initrd_url = fields.String(load_default="", validate=validate_template, metadata={
        "description": "`ipxe_recipe`: the installer initrd's URL (a template, rendered at boot)."})
    cmdline_template = fields.String(load_default="", validate=validate_template, metadata={
        "description": "`ipxe_recipe`: the kernel command line (a template, rendered at boot)."})
    install_kind = fields.String(load_default="", validate=validate.OneOf(("", "autoinstall", "preseed")), metadata={
        "description": "`ipxe_recipe`: the answer file's kind: `autoinstall` (Ubuntu) or `preseed` (Debian)."})
    install_template = fields.String(load_default="", metadata={
        **MULTILINE,
        "description": "`ipxe_recipe`: the answer file (a template, rendered for each device at install time); must "
                       "parse."}, validate=validate_template)
    image_url = fields.String(load_default="", metadata={"description": "`image`: the disk image's URL."})
    image_checksum = fields.String(load_default="", validate=validate.Regexp(
        r"(sha256:[0-9a-f]{64})?\Z", error="must be sha256:<64 hex digits>"), metadata={
        "description": "`image`: `sha256:` and 64 hex digits, checked before the image is written (optional)."})
    image_format = fields.String(load_default="raw", validate=validate.OneOf(IMAGE_FORMATS), metadata={
        "description": "`image`: `raw`, `gz` or `xz` for a whole-disk image (default `raw`); `tar`, `tar.gz` or "
                       "`tar.xz` for a root filesystem archive, which a custom storage layout needs."})
    default_user = fields.String(load_default="root", metadata={
        "description": "The user its SSH keys are installed for (default `root`)."})


OperatingSystemUpdateSchema = update_schema(OperatingSystemCreateSchema, "OperatingSystemUpdate",
                                            exclude=("slug",))
