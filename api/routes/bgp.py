"""BGP: project configs, device sessions with the metro's router, neighbour data."""
from __future__ import annotations

from flask import request

from api.core.errors import Invalid, NotFound
from api.routes.common import api_blueprint, box, principal, session
from api.routes.examples import CREATED, REQUESTS
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
@blp.arguments(BgpConfigRequestSchema, example=REQUESTS["request_bgp_config"])
@blp.response(204)
def request_bgp_config(data, project_id):
    """Enable BGP for a project: local (a private ASN, at once) or global (reviewed by an operator).

    Members of the project and operators (404 for others). `local` is `enabled` at once; its `asn` must be in an
    operator's ASN range (without any, a private ASN: 64512-65534 or 4200000000-4294967294), else 422. `global`
    is `requested` until an operator grants the project a range (`POST /global-bgp-ranges`), `enabled` at once if
    one is granted already. 204, as Equinix answers; read it back with `GET /projects/{id}/bgp-config`. 409 when the
    project has a BGP config: Ingot has no call to change or remove one.
    """
    s, p = session(), principal()
    bgp.request_config(s, p, auth.visible_project(s, p, project_id), data, box())


@blp.route("/projects/<project_id>/bgp-config", methods=["GET"])
@blp.response(200, BgpConfigSchema)
def get_bgp_config(project_id):
    """Show a project's BGP config, with its sessions.

    Members of the project and operators (404 for others, and when the project has no BGP config). The MD5
    password is shown to the project's members only; the global ranges granted to it with global BGP.
    """
    s, p = session(), principal()
    project = auth.visible_project(s, p, project_id)
    config = bgp.config_of(s, project.id)
    if config is None:
        raise NotFound("BGP config not found")
    return bgp.present_config(s, config, box(), p)


@blp.route("/projects/<project_id>/bgp/sessions", methods=["GET"])
@blp.response(200, BgpSessionListSchema)
def list_project_sessions(project_id):
    """List the BGP sessions of a project's devices.

    Members of the project and operators (404 for others). Every session of its devices, oldest first, with the
    status last read from the router.
    """
    project = auth.visible_project(session(), principal(), project_id)
    return {"bgp_sessions": bgp.project_sessions(session(), project.id)}


@blp.route("/projects/<project_id>/global-bgp-ranges", methods=["GET"])
@blp.response(200, GlobalBgpRangeListSchema)
def list_project_global_ranges(project_id):
    """List the address ranges the project may announce with global BGP.

    Members of the project and operators (404 for others). The ranges an operator granted it (empty for most
    projects).
    """
    project = auth.visible_project(session(), principal(), project_id)
    return {"global_bgp_ranges": list(session().scalars(fabric.global_ranges_query(project)))}


@blp.route("/devices/<device_id>/bgp/sessions", methods=["POST"])
@blp.arguments(BgpSessionCreateSchema, example=REQUESTS["create_bgp_session"])
@blp.response(201, BgpSessionSchema, example=CREATED["create_bgp_session"])
def create_session(data, device_id):
    """Create a BGP session between the device and its metro's router (one per address family).

    Members of the device's project and operators (404 for others). The engine adds the device as a neighbour
    of the metro's router, which accepts from it only the project's reserved blocks in the metro (and its
    granted ranges with global BGP); configure the device's BGP daemon from `GET /devices/{id}/bgp/neighbors`.
    201 with the session, `status` `unknown` until the router is read. 422 when the project has no `enabled` BGP
    config, the device has a session of that family already, the metro has no router with a peer address of the
    family, or the device has no address of the family to peer from.
    """
    s, p = session(), principal()
    return bgp.create_session(s, p, devices.visible_device(s, p, device_id), data)


@blp.route("/devices/<device_id>/bgp/sessions", methods=["GET"])
@blp.response(200, BgpSessionListSchema)
def list_device_sessions(device_id):
    """List a device's BGP sessions, with their status read from the router.

    Members of the device's project and operators (404 for others). The status and learned routes are those
    last read from the router (every `INGOT_NETWORK_CHECK_INTERVAL` seconds).
    """
    device = devices.visible_device(session(), principal(), device_id)
    return {"bgp_sessions": list(session().scalars(bgp.device_sessions_query(device)))}


@blp.route("/devices/<device_id>/bgp/neighbors", methods=["GET"])
@blp.response(200, BgpNeighborListSchema)
def get_neighbors(device_id):
    """What the device configures its BGP daemon with (also in its metadata's bgp_neighbors).

    Members of the device's project and operators (404 for others). One entry per session: the device's and the
    router's ASN and addresses, the MD5 password, whether the session is multihop, the routes the router
    accepts from the device and the one it sends. Empty when the project has no BGP config or the metro no
    router.
    """
    device = devices.visible_device(session(), principal(), device_id)
    return {"bgp_neighbors": bgp.neighbour_data(session(), device, box())}


@blp.route("/bgp/sessions/<session_id>", methods=["GET"])
@blp.response(200, BgpSessionSchema)
def get_session(session_id):
    """Show a BGP session.

    Members of the device's project and operators; for anyone else (or once the device is deleted) it does not
    exist (404).
    """
    return bgp.visible_session(session(), principal(), session_id)


@blp.route("/bgp/sessions/<session_id>", methods=["PUT"])
@blp.doc(requestBody={"required": True, "description": "The default route: true or false",
                      "content": {"application/json": {"schema": {"type": "boolean"},
                                                       "example": REQUESTS["update_bgp_session"]}}})
@blp.response(200, BgpSessionSchema)
def update_session(session_id):
    """Turn the session's default route on or off (the body is a JSON boolean).

    Members of the device's project and operators (404 for others). The body is `true` or `false`, as in
    Equinix's API (Ingot takes `{"default_route": true}` too); 422 for anything else. The engine reconfigures
    the metro's router.
    """
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
    """End a BGP session.

    Members of the device's project and operators (404 for others). 204 at once; the engine removes the
    neighbour from the metro's router.
    """
    s, p = session(), principal()
    bgp.delete_session(s, p, bgp.visible_session(s, p, session_id))
