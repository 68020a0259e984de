"""Events (the Equinix ``Event`` shape plus Ingot's audit fields)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import DirectDump, ListArgs, as_iso, as_text, href, list_schema


class EventSchema(DirectDump, Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    type = fields.String(metadata={
        "description": "What happened, dotted (e.g. `device.provision.step`, `ssh_key.created`)."})
    body = fields.String(metadata={"description": "What happened, in words."})
    state = fields.String(metadata={"description": "Its severity: `info`, `warning` or `error`."})
    interpolated = fields.Function(lambda e: e.body, metadata={"description": "The same as `body` (Equinix's field)."})
    actor = fields.String(metadata={
        "description": "Who did it: `user:<id>`, `token:<id>` (a project API key), `system`, or a part of Ingot "
                       "(`system:discovery`…)."})
    outcome = fields.String(metadata={
        "description": "How it went: `ok` (the default), `failed`, `timeout` or `retry`."})
    target_type = fields.String(metadata={
        "description": "Ingot extension: the kind of object it is about (`device`, `machine`, `project`…)."})
    target_id = fields.String(metadata={"description": "Ingot extension: the id of that object."})
    relationships = fields.Method("_relationships", metadata={
        "description": "Hrefs of the device and project it belongs to."})
    href = fields.Function(lambda e: href("events", e.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})

    def _relationships(self, e):
        rel = []
        if e.device_id:
            rel.append({"href": href("devices", e.device_id)})
        if e.project_id:
            rel.append({"href": href("projects", e.project_id)})
        return rel

    def _direct(self, e) -> dict:
        return {"id": as_text(e.id), "type": as_text(e.type), "body": as_text(e.body), "state": as_text(e.state),
                "interpolated": e.body, "actor": as_text(e.actor), "outcome": as_text(e.outcome),
                "target_type": as_text(e.target_type), "target_id": as_text(e.target_id),
                "relationships": self._relationships(e), "href": href("events", e.id),
                "created_at": as_iso(e.created_at)}


EventListSchema = list_schema("events", EventSchema, "EventList")


class EventListArgs(ListArgs):
    actor = fields.String(metadata={"description": "Only events by this actor (exact)."})
    target = fields.String(metadata={
        "description": "Only events about this object id (a device, machine or other target)."})
    type = fields.String(metadata={
        "description": "Only events whose type starts with this (e.g. `device.` or `device.provision`)."})
    since = fields.AwareDateTime(default_timezone=None, metadata={
        "description": "Only events at or after this time (ISO 8601 with a timezone)."})
    until = fields.AwareDateTime(default_timezone=None, metadata={
        "description": "Only events at or before this time (ISO 8601 with a timezone)."})
    sort = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")), metadata={
        "description": "`desc` (the default): newest first; `asc`: oldest first, a device's story in order."})
