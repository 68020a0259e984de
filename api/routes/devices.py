"""Devices: the tenant's servers, and what each carries (keys, userdata, customdata, metadata)."""
from __future__ import annotations

from urllib.parse import urlparse

from api.core.urls import external_url, sos_address
from api.routes.common import api_blueprint, box, paginate, principal, session, settings
from api.schemas.common import FreeFormSchema
from api.schemas.device import (
    DeviceActionSchema,
    DeviceCreateSchema,
    DeviceDeleteArgs,
    DeviceGetArgs,
    DeviceListArgs,
    DeviceListSchema,
    DeviceSchema,
    DeviceUpdateSchema,
    UserdataSchema,
    UserdataValidateArgs,
)
from api.schemas.health import DeviceHealthRollupSchema
from api.schemas.metadata import device_metadata
from api.schemas.ssh_key import SSHKeyListSchema
from api.services import auth, devices, health, userdata

blp = api_blueprint("devices", "Devices")

def present_devices(rows) -> list:
    """The devices with what the caller may see of them (see :func:`api.services.devices.present`)."""
    s = session()
    # Equinix's shape, <device id>@<host>; with the SSH serial console on, its host (and port, if not 22)
    sos_host = sos_address(settings()) or urlparse(external_url()).hostname or "localhost"
    return devices.present(s, list(rows), box(), principal().member_project_ids(s), sos_host)


def present_page(page: dict) -> dict:
    return {**page, "devices": present_devices(page["devices"])}


def _present(device):
    return present_devices([device])[0]


def _private(device_id):
    """The device, for its project's members only (see :func:`api.services.devices.require_member`)."""
    s = session()
    p = principal()
    device = devices.visible_device(s, p, device_id)
    devices.require_member(p, p.member_project_ids(s), device)
    return device


@blp.route("/projects/<project_id>/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_project_devices(args, project_id):
    """List a project's devices (filters: state, hostname, search, tag, metro, plan)."""
    project = auth.visible_project(session(), principal(), project_id)
    return present_page(paginate(devices.list_query(None, args, project.id), args, "devices"))


@blp.route("/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_devices(args):
    """List the devices of every project the caller can see."""
    allowed = principal().project_ids(session())
    return present_page(paginate(devices.list_query(allowed, args), args, "devices"))


@blp.route("/projects/<project_id>/devices", methods=["POST"])
@blp.arguments(DeviceCreateSchema)
@blp.response(201, DeviceSchema)
def create_device(data, project_id):
    """Create a device: allocate a machine of the plan in the metro (or facility) and image it."""
    s = session()
    p = principal()
    return _present(devices.create(s, p, auth.visible_project(s, p, project_id), data, box()))


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
@blp.arguments(DeviceActionSchema, example={"type": "reinstall", "operating_system": "debian_12"})
@blp.response(202)
def device_action(data, device_id):
    """Power on/off, reboot, reinstall (optionally with a new OS or iPXE script URL) or rescue a device.

    Members of the device's project (and operators) may call it. The answer is 202 at once; the
    engine then drives the machine step by step, each step an event of the device
    (`GET /devices/{id}/events?sort=asc`). A 409 means the device's state does not allow the action
    now (e.g. `power_on` of an `active` device) or another operation is running; a 422 names a wrong
    field. Unlike Equinix, `reinstall` also takes `deprovision_fast`."""
    s = session()
    p = principal()
    devices.action(s, p, devices.visible_device(s, p, device_id), data, box())


@blp.route("/devices/<device_id>/diagnostics/health/rollup", methods=["GET"])
@blp.response(200, DeviceHealthRollupSchema)
def get_device_health_rollup(device_id):
    """Show the device's hardware health: ok, warning or critical."""
    return health.rollup(devices.visible_device(session(), principal(), device_id))

@blp.route("/devices/<device_id>/ssh-keys", methods=["GET"])
@blp.response(200, SSHKeyListSchema)
def device_keys(device_id):
    """List the SSH keys a device was given."""
    return {"ssh_keys": devices.visible_device(session(), principal(), device_id).ssh_keys}


@blp.route("/devices/<device_id>/userdata", methods=["GET"])
@blp.response(200, UserdataSchema)
def device_userdata(device_id):
    """Show a device's userdata (to its project's members)."""
    return {"userdata": _private(device_id).userdata}


@blp.route("/devices/<device_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def device_customdata(device_id):
    """Show a device's customdata (to its project's members)."""
    return _private(device_id).customdata or {}


@blp.route("/devices/<device_id>/metadata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def device_metadata_document(device_id):
    """Show a device's metadata document (to its project's members)."""
    return device_metadata(_private(device_id))


@blp.route("/userdata/validate", methods=["POST"])
@blp.arguments(UserdataValidateArgs, location="query")
@blp.response(204)
def validate_userdata(args):
    """Check that userdata is in a format cloud-init reads (422 naming what is wrong)."""
    userdata.validate(args["userdata"])
