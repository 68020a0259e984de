"""Hardware health: Equinix's device rollup, and the operator's full picture of a machine."""
from __future__ import annotations

from marshmallow import Schema, fields


class DeviceHealthRollupSchema(Schema):
    health_rollup = fields.String(metadata={
        "description": "`ok`, `warning` or `critical`: the worst status of its machine's sensors and components at "
                       "the last read; `warning` while the BMC gives no health (nobody can say it is ok)."})
    updated_at = fields.DateTime(allow_none=True, metadata={
        "description": "When its machine's health was last read (UTC, ISO 8601), or null if never."})


class HealthItemSchema(Schema):
    kind = fields.String(metadata={
        "description": "`temperature`, `fan`, `voltage`, `power`, `psu`, `memory`, `drive`, `processor`, `system`, "
                       "`chassis` or `other`."})
    name = fields.String(metadata={"description": "The sensor's or component's name as the BMC gives it."})
    status = fields.String(metadata={"description": "`ok`, `warning`, `critical` or `unknown`."})
    reading = fields.Float(allow_none=True, metadata={"description": "Its reading, if it is a sensor; else null."})
    units = fields.String(metadata={"description": "The reading's units (e.g. `Celsius`, `RPM`, `Volts`), or empty."})
    detail = fields.String(metadata={"description": "What the BMC says beyond the status (may be empty)."})


class HealthLogEntrySchema(Schema):
    time = fields.String(allow_none=True, metadata={
        "description": "When the BMC logged it, as the BMC gives it (null if it gives none)."})
    severity = fields.String(metadata={"description": "The entry's severity as the BMC rates it (e.g. `Critical`)."})
    message = fields.String(metadata={"description": "The entry's text."})


class MachineHealthSchema(Schema):
    status = fields.String(metadata={
        "description": "`ok`, `warning`, `critical` (the worst of `sensors`), or `unknown` until a read succeeds."})
    checked_at = fields.DateTime(allow_none=True, metadata={
        "description": "When the health sweep last read it (UTC, ISO 8601), or null if never."})
    sensors = fields.List(fields.Nested(HealthItemSchema), metadata={
        "description": "Its sensors and components at the last successful read."})
    log = fields.List(fields.Nested(HealthLogEntrySchema), metadata={
        "description": "The BMC's newest log entries (Redfish log services, the IPMI SEL), newest last."})
    error = fields.String(metadata={"description": "Why the last read failed (empty when it succeeded)."})
    stale = fields.Boolean(metadata={
        "description": "True when the last read failed and `sensors` and `log` are those of an earlier read."})
