"""Batches: several devices created in one request, kept so clients can find and delete them."""
from __future__ import annotations

from api.routes.common import api_blueprint, box, paginate, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import AllListArgs
from api.schemas.device import BatchCreateSchema, BatchDeleteArgs, BatchListSchema, BatchSchema
from api.services import auth, batches

blp = api_blueprint("batches", "Batches of devices")


@blp.route("/projects/<project_id>/devices/batch", methods=["POST"])
@blp.arguments(BatchCreateSchema, example=REQUESTS["create_batch"])
@blp.response(201, BatchListSchema, example=CREATED["create_batch"])
def create_batch(data, project_id):
    """Create several devices; each batch succeeds or fails as a whole (a failed one says why).

    Members of the project and operators (404 for others). Each entry of `batches` is a device create plus
    `quantity` and `hostnames`: its devices are all made or none is (each batch in its own transaction), and a
    batch that could not be made is answered too, with `state: failed` and `error_messages` saying why.
    Hostnames come from `hostnames`, or `hostname` numbered (`web-01`, `web-02`…). 201 with the batches. 422 for
    a malformed entry or more than 100 devices in all.
    """
    s = session()
    p = principal()
    return {"batches": batches.create(s, p, auth.visible_project(s, p, project_id), data["batches"], box())}


@blp.route("/projects/<project_id>/batches", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, BatchListSchema)
def list_batches(args, project_id):
    """List a project's batches.

    Members of the project and operators (404 for others).
    """
    project = auth.visible_project(session(), principal(), project_id)
    return {"batches": paginate(batches.project_query(project), args, "batches")["batches"]}


@blp.route("/batches/<batch_id>", methods=["GET"])
@blp.response(200, BatchSchema)
def get_batch(batch_id):
    """Show a batch and its devices.

    Members of its project and operators (404 for others). With the hrefs of its devices.
    """
    return batches.visible_batch(session(), principal(), batch_id)


@blp.route("/batches/<batch_id>", methods=["DELETE"])
@blp.arguments(BatchDeleteArgs, location="query")
@blp.response(204)
def delete_batch(args, batch_id):
    """Delete a batch; with remove_associated_instances=true its devices too.

    Members of its project and operators (404 for others). Forgets the batch; with
    `remove_associated_instances=true` its devices are deleted too, as `DELETE /devices/{id}` would. 422 when
    one of them is locked (nothing is deleted then).
    """
    s = session()
    p = principal()
    batches.delete(s, p, batches.visible_batch(s, p, batch_id), args["remove_associated_instances"])
