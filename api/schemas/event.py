"""Events (the Equinix ``Event`` shape plus Ingot's audit fields)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import ListArgs, href, list_schema


class EventSchema(Schema):
    id = fields.String()
    type = fields.String()
    body = fields.String()
    state = fields.String()
    interpolated = fields.Function(lambda e: e.body)
    actor = fields.String()
    outcome = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    relationships = fields.Method("_relationships")
    href = fields.Function(lambda e: href("events", e.id))
    created_at = fields.DateTime()

    def _relationships(self, e):
        rel = []
        if e.device_id:
            rel.append({"href": href("devices", e.device_id)})
        if e.project_id:
            rel.append({"href": href("projects", e.project_id)})
        return rel


EventListSchema = list_schema("events", EventSchema, "EventList")


class EventListArgs(ListArgs):
    actor = fields.String()
    target = fields.String()
    type = fields.String()
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)
    sort = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")), metadata={
        "description": "`desc` (the default): newest first; `asc`: oldest first, a device's story in order."})
