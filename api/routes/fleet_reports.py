"""Operator reports the console draws: fleet use over time, provisioning times, plan match;
and bulk enrolment by uploading an inventory file."""
from __future__ import annotations

import datetime as dt

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from api.core.db import get_db
from api.models import utcnow
from api.routes.common import api_blueprint, box, operator_required, session, settings
from api.routes.examples import REQUESTS
from api.schemas.common import RequestSchema
from api.services import bulk_enroll, fleet_reports, machines

blp = api_blueprint("fleet_reports", "Fleet reports and bulk enrolment (operators only)")


class UsageArgs(RequestSchema):
    hours = fields.Float(load_default=24.0, validate=validate.Range(min=0.01, max=24 * 14), metadata={
        "description": "How far back, in hours (default 24, at most 336: two weeks)."})


class ProvisioningArgs(RequestSchema):
    last = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000), metadata={
        "description": "How many of the latest devices to show (default 100, at most 1000)."})


class BulkEnrollArgs(RequestSchema):
    check = fields.Boolean(load_default=True, metadata={
        "description": "Ask each enrolled machine's BMC for its power state (default true)."})
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.5, max=120), metadata={
        "description": "Seconds to wait for each BMC (default 10, 0.5 to 120)."})


class BulkEnrollFileSchema(Schema):
    file = Upload(required=True, metadata={
        "description": "The inventory: YAML, or JSON when its name ends with `.json` (a list of machines, or "
                       "`{defaults, machines}`, as `ingot admin machines enroll --from-file` reads)."})


class UsageSchema(Schema):
    categories = fields.List(fields.String(), metadata={
        "description": "The categories each point counts: `available`, `allocated`, `failed`, `maintenance`, "
                       "`other`."})
    since = fields.String(metadata={"description": "The start of the series (ISO 8601)."})
    now = fields.String(metadata={"description": "When the answer was made; the last point of each series (ISO 8601)."})
    series = fields.List(fields.Dict(), metadata={
        "description": "One series per metro and plan: `{metro, plan, points: [{at, <category>: count…}]}`."})


class ProvisioningTimesSchema(Schema):
    devices = fields.List(fields.Dict(), metadata={
        "description": "Each device: `device_id`, `hostname`, `plan`, `metro`, `created_at`, `active_at`, "
                       "`seconds`."})
    summary = fields.Dict(metadata={"description": "`count`, `min`, `median`, `p90` and `max` of the seconds."})


class PlanMatchSchema(Schema):
    inspected = fields.Boolean(metadata={"description": "Whether the machine has inspected facts."})
    plan = fields.String(allow_none=True, metadata={"description": "Its plan's slug, or null."})
    fits = fields.Boolean(allow_none=True, metadata={
        "description": "Whether its facts fit its plan's rules (null without a plan)."})
    reasons = fields.List(fields.String(), metadata={
        "description": "Why they do not (e.g. `cpus is 2, plan wants 4`)."})
    candidates = fields.List(fields.Dict(), metadata={"description": "Every plan: `{plan, rules, fits, reasons}`."})


class BulkEnrollSchema(Schema):
    outcomes = fields.List(fields.Dict(), metadata={
        "description": "One per machine of the file: what happened to it (`enrolled`, `exists` or `failed`, "
                       "and why)."})
    enrolled = fields.Integer(metadata={"description": "How many machines were enrolled."})
    existing = fields.Integer(metadata={"description": "How many were already enrolled."})
    failed = fields.Integer(metadata={"description": "How many failed."})
    seconds = fields.Float(metadata={"description": "How long it took."})
    summary = fields.List(fields.String(), metadata={"description": "The same, as lines of text."})


@blp.route("/fleet/usage", methods=["GET"])
@operator_required
@blp.arguments(UsageArgs, location="query")
@blp.response(200, UsageSchema)
def fleet_usage(args, operator):
    """Operator: machines available, allocated, failed and in maintenance over time, per metro and plan.

    Operators only (403 for others). For the last `hours` (at most 14 days), a series of how many machines were
    available, allocated, failed and in maintenance, per metro and plan; the console draws it. Ingot's own:
    Equinix has no fleet.
    """
    return fleet_reports.usage(session(), utcnow() - dt.timedelta(hours=args["hours"]))


@blp.route("/fleet/provisioning-times", methods=["GET"])
@operator_required
@blp.arguments(ProvisioningArgs, location="query")
@blp.response(200, ProvisioningTimesSchema)
def provisioning_times(args, operator):
    """Operator: create → active times of the last devices that became active.

    Operators only (403 for others). For the `last` devices that became active (newest first), the seconds from
    create to `active`, with their plan and metro, and a summary (count, min, median, 90th percentile, max); the
    console draws it.
    """
    return fleet_reports.provisioning_times(session(), args["last"])


@blp.route("/machines/<machine_id>/plan-match", methods=["GET"])
@operator_required
@blp.response(200, PlanMatchSchema)
def plan_match(machine_id, operator):
    """Operator: how a machine's inspected facts fit its plan's rules (and every plan's).

    Operators only (403 for others); 404 for an unknown machine. Whether the machine's inspected facts fit its
    plan's match rules and, if not, why; and the same for every plan (`candidates`), so an operator sees why the
    others did not match.
    """
    return fleet_reports.plan_match(session(), machines.get(session(), machine_id))


@blp.route("/machines/bulk-enroll", methods=["POST"])
@operator_required
@blp.arguments(BulkEnrollArgs, location="query")
@blp.arguments(BulkEnrollFileSchema, location="files", example=REQUESTS["bulk_enroll_file"])
@blp.response(200, BulkEnrollSchema)
def bulk_enroll_file(args, files, operator):
    """Operator: enroll every machine of an inventory file (YAML, or JSON by its name), checking each BMC first.

    Operators only (403 for others). A multipart upload of `file`: a list of machines (hostname, metro, BMC,
    NICs, plan) in YAML, or in JSON when the file name ends with `.json`; each machine is enrolled in its own
    transaction. With `check` (the default) each enrolled machine's BMC is asked for its power state (within
    `timeout` seconds) and one that does not answer is reported `failed`. The answer counts the machines
    `enrolled`, already there (`exists`) and `failed`, with one outcome (and reason) per machine. 422 for a file
    that cannot be read or has the wrong shape.
    """
    upload = files["file"]
    return bulk_enroll.enroll_upload(session(), get_db(), box(), upload.filename or "", upload.read(),
                                     operator.actor, settings=settings(), check=args["check"], timeout=args["timeout"])
