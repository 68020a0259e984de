"""Devices: the tenant's servers."""
from __future__ import annotations

from api.routes.common import api_blueprint, box, paginate, principal, session
from api.schemas.device import (
    BatchCreateSchema,
    BatchListSchema,
    DeviceActionSchema,
    DeviceCreateSchema,
    DeviceDeleteArgs,
    DeviceGetArgs,
    DeviceListArgs,
    DeviceListSchema,
    DeviceSchema,
    DeviceUpdateSchema,
)
from api.schemas.health import DeviceHealthRollupSchema
from api.services import auth, devices, health

blp = api_blueprint("devices", "Devices")


def _present(device):
    """The device with the secrets the caller may see."""
    return devices.present(device, box(), principal().member_project_ids(session()))


def _present_page(page: dict) -> dict:
    member_of = principal().member_project_ids(session())
    return {**page, "devices": [devices.present(d, box(), member_of) for d in page["devices"]]}


@blp.route("/projects/<project_id>/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_project_devices(args, project_id):
    """List a project's devices (filters: state, hostname, search, tag, metro, plan)."""
    project = auth.visible_project(session(), principal(), project_id)
    return _present_page(paginate(devices.list_query(None, args, project.id), args, "devices"))


@blp.route("/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_devices(args):
    """List the devices of every project the caller can see."""
    allowed = principal().project_ids(session())
    return _present_page(paginate(devices.list_query(allowed, args), args, "devices"))


@blp.route("/projects/<project_id>/devices", methods=["POST"])
@blp.arguments(DeviceCreateSchema)
@blp.response(201, DeviceSchema)
def create_device(data, project_id):
    """Create a device: allocate a machine of the plan in the metro and image it."""
    s = session()
    p = principal()
    return _present(devices.create(s, p, auth.visible_project(s, p, project_id), data, box()))


@blp.route("/projects/<project_id>/devices/batch", methods=["POST"])
@blp.arguments(BatchCreateSchema)
@blp.response(201, BatchListSchema)
def create_batch(data, project_id):
    """Create several devices; each batch succeeds or fails as a whole."""
    s = session()
    p = principal()
    project = auth.visible_project(s, p, project_id)
    return {"batches": devices.create_batch(s, p, project, data["batches"], box())}


@blp.route("/devices/<device_id>", methods=["GET"])
@blp.arguments(DeviceGetArgs, location="query")
@blp.response(200, DeviceSchema)
def get_device(args, device_id):
    """Show a device."""
    # ?wait_for=user_state:succeeded&timeout=120 answers once the device gets there (docs/api.md)
    if "wait_for" not in args:
        return _present(devices.visible_device(session(), principal(), device_id))
    field, _, value = args["wait_for"].partition(":")
    device, outcome = devices.wait_for(session(), principal(), device_id, field, value,
                                       args.get("timeout", devices.DEFAULT_WAIT_SECONDS))
    return _present(device), 200, {"Ingot-Wait": outcome}


@blp.route("/devices/<device_id>", methods=["PUT", "PATCH"])
@blp.arguments(DeviceUpdateSchema)
@blp.response(200, DeviceSchema)
def update_device(data, device_id):
    """Change a device's hostname, description, tags, userdata, customdata, lock…"""
    s = session()
    p = principal()
    return _present(devices.update(s, p, devices.visible_device(s, p, device_id), data))


@blp.route("/devices/<device_id>", methods=["DELETE"])
@blp.arguments(DeviceDeleteArgs, location="query")
@blp.response(204)
def delete_device(args, device_id):
    """Delete a device: power off, wipe, and return its machine to the pool."""
    s = session()
    p = principal()
    devices.delete(s, p, devices.visible_device(s, p, device_id), force=args.get("force_delete", False),
                   fast=args.get("deprovision_fast", False))


@blp.route("/devices/<device_id>/actions", methods=["POST"])
@blp.arguments(DeviceActionSchema)
@blp.response(202)
def device_action(data, device_id):
    """Power on/off, reboot, reinstall or rescue a device."""
    s = session()
    p = principal()
    devices.action(s, p, devices.visible_device(s, p, device_id), data, box())


@blp.route("/devices/<device_id>/diagnostics/health/rollup", methods=["GET"])
@blp.response(200, DeviceHealthRollupSchema)
def get_device_health_rollup(device_id):
    """Show the device's hardware health: ok, warning or critical."""
    return health.rollup(devices.visible_device(session(), principal(), device_id))
