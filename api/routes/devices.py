"""Devices: the tenant's servers, and what each carries (keys, userdata, customdata, metadata)."""
from __future__ import annotations

from urllib.parse import urlparse

from api.core.urls import external_url, sos_address
from api.routes.common import api_blueprint, box, paginate, principal, session, settings
from api.routes.examples import CREATED, REQUESTS
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
from api.services import auth, device_reads, devices, health, userdata

blp = api_blueprint("devices", "Devices")


def present_devices(rows, recent=None) -> list:
    """The devices with what the caller may see of them (see :func:`api.services.devices.present`)."""
    s = session()
    # Equinix's shape, <device id>@<host>; with the SSH serial console on, its host (and port, if not 22)
    sos_host = sos_address(settings()) or urlparse(external_url()).hostname or "localhost"
    return devices.present(s, list(rows), box(), principal().member_project_ids(s), sos_host, recent)


def present_page(page: dict) -> dict:
    """A page of device ids (:func:`api.services.devices.list_query`) as the devices' JSON."""
    return {**page, "devices": present_devices(device_reads.load(session(), page["devices"]))}


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
    """List a project's devices (filters: state, hostname, search, tag, metro, plan).

    Members of the project and operators (404 for others). Oldest first, paginated. Filters: `state`, `hostname`
    (exact), `search` (in hostname, description, id or short id), `tag`, `metro`, `plan`, `facility`,
    `reserved`, `type` (`ondemand` or `reserved`; `spot` finds nothing), `has_termination_time`, `mac_address`,
    `categories`. `userdata`, `customdata` and `root_password` are shown to the project's members only. 422 for
    an unknown `state` or `type`.
    """
    project = auth.visible_project(session(), principal(), project_id)
    return present_page(paginate(devices.list_query(None, args, project.id), args, "devices"))


