"""Metros, plans and operating systems (tenant views + operator input)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import RequestSchema, href, list_schema, update_schema
from api.schemas.storage import StorageField

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{0,63}$", error="must be lowercase letters, digits, '.', '_' or '-'")


class MetroSchema(Schema):
    id = fields.String()
    code = fields.String()
    name = fields.String()
    country = fields.String()
    href = fields.Function(lambda m: href("locations/metros", m.id))


MetroListSchema = list_schema("metros", MetroSchema, "MetroList")


class MetroCreateSchema(RequestSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9]{2,16}$",
                         error="must be 2 to 16 lowercase letters or digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    country = fields.String(load_default="", validate=validate.Length(max=8))


MetroUpdateSchema = update_schema(MetroCreateSchema, "MetroUpdate", exclude=("code",))


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
    """A plan as listed in the catalogue."""

    type = fields.Constant("standard")
    legacy = fields.Constant(False)
    match = fields.Dict()
    storage = StorageField(dump_only=True)   # Ingot: the default layout of the plan's devices
    deployment_types = fields.Constant(["on_demand", "reservation"])
    # the metros that have machines of this plan
    available_in_metros = fields.Function(lambda p: [
        {"id": m.id, "code": m.code, "href": href("locations/metros", m.id)} for m in p.available_metros])


PlanListSchema = list_schema("plans", PlanSchema, "PlanList")


class PlanCreateSchema(RequestSchema):
    slug = fields.String(required=True, validate=SLUG)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="")
    plan_class = fields.String(data_key="class", load_default="")
    line = fields.String(load_default="baremetal")
    specs = fields.Dict(load_default=dict)
    match = fields.Dict(load_default=dict)
    price_hour = fields.Float(load_default=0.0, validate=validate.Range(min=0))
    storage = StorageField(load_default=dict)


PlanUpdateSchema = update_schema(PlanCreateSchema, "PlanUpdate", exclude=("slug",))


INSTALL_METHODS = ("ipxe_recipe", "image", "custom_ipxe")
IMAGE_FORMATS = ("raw", "gz", "xz", "tar", "tar.gz", "tar.xz")


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
    install_method = fields.String()
    default_user = fields.String()
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
    kernel_url = fields.String(load_default="")
    initrd_url = fields.String(load_default="")
    cmdline_template = fields.String(load_default="")
    install_kind = fields.String(load_default="", validate=validate.OneOf(("", "autoinstall", "preseed")))
    install_template = fields.String(load_default="")
    image_url = fields.String(load_default="")
    image_checksum = fields.String(load_default="", validate=validate.Regexp(
        r"^$|^sha256:[0-9a-f]{64}$", error="must be sha256:<64 hex digits>"))
    # raw, gz, xz: a whole-disk image; tar, tar.gz, tar.xz: a root filesystem archive (for storage layouts)
    image_format = fields.String(load_default="raw", validate=validate.OneOf(IMAGE_FORMATS))
    default_user = fields.String(load_default="root")


OperatingSystemUpdateSchema = update_schema(OperatingSystemCreateSchema, "OperatingSystemUpdate",
                                            exclude=("slug",))
