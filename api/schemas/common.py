"""Shared schema pieces: request base, list arguments, pagination meta, href."""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, missing, pre_load, validate

from api.core.strict_input import has_control
from api.core.urls import API_PREFIX

MAX_PER_PAGE = 1000
MAX_PAGE = 1_000_000  # keeps OFFSET inside a 64-bit integer on every database
MAX_TAGS = 64
MAX_TAG_LENGTH = 256

# whole-string matches (fullmatch, \Z): "$" would match before a final newline
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


def href(kind: str, obj_id: str) -> str:
    return f"{API_PREFIX}/{kind}/{obj_id}"


def ref(kind: str, obj_id: str | None) -> dict | None:
    """An Equinix ``Href``: ``{"href": ...}`` (``None`` for no object)."""
    return {"href": href(kind, obj_id)} if obj_id else None


def refs(kind: str, rows) -> list[dict]:
    """``Href``s of ``rows`` (objects with an ``id``)."""
    return [{"href": href(kind, r.id)} for r in rows]


def id_ref(kind: str, obj_id: str | None) -> dict | None:
    """A related object the spec embeds whole, as its ``id`` and ``href`` (``None`` for no object)."""
    return {"id": obj_id, "href": href(kind, obj_id)} if obj_id else None


class View:
    """A row as one response shows it: the row's attributes plus values
    computed for this response (a token shown once, a secret this caller may
    see), which are never stored on the row itself."""

    def __init__(self, row, **shown):
        self._row = row
        self.__dict__.update(shown)

    def __getattr__(self, name):  # only for names not given to __init__
        return getattr(self._row, name)


class DirectDump:
    """A response schema whose ``dump`` builds its dicts directly with its ``_direct(obj)``, which makes
    what marshmallow makes of its fields (tests/api/test_device_json.py compares the two) at a fraction
    of the cost: the hot paths (device lists). The fields stay, for the OpenAPI document. An instance
    made with ``only`` or ``exclude``, or a subclass without its own ``_direct``, dumps the marshmallow way."""

    def dump(self, obj, *, many=None):
        many = self.many if many is None else many
        if "_direct" not in type(self).__dict__ or self.only or self.exclude:
            return super().dump(obj, many=many)
        return [self._direct(o) for o in obj] if many else self._direct(obj)


def as_text(value) -> str | None:
    """A ``fields.String`` value as marshmallow dumps it."""
    return None if value is None else str(value)


def as_iso(value) -> str | None:
    """A ``fields.DateTime`` value as marshmallow dumps it (ISO 8601)."""
    return None if value is None else value.isoformat()


MULTILINE = {"multiline": True}  # a text field's metadata: tab and line breaks allowed (free text)


def _control_in(field: fields.Field, value) -> bool:
    """``value`` of ``field`` (a string, or a list of strings) holds a control character."""
    if isinstance(value, str) and isinstance(field, fields.String):
        return has_control(value, multiline=bool(field.metadata.get("multiline")))
    if isinstance(value, list) and isinstance(field, (fields.List, Tags)):
        inner = field.inner if isinstance(field, fields.List) else fields.String()
        return any(_control_in(inner, item) for item in value)
    return False


class RequestSchema(Schema):
    """Request bodies and query arguments: fields Equinix clients send that Ingot
    does not use are ignored (``features``, ``spot_instance``…), not errors; no
    text field carries a control character (they end up in iPXE scripts, dnsmasq
    files, shell commands and logs), except tab and line breaks in free text
    (fields with ``metadata=MULTILINE``)."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _refuse_control_characters(self, data, **kwargs):
        if isinstance(data, Mapping):
            bad = {key: ["must not contain control characters"] for key, field in
                   ((f.data_key or name, f) for name, f in self.load_fields.items())
                   if key in data and _control_in(field, data[key])}
            if bad:
                raise ValidationError(bad)
        return data


class ListArgs(RequestSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE), metadata={
        "description": "The page to show, from 1."})
    per_page = fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_PER_PAGE), metadata={
        "description": "Items per page (default 10, at most 1000)."})
    include = fields.String(metadata={
        "description": "Accepted for Equinix clients; related objects are shown as Ingot always shows them."})
    exclude = fields.String(metadata={"description": "Accepted for Equinix clients; every field is shown."})


class AllListArgs(ListArgs):
    """A list the spec does not paginate (plans, metros, keys…): every item on one page unless asked."""

    per_page = fields.Integer(load_default=MAX_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE), metadata={
        "description": "Items per page (default: all of them, at most 1000)."})


class LinkSchema(Schema):
    href = fields.String(metadata={"description": "The page's URL in this API."})


class MetaSchema(Schema):
    first = fields.Nested(LinkSchema, metadata={"description": "The first page."})
    previous = fields.Nested(LinkSchema, allow_none=True, metadata={
        "description": "The previous page, or null on the first."})
    self = fields.Nested(LinkSchema, data_key="self", metadata={"description": "This page."})
    next = fields.Nested(LinkSchema, allow_none=True, metadata={"description": "The next page, or null on the last."})
    last = fields.Nested(LinkSchema, metadata={"description": "The last page."})
    current_page = fields.Integer(metadata={"description": "This page's number, from 1."})
    last_page = fields.Integer(metadata={"description": "The number of the last page."})
    total = fields.Integer(metadata={"description": "How many items there are in all."})


class HrefField(fields.Field):
    """Dumps a related object (or its id) that the spec embeds whole (a ``Project`` in a
    ``Device``) as ``{"id": ..., "href": ...}``."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind

    def _serialize(self, value, attr, obj, **kwargs):
        return id_ref(self.kind, value if isinstance(value, str) or value is None else value.id)


