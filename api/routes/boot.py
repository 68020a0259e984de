"""Netboot: the iPXE script for a machine's current step, the deploy ramdisk
files, the inspection ramdisk's hardware report and a metro's DHCP lease hook
(discovery). No API token: machines on the provisioning network call these.

A lookup by MAC is anonymous, so it is limited per source address: each one
that hands out no boot credential counts (api/security.py) — an unknown MAC,
discovered or not, included — and a source over the limit gets 429 and no
script at all. A boot credential is in a script once per step
(api/services/callbacks.py); an inspection boot carries its own one-time
inspection token instead. A token in a URL that matches nothing is a counted
404 (a failed guess)."""
from __future__ import annotations

from pathlib import Path

from flask import Response, abort, g, send_from_directory
from marshmallow import Schema, fields, validate

from api.core.db import writes
from api.core.errors import NotFound
from api.core.remote import client_address
from api.core.urls import external_url
from api.models import utcnow
from api.routes.common import API_PREFIX, Blueprint, box, session, settings
from api.routes.examples import REQUESTS
from api.schemas.discovery import InspectionReportSchema, LeaseSchema
from api.schemas.machine import validate_mac
from api.security import count_lookup, refuse_if_blocked, secret_not_found
from api.services import bmc_discovery, callbacks, discovery

blp = Blueprint("boot", __name__, url_prefix=API_PREFIX + "/boot",
                description="Netboot for machines (no token; provisioning network)")

RAMDISK_FILES = {"vmlinuz", "initrd"}


class IpxeArgs(Schema):
    class Meta:
        unknown = "exclude"
    mac = fields.String(required=True, validate=validate_mac, metadata={
        "description": "The MAC of the NIC that netbooted."})
    # the metro whose dnsmasq config chained here (unknown-MAC discovery)
    metro = fields.String(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "The metro whose dnsmasq configuration chained here (for unknown-MAC discovery)."})


def _text(script) -> Response:
    return Response(script.text, mimetype="text/plain")


def _asked_at():
    """When this request reached the route: kept in ``g``, so a request answered again as a writer
    (api/core/db.py's StaleRead) keeps its first time."""
    return g.setdefault("boot_asked_at", utcnow())


@blp.route("/ipxe", methods=["GET"])
@blp.arguments(IpxeArgs, location="query")
@blp.response(200, content_type="text/plain")
@blp.alt_response(429, description="Too many netboot lookups from this address; no script")
@writes  # a script mints a boot credential, an unknown MAC is recorded: a writer's session from the start
def ipxe_by_mac(args):
    """The iPXE script for the machine with this NIC MAC.

    No token: machines call it while they netboot (dnsmasq's iPXE chains here with the NIC's MAC). A known
    machine gets the script of its current step (install, inspection, local disk…). An unknown MAC becomes a
    `discovered` machine and gets the inspection ramdisk when its metro has unknown-MAC discovery on; otherwise
    a script that tells it to reboot later. Every lookup that hands out no boot credential counts against the
    source address: over the limit it gets 429 and no script.
    """
    refuse_if_blocked("lookup", "netboot lookups")
    mac = args["mac"].lower().replace("-", ":")
    source = client_address()
    machine = callbacks.machine_by_mac(session(), mac)
    if machine is None:
        machine = discovery.unknown_mac_boot(session(), mac, source, args["metro"])
    if machine is None:
        script = callbacks.unknown_machine(session(), mac, source)
    else:
        script = callbacks.boot_script(session(), box(), machine, external_url(), f"{source} (mac {mac})",
                                       _asked_at())
    if not script.credential:
        count_lookup()
    return _text(script)


@blp.route("/ipxe/<token>", methods=["GET"])
@blp.response(200, content_type="text/plain")
@writes
def ipxe_by_token(token):
    """The iPXE script for the machine with this boot token.

    No token: the boot token in the URL is the credential (a machine's scripts use it). 404 for a token that
    matches no machine, counted as a failed guess (429 over the limit).
    """
    machine = callbacks.machine_by_boot_token(session(), token)
    if machine is None:
        raise secret_not_found()
    return _text(callbacks.boot_script(session(), box(), machine, external_url(),
                                       f"{client_address()} (boot token)", _asked_at()))


@blp.route("/inspection/<token>", methods=["POST"])
@blp.arguments(InspectionReportSchema, example=REQUESTS["inspection_report"])
@blp.response(200, content_type="application/json")
def inspection_report(facts, token):
    """Ingot's ramdisk reports the hardware it found (the boot's one-time URL).

    No API token: the one-time inspection token in the URL is the credential, handed to the inspection ramdisk
    by its boot script. Ingot records the hardware (CPUs, memory, disks, NICs, BMC) and matches the machine to a
    plan. A NIC's `lldp` neighbour cables it to that switch port, as `POST /boot/lldp` does (a
    `machine.cabling` event; unknown switches and uplinks are skipped). 404 for a token that matches nothing
    (counted as a failed guess); 409 when no inspection of this machine is running; 422 names a malformed fact.
    """
    try:
        m = discovery.inspection_report(session(), token, facts, client_address())
    except NotFound:
        raise secret_not_found() from None
    return {"status": "ok", "machine": m.state}


@blp.route("/discovery/<token>/leases", methods=["POST"])
@blp.arguments(LeaseSchema, example=REQUESTS["discovery_lease"])
@blp.response(200, content_type="application/json")
def discovery_lease(lease, token):
    """A metro's DHCP lease hook reports a lease (BMC discovery).

    No API token: the metro's lease-hook token in the URL is the credential (Ingot's dnsmasq configuration runs
    the hook). Ingot records a BMC that took a DHCP lease; a prober then tries Redfish, then IPMI, with the
    metro's default credentials, and enrolls a BMC that answers. Answers what was done (`probing`, `seen again`,
    `ignored: ...`). 404 for a token that matches no metro with BMC discovery on (counted as a failed guess);
    422 names a malformed field.
    """
    try:
        return {"status": bmc_discovery.lease(session(), token, lease)}
    except NotFound:
        raise secret_not_found() from None


@blp.route("/files/<name>", methods=["GET"])
@blp.response(200, content_type="application/octet-stream")
def ramdisk_file(name):
    """The deploy ramdisk's kernel (``vmlinuz``) or initramfs (``initrd``).

    No token. The files Ingot's boot scripts load; built with `ingot admin ramdisk build`. 404 for any other
    name, or when the ramdisk is not built yet (the answer says how to build it).
    """
    if name not in RAMDISK_FILES:
        raise NotFound("No such boot file")
    directory = Path(settings().ramdisk_dir or Path(settings().data_dir) / "ramdisk")
    if not (directory / name).exists():
        abort(404, description=f"{name} is not built; run `ingot admin ramdisk build`")
    return send_from_directory(directory.resolve(), name)