@blp.route("/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_devices(args):
    """List the devices of every project the caller can see.

    Any token: a user sees the devices of their projects, a project API key its project's, an operator every
    device (without the private fields of projects they are not a member of). The same filters as a project's
    list. Equinix has no such list across projects; Ingot adds it for the console and the CLI.
    """
    allowed = principal().project_ids(session())
    return present_page(paginate(devices.list_query(allowed, args), args, "devices"))


@blp.route("/projects/<project_id>/devices", methods=["POST"])
@blp.arguments(DeviceCreateSchema, example=REQUESTS["create_device"])
@blp.response(201, DeviceSchema, example=CREATED["create_device"])
def create_device(data, project_id):
    """Create a device: allocate a machine of the plan in the metro (or facility) and image it.

    Members of the project and operators (404 for another project). Ingot picks a free machine of `plan` in
    `metro` (or in the metro of `facility`; a list is tried in order), gives it addresses from the metro's
    pools, and answers 201 with the device `queued`; the engine then powers, netboots and images the machine,
    and the device turns `active` (or `failed`, with an event saying why). Follow it with `GET /devices/{id}`
    (`state`, `provisioning_percentage`) or its events.

    422 names the field: an unknown plan, metro, facility or operating system, an OS not allowed on the plan, a
    bad hostname, userdata over 64 KiB, an unknown SSH key, or no free machine or address (e.g. `plan: no
    available c3.small machine in metro da`). Equinix fields Ingot cannot honour (`spot_instance`,
    `spot_price_max`, a required feature in `features`, `network_frozen`) are a 422 when set, never ignored;
    `billing_cycle` is kept but nothing is billed.
    """
    s = session()
    p = principal()
    device, recent = devices.create(s, p, auth.visible_project(s, p, project_id), data, box())
    return present_devices([device], recent)[0]


@blp.route("/devices/<device_id>", methods=["GET"])
@blp.arguments(DeviceGetArgs, location="query")
@blp.response(200, DeviceSchema)
def get_device(args, device_id):
    """Show a device.

    Members of the device's project and operators; for anyone else it does not exist (404). `userdata`,
    `customdata` and `root_password` are shown to the project's members only; `root_password` for a day after
    the create. Equinix's `Device` shape; `rescue`, `user_state` and `user_state_message` are Ingot extensions.
    With `?wait_for=user_state:succeeded&timeout=120` (or `state:active`) the answer waits until the device gets
    there or the timeout passes; the `Ingot-Wait` header says which.
    """
    if "wait_for" not in args:
        return _present(device_reads.visible_device(session(), principal(), device_id))
    field, _, value = args["wait_for"].partition(":")
    device, outcome = devices.wait_for(session(), principal(), device_id, field, value,
                                       args.get("timeout", devices.DEFAULT_WAIT_SECONDS))
    return _present(device), 200, {"Ingot-Wait": outcome}


@blp.route("/devices/<device_id>", methods=["PUT", "PATCH"])
@blp.arguments(DeviceUpdateSchema, example=REQUESTS["update_device"])
@blp.response(200, DeviceSchema)
def update_device(data, device_id):
    """Change a device's hostname, description, tags, userdata, customdata, lock…

    Members of the device's project and operators (404 for others). Changes only the fields sent (PUT and PATCH
    alike); Ingot records them, and the installed OS sees new userdata and customdata in its metadata (a new
    hostname is not pushed into a running OS). 422 names a wrong field, e.g. `always_pxe` without an
    `ipxe_script_url`; `spot_instance`, `network_frozen` and `firmware_set_id` are refused (422) as Ingot has
    none of them.
    """
    s = session()
    p = principal()
    device, recent = devices.update(s, p, devices.visible_device(s, p, device_id), data)
    return present_devices([device], recent)[0]


@blp.route("/devices/<device_id>", methods=["DELETE"])
@blp.arguments(DeviceDeleteArgs, location="query")
@blp.response(204)
def delete_device(args, device_id):
    """Delete a device: power off, wipe, and return its machine to the pool.

    Members of the device's project and operators (404 for others). 204 at once; the engine powers the machine
    off, wipes its disks (skipped with `deprovision_fast=true`, an Ingot extension) and returns it to the pool;
    the device then disappears. A locked device is a 422 (unlock it first); 409 when the machine is in the
    middle of an operation that cannot be interrupted. Deleting a device already being deleted is a 204 again.
    `force_delete` is accepted for Equinix clients and changes nothing.
    """
    s = session()
    p = principal()
    devices.delete(s, p, devices.visible_device(s, p, device_id, devices.DEVICE_ROW),
                   force=args.get("force_delete", False), fast=args.get("deprovision_fast", False))


@blp.route("/devices/<device_id>/actions", methods=["POST"])
@blp.arguments(DeviceActionSchema, example=REQUESTS["device_action"])
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
    devices.action(s, p, devices.visible_device(s, p, device_id, devices.DEVICE_ROW), data, box())


@blp.route("/devices/<device_id>/diagnostics/health/rollup", methods=["GET"])
@blp.response(200, DeviceHealthRollupSchema)
def get_device_health_rollup(device_id):
    """Show the device's hardware health: ok, warning or critical.

    Members of the device's project and operators (404 for others). The worst status of its machine's sensors
    and components as the health sweep last read them from the BMC (every `INGOT_HEALTH_SYNC_INTERVAL`, 300 s by
    default); `warning` while the BMC gives no health. A change of status is also an event of the device
    (`device.health.critical`, `.warning`, `.ok`).
    """
    return health.rollup(devices.visible_device(session(), principal(), device_id))


@blp.route("/devices/<device_id>/ssh-keys", methods=["GET"])
@blp.response(200, SSHKeyListSchema)
def device_keys(device_id):
    """List the SSH keys a device was given.

    Members of the device's project and operators (404 for others). The keys the device was created with, whose
    public keys are in its metadata.
    """
    return {"ssh_keys": devices.visible_device(session(), principal(), device_id).ssh_keys}


@blp.route("/devices/<device_id>/userdata", methods=["GET"])
@blp.response(200, UserdataSchema)
def device_userdata(device_id):
    """Show a device's userdata (to its project's members).

    Members of the device's project; an operator who is not a member gets 403, others 404. Empty when the device
    has none.
    """
    return {"userdata": _private(device_id).userdata}


@blp.route("/devices/<device_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def device_customdata(device_id):
    """Show a device's customdata (to its project's members).

    Members of the device's project; an operator who is not a member gets 403, others 404. The JSON object set
    on the device.
    """
    return _private(device_id).customdata or {}


@blp.route("/devices/<device_id>/metadata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def device_metadata_document(device_id):
    """Show a device's metadata document (to its project's members).

    Members of the device's project; an operator who is not a member gets 403, others 404. Equinix's `Metadata`
    shape: hostname, operating system, plan, metro, tags, SSH keys, customdata, addresses and interfaces. The
    metadata service on the provisioning network gives the machine itself a richer document (with its secrets);
    this one has none.
    """
    return device_metadata(_private(device_id))


@blp.route("/userdata/validate", methods=["POST"])
@blp.arguments(UserdataValidateArgs, location="query")
@blp.response(204)
def validate_userdata(args):
    """Check that userdata is in a format cloud-init reads (422 naming what is wrong).

    Any token. 204 when `userdata` (a query argument, as Equinix has it) is a format cloud-init reads: `#cloud-
    config` (valid YAML, a mapping), `#!` scripts, `#include`, a MIME multipart document…; else 422 saying what
    is wrong. Over 64 KiB is a 422 too.
    """
    userdata.validate(args["userdata"])
