"""Netboot: the iPXE script for a machine's current step, and the deploy
ramdisk files. No API token: machines on the provisioning network call these."""
from __future__ import annotations

from pathlib import Path

from flask import Response, abort, request, send_from_directory
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.boot.ipxe import boot_phase, script_for, unknown_machine_script
from api.core.errors import Invalid, NotFound
from api.core.urls import external_url
from api.routes.common import API_PREFIX, box, session, settings
from api.schemas.discovery import InspectionReportSchema, LeaseSchema
from api.schemas.machine import MAC_RE
from api.services import bmc_discovery, callbacks, discovery

blp = Blueprint("boot", __name__, url_prefix=API_PREFIX + "/boot",
                description="Netboot for machines (no token; provisioning network)")

RAMDISK_FILES = {"vmlinuz", "initrd"}


class IpxeArgs(Schema):
    class Meta:
        unknown = "exclude"
    mac = fields.String(required=True)
    metro = fields.String(load_default=None)  # the metro whose dnsmasq config chained here (discovery)


def _script(machine, source: str) -> Response:
    s = session()
    device = callbacks.device_of_machine(s, machine)
    token = box().decrypt(device.metadata_token_enc) if device is not None and device.metadata_token_enc else None
    # an inspection boot carries a one-time credential for its hardware report
    report = discovery.new_inspection_token(machine) if boot_phase(machine, device) == "inspect" else None
    script = script_for(machine, device, external_url(), token, report)
    callbacks.boot_fetched(s, machine, script.kind, source)
    return Response(script.text, mimetype="text/plain")


@blp.route("/ipxe", methods=["GET"])
@blp.arguments(IpxeArgs, location="query")
@blp.response(200, content_type="text/plain")
def ipxe_by_mac(args):
    """The iPXE script for the machine with this NIC MAC."""
    mac = args["mac"]
    if not MAC_RE.match(mac):
        raise Invalid("mac: must be a MAC address like 52:54:00:12:34:56")
    s = session()
    machine = callbacks.machine_by_mac(s, mac)
    if machine is None:
        machine = discovery.unknown_mac_boot(s, mac.lower(), request.remote_addr or "?", args["metro"])
        if machine is None:
            return Response(unknown_machine_script(mac.lower()).text, mimetype="text/plain")
    return _script(machine, f"{request.remote_addr} (mac {mac.lower()})")


@blp.route("/ipxe/<token>", methods=["GET"])
@blp.response(200, content_type="text/plain")
def ipxe_by_token(token):
    """The iPXE script for the machine with this boot token."""
    machine = callbacks.machine_by_boot_token(session(), token)
    if machine is None:
        raise NotFound("Machine not found")
    return _script(machine, f"{request.remote_addr} (boot token)")


@blp.route("/inspection/<token>", methods=["POST"])
@blp.arguments(InspectionReportSchema)
@blp.response(200, content_type="application/json")
def inspection_report(facts, token):
    """Ingot's ramdisk reports the hardware it found (the boot's one-time URL)."""
    m = discovery.inspection_report(session(), token, facts, request.remote_addr or "?")
    return {"status": "ok", "machine": m.state}


@blp.route("/discovery/<token>/leases", methods=["POST"])
@blp.arguments(LeaseSchema)
@blp.response(200, content_type="application/json")
def discovery_lease(lease, token):
    """A metro's DHCP lease hook reports a lease (BMC discovery)."""
    return {"status": bmc_discovery.lease(session(), token, lease)}


@blp.route("/files/<name>", methods=["GET"])
@blp.response(200, content_type="application/octet-stream")
def ramdisk_file(name):
    """The deploy ramdisk's kernel (``vmlinuz``) or initramfs (``initrd``)."""
    if name not in RAMDISK_FILES:
        raise NotFound("No such boot file")
    directory = Path(settings().ramdisk_dir or Path(settings().data_dir) / "ramdisk")
    if not (directory / name).exists():
        abort(404, description=f"{name} is not built; run `ingot ramdisk build`")
    return send_from_directory(directory.resolve(), name)
