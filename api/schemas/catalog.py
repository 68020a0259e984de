"""Metros, facilities, plans and operating systems (tenant views + operator input)."""
from __future__ import annotations

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import MULTILINE, RequestSchema, href, list_schema, update_schema
from api.schemas.storage import StorageField

# validate.Regexp matches from the start; \Z (not "$", which allows a final newline) ends the match
SLUG = validate.Regexp(r"[a-z0-9][a-z0-9._-]{0,63}\Z", error="must be lowercase letters, digits, '.', '_' or '-'")


class MetroSchema(Schema):
    id = fields.String()
    code = fields.String()
    name = fields.String()
    country = fields.String()
    href = fields.Function(lambda m: href("locations/metros", m.id))


MetroListSchema = list_schema("metros", MetroSchema, "MetroList")


class MetroCreateSchema(RequestSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"[a-z0-9]{2,16}\Z",
                         error="must be 2 to 16 lowercase letters or digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    country = fields.String(load_default="", validate=validate.Length(max=8))


MetroUpdateSchema = update_schema(MetroCreateSchema, "MetroUpdate", exclude=("code",))


class FacilitySchema(Schema):
    """A facility: the operator's alias for a place in a metro."""

    id = fields.String()
    code = fields.String()
    name = fields.String()
    features = fields.List(fields.String())
    ip_ranges = fields.Constant([])
    metro = fields.Nested(MetroSchema)
    href = fields.Function(lambda f: href("facilities", f.id))


FacilityListSchema = list_schema("facilities", FacilitySchema, "FacilityList")


class FacilityCreateSchema(RequestSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9]{2,16}$",
                         error="must be 2 to 16 lowercase letters or digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    metro = fields.String(required=True)
    features = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                           validate=validate.Length(max=32))


FacilityUpdateSchema = update_schema(FacilityCreateSchema, "FacilityUpdate", exclude=("code", "metro"))


class PlanRefSchema(Schema):
    """A plan as embedded in a device or reservation."""

    id = fields.String()
    slug = fields.String()
    name = fields.String()
    description = fields.String()
    line = fields.String()
    plan_class = fields.String(data_key="class")
    specs = fields.Dict()
    pricing = fields.Function(lambda p: {"hour": p.price_hour})
    href = fields.Function(lambda p: href("plans", p.id))


class PlanSchema(PlanRefSchema):
    """A plan as listed in the catalogue: where it is offered (the metros that have machines of
    it, and their facilities) at which hourly price."""

    type = fields.Constant("standard")
    legacy = fields.Constant(False)
    categories = fields.Constant(["compute"])
    match = fields.Dict()  # Ingot extension: the inspection rules a machine of the plan satisfies
    storage = StorageField(dump_only=True)   # Ingot extension: the default layout of the plan's devices
    # on demand; hardware reservations are Ingot's operators' to make, and there is no spot market
    deployment_types = fields.Constant(["on_demand"])
    # the spec's href and price, and the code Terraform's plan filters match on (Equinix gave the whole
    # metro with ?include=available_in_metros; the spec's item allows more properties)
    available_in_metros = fields.Function(lambda p: [
        {"href": href("locations/metros", m.id), "code": m.code, "price": {"hour": p.price_hour}}
        for m in p.available_metros])
    available_in = fields.Function(lambda p: [
        {"href": href("facilities", f.id), "code": f.code, "price": {"hour": p.price_hour}}
        for f in p.available_facilities])


PlanListSchema = list_schema("plans", PlanSchema, "PlanList")


class PlanCreateSchema(RequestSchema):
    slug = fields.String(required=True, validate=SLUG)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="", metadata=MULTILINE)
    plan_class = fields.String(data_key="class", load_default="")
    line = fields.String(load_default="baremetal")
    specs = fields.Dict(load_default=dict)
    match = fields.Dict(load_default=dict)
    price_hour = fields.Float(load_default=0.0, validate=validate.Range(min=0))
    storage = StorageField(load_default=dict)


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


class OperatingSystemRefSchema(Schema):
    """An operating system as embedded in a device."""

    id = fields.String()
    slug = fields.String()
    name = fields.String()
    distro = fields.String()
    version = fields.String()
    href = fields.Function(lambda o: href("operating-systems", o.id))


class OperatingSystemSchema(OperatingSystemRefSchema):
    """An operating system as listed in the catalogue."""

    distro_label = fields.Function(lambda o: o.distro.capitalize())
    provisionable_on = fields.List(fields.String())
    install_method = fields.String()  # Ingot extension: how the OS is installed
    default_user = fields.String()    # Ingot extension: the user its SSH keys are for
    preinstallable = fields.Constant(False)
    licensed = fields.Constant(False)
    pricing = fields.Constant({})


OperatingSystemListSchema = list_schema("operating_systems", OperatingSystemSchema, "OperatingSystemList")


class OperatingSystemCreateSchema(RequestSchema):
    slug = fields.String(required=True, validate=SLUG)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    distro = fields.String(load_default="")
    version = fields.String(load_default="")
    provisionable_on = fields.List(fields.String(), load_default=list)
    install_method = fields.String(load_default="ipxe_recipe", validate=validate.OneOf(INSTALL_METHODS))
    kernel_url = fields.String(load_default="", validate=validate_template)
    initrd_url = fields.String(load_default="", validate=validate_template)
    cmdline_template = fields.String(load_default="", validate=validate_template)
    install_kind = fields.String(load_default="", validate=validate.OneOf(("", "autoinstall", "preseed")))
    install_template = fields.String(load_default="", metadata=MULTILINE, validate=validate_template)
    image_url = fields.String(load_default="")
    image_checksum = fields.String(load_default="", validate=validate.Regexp(
        r"(sha256:[0-9a-f]{64})?\Z", error="must be sha256:<64 hex digits>"))
    # raw, gz, xz: a whole-disk image; tar, tar.gz, tar.xz: a root filesystem archive (for storage layouts)
    image_format = fields.String(load_default="raw", validate=validate.OneOf(IMAGE_FORMATS))
    default_user = fields.String(load_default="root")


OperatingSystemUpdateSchema = update_schema(OperatingSystemCreateSchema, "OperatingSystemUpdate",
                                            exclude=("slug",))