class Ref(HrefField):
    """Dumps a related object (or its id) that the spec types as ``Href``: ``{"href": ...}``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return ref(self.kind, value if isinstance(value, str) or value is None else value.id)


class Refs(HrefField):
    """Dumps a list of related objects as a list of ``Href``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return refs(self.kind, value or [])


class OneOrMany(fields.Field):
    """A string, or a list of strings (Equinix's ``metro`` and ``facility`` inputs); loads a list."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
            raise ValidationError("must be a code or id, or a non-empty list of them")
        return items


def require_one_place(data: dict) -> None:
    """Check that a create names a metro or a facility, not both; raises ValidationError naming the field."""
    if not data.get("metro") and not data.get("facility"):
        raise ValidationError("give a metro (or a facility)", "metro")
    if data.get("metro") and data.get("facility"):
        raise ValidationError("give a metro or a facility, not both", "facility")


class FreeFormSchema(Schema):
    """A JSON object of any keys (customdata, a metadata document), dumped as it is."""

    class Meta:
        # The OpenAPI document then says additionalProperties: true, which is what these objects are.
        unknown = INCLUDE

    def dump(self, obj, *, many=None):
        return dict(obj or {})


class Tags(fields.Field):
    """A list of strings. Older Equinix clients send ``{}`` when empty."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ({}, None):
            return []
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ValidationError("must be a list of strings")
        if len(value) > MAX_TAGS:
            raise ValidationError(f"at most {MAX_TAGS} tags")
        for tag in value:
            if not tag or len(tag) > MAX_TAG_LENGTH:
                raise ValidationError(f"each tag must be 1 to {MAX_TAG_LENGTH} characters")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return list(value or [])

    def openapi(self) -> dict:
        """Its OpenAPI form, with the limits it enforces (see :func:`declared_property`)."""
        return {"type": "array", "maxItems": MAX_TAGS,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH}}


def declared_property(converter, field: fields.Field, **kwargs) -> dict:
    """The OpenAPI form a custom field declares with its ``openapi()`` (an apispec attribute function,
    registered by the app), so the documented shape and limits are the ones the field enforces."""
    return field.openapi() if callable(getattr(field, "openapi", None)) else {}


class JSONObject(fields.Field):
    """A JSON object; a JSON-encoded string of one is accepted too, and null or ``""`` is the empty object
    (clients such as packet-python send ``customdata: null`` for the customdata their caller left out)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        # before marshmallow's "Field may not be null", which a field without allow_none raises
        return super().deserialize({} if value is None else value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "":  # null was made {} by deserialize
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValidationError("must be a JSON object") from exc
        if not isinstance(value, dict):
            raise ValidationError("must be a JSON object")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value or {}


HTTP_URL_RE = re.compile(r"https?://[^\s${}]+")  # fullmatch; what an iPXE script may chain to


def is_http_url(value: str) -> bool:
    """An http(s) URL without whitespace, control characters or iPXE settings (``${...}``)."""
    return bool(HTTP_URL_RE.fullmatch(value or ""))


def validate_hostname(value: str) -> None:
    if not HOSTNAME_RE.fullmatch(value or ""):
        raise ValidationError("must be a valid RFC 1123 hostname (letters, digits, hyphens, dots; "
                              "labels up to 63 characters)")


def update_schema(create: type[Schema], name: str, exclude: tuple[str, ...] = ()) -> type[Schema]:
    """The PUT/PATCH twin of a create schema: same fields and validators, none
    required and no defaults, so only what the client sends is changed."""
    new_fields = {}
    for field_name, field in create._declared_fields.items():
        if field_name in exclude:
            continue
        f = copy.copy(field)
        f.required = False
        f.load_default = missing
        new_fields[field_name] = f
    return type(name, (RequestSchema,), new_fields)


def list_schema(key: str, item_schema: type[Schema], name: str) -> type[Schema]:
    """A ``{"<key>": [...], "meta": {...}}`` list schema for ``item_schema``."""
    return Schema.from_dict({
        key: fields.List(fields.Nested(item_schema), metadata={"description": "The items of this page."}),
        "meta": fields.Nested(MetaSchema, metadata={
            "description": "Where this page is: links to the first, previous, next and last pages, and the total."}),
    }, name=name)
