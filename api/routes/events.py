"""The audit trail: per device, per project, and for operators all of it."""
from __future__ import annotations

from sqlalchemy import or_, select

from api.models import Event
from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.event import EventListArgs, EventListSchema, EventSchema
from api.services import auth, devices, organizations

blp = api_blueprint("events", "Events")


def _filtered(q, args: dict):
    if args.get("actor"):
        q = q.where(Event.actor == args["actor"])
    if args.get("target"):
        q = q.where(or_(Event.target_id == args["target"], Event.device_id == args["target"],
                        Event.machine_id == args["target"]))
    if args.get("type"):
        q = q.where(Event.type.startswith(args["type"]))
    if args.get("since"):
        q = q.where(Event.created_at >= args["since"])
    if args.get("until"):
        q = q.where(Event.created_at <= args["until"])
    if args.get("sort") == "asc":
        return q.order_by(Event.created_at, Event.id)
    return q.order_by(Event.created_at.desc(), Event.id)


@blp.route("/devices/<device_id>/events", methods=["GET"])
@blp.arguments(EventListArgs, location="query")
@blp.response(200, EventListSchema)
def device_events(args, device_id):
    """List a device's events, newest first (``?sort=asc``: oldest first).

    Members of the device's project and operators (404 for others). Every step the engine takes (power, netboot,
    install, callbacks) and every change made through the API, with who did it. `sort=asc` tells the story from
    the start; filters: `actor`, `type` (a prefix, e.g. `device.`), `target`, `since`, `until`.
    """
    device = devices.visible_device(session(), principal(), device_id)
    return paginate(_filtered(select(Event).where(Event.device_id == device.id), args), args, "events")


@blp.route("/projects/<project_id>/events", methods=["GET"])
@blp.arguments(EventListArgs, location="query")
@blp.response(200, EventListSchema)
def project_events(args, project_id):
    """List a project's events, newest first (``?sort=asc``: oldest first).

    Members of the project and operators (404 for others). The project's audit trail: devices, keys, IP blocks,
    members. Newest first unless `sort=asc`; the same filters as a device's events.
    """
    project = auth.visible_project(session(), principal(), project_id)
    return paginate(_filtered(select(Event).where(Event.project_id == project.id), args), args, "events")


@blp.route("/events", methods=["GET"])
@blp.arguments(EventListArgs, location="query")
@blp.response(200, EventListSchema)
def list_events(args):
    """List events: an operator sees all, others their projects' (filters: actor, target, type, since, until).

    Any token: an operator sees every event (the fleet's too: machines, catalogue), others the events of their
    projects. Newest first unless `sort=asc`. Equinix has no such list; Ingot adds it for the console and the
    CLI.
    """
    p = principal()
    q = select(Event)
    allowed = p.project_ids(session())
    if allowed is not None:
        q = q.where(Event.project_id.in_(allowed))
    return paginate(_filtered(q, args), args, "events")


@blp.route("/events/<event_id>", methods=["GET"])
@blp.response(200, EventSchema)
def get_event(event_id):
    """Show an event (of one of the caller's projects; operators: any).

    Members of the event's project and operators; anyone else gets 404.
    """
    return auth.find_visible(session(), principal(), Event, event_id, "Event")


@blp.route("/organizations/<organization_id>/events", methods=["GET"])
@blp.arguments(EventListArgs, location="query")
@blp.response(200, EventListSchema)
def organization_events(args, organization_id):
    """List the events of the organization's projects the caller belongs to, newest first.

    Whoever sees the organization (404 for others); the events of its projects the caller belongs to (operators:
    all of them). Newest first unless `sort=asc`.
    """
    s = session()
    p = principal()
    org = organizations.visible_organization(s, p, organization_id)
    allowed = p.project_ids(s)
    ids = [pr.id for pr in org.projects if allowed is None or pr.id in allowed]
    return paginate(_filtered(select(Event).where(Event.project_id.in_(ids)), args), args, "events")
