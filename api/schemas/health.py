"""Hardware health: Equinix's device rollup, and the operator's full picture of a machine."""
from __future__ import annotations

from marshmallow import Schema, fields


class DeviceHealthRollupSchema(Schema):
    health_rollup = fields.String()
    updated_at = fields.DateTime(allow_none=True)


class HealthItemSchema(Schema):
    kind = fields.String()
    name = fields.String()
    status = fields.String()
    reading = fields.Float(allow_none=True)
    units = fields.String()
    detail = fields.String()


class HealthLogEntrySchema(Schema):
    time = fields.String(allow_none=True)
    severity = fields.String()
    message = fields.String()


class MachineHealthSchema(Schema):
    status = fields.String()
    checked_at = fields.DateTime(allow_none=True)
    sensors = fields.List(fields.Nested(HealthItemSchema))
    log = fields.List(fields.Nested(HealthLogEntrySchema))
    error = fields.String()
    stale = fields.Boolean()
