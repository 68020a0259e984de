"""BGP: project configs, device sessions with the metro's router, neighbour data."""
from __future__ import annotations

from flask import request

from api.core.errors import Invalid, NotFound
from api.routes.common import api_blueprint, box, principal, session
from api.schemas.bgp import (
    BgpConfigRequestSchema,
    BgpConfigSchema,
    BgpNeighborListSchema,
    BgpSessionCreateSchema,
    BgpSessionListSchema,
    BgpSessionSchema,
    GlobalBgpRangeListSchema,
)
from api.services import auth, bgp, devices, fabric

blp = api_blueprint("bgp", "BGP")


@blp.route("/projects/<project_id>/bgp-configs", methods=["POST"])
@blp.arguments(BgpConfigRequestSchema)
@blp.response(204)
def request_bgp_config(data, project_id):
    """Enable BGP for a project: local (a private ASN, at once) or global (reviewed by an operator)."""
    s, p = session(), principal()
    bgp.request_config(s, p, auth.visible_project(s, p, project_id), data, box())


@blp.route("/projects/<project_id>/bgp-config", methods=["GET"])
@blp.response(200, BgpConfigSchema)
def get_bgp_config(project_id):
    """Show a project's BGP config, with its sessions."""
    s, p = session(), principal()
    project = auth.visible_project(s, p, project_id)
    config = bgp.config_of(s, project.id)
    if config is None:
        raise NotFound("BGP config not found")
    return bgp.present_config(s, config, box(), p)


@blp.route("/projects/<project_id>/bgp/sessions", methods=["GET"])
@blp.response(200, BgpSessionListSchema)
def list_project_sessions(project_id):
    """List the BGP sessions of a project's devices."""
    project = auth.visible_project(session(), principal(), project_id)
    return {"bgp_sessions": bgp.project_sessions(session(), project.id)}


@blp.route("/projects/<project_id>/global-bgp-ranges", methods=["GET"])
@blp.response(200, GlobalBgpRangeListSchema)
def list_project_global_ranges(project_id):
    """List the address ranges the project may announce with global BGP."""
    project = auth.visible_project(session(), principal(), project_id)
    return {"global_bgp_ranges": list(session().scalars(fabric.global_ranges_query(project)))}


@blp.route("/devices/<device_id>/bgp/sessions", methods=["POST"])
@blp.arguments(BgpSessionCreateSchema)
@blp.response(201, BgpSessionSchema)
def create_session(data, device_id):
    """Create a BGP session between the device and its metro's router (one per address family)."""
    s, p = session(), principal()
    return bgp.create_session(s, p, devices.visible_device(s, p, device_id), data)


@blp.route("/devices/<device_id>/bgp/sessions", methods=["GET"])
@blp.response(200, BgpSessionListSchema)
def list_device_sessions(device_id):
    """List a device's BGP sessions, with their status read from the router."""
    device = devices.visible_device(session(), principal(), device_id)
    return {"bgp_sessions": list(session().scalars(bgp.device_sessions_query(device)))}


@blp.route("/devices/<device_id>/bgp/neighbors", methods=["GET"])
@blp.response(200, BgpNeighborListSchema)
def get_neighbors(device_id):
    """What the device configures its BGP daemon with (also in its metadata's bgp_neighbors)."""
    device = devices.visible_device(session(), principal(), device_id)
    return {"bgp_neighbors": bgp.neighbour_data(session(), device, box())}


@blp.route("/bgp/sessions/<session_id>", methods=["GET"])
@blp.response(200, BgpSessionSchema)
def get_session(session_id):
    """Show a BGP session."""
    return bgp.visible_session(session(), principal(), session_id)


@blp.route("/bgp/sessions/<session_id>", methods=["PUT"])
@blp.doc(requestBody={"required": True, "description": "The default route: true or false",
                      "content": {"application/json": {"schema": {"type": "boolean"}}}})
@blp.response(200, BgpSessionSchema)
def update_session(session_id):
    """Turn the session's default route on or off (the body is a JSON boolean)."""
    body = request.get_json(silent=True)
    if isinstance(body, dict) and set(body) == {"default_route"}:
        body = body["default_route"]
    if not isinstance(body, bool):
        raise Invalid("default_route: the body must be true or false")
    s, p = session(), principal()
    return bgp.update_session(s, p, bgp.visible_session(s, p, session_id), body)


@blp.route("/bgp/sessions/<session_id>", methods=["DELETE"])
@blp.response(204)
def delete_session(session_id):
    """End a BGP session."""
    s, p = session(), principal()
    bgp.delete_session(s, p, bgp.visible_session(s, p, session_id))
