"""Metadata endpoints. A device is identified by its per-device secret in the
URL (``/metadata/<token>/…``) or, on a routed provisioning network, by its
source address (``/metadata``). It can only ever read its own data."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from api.boot import install_config
from api.boot.ipxe import boot_phase
from api.core import db
from api.core.errors import Invalid, NotFound
from api.core.secrets import current_box
from api.core.urls import external_url
from api.metadata import documents
from api.models import Device, IpAssignment
from api.schemas.storage import agent_lines
from api.services import callbacks

blp = Blueprint("metadata", __name__)

WIPE_BYTES = 1024 * 1024


def _device(token: str, agent: bool = False) -> Device:
    d = callbacks.device_by_metadata_token(db.session(), token, agent=agent)
    if d is None:
        raise NotFound("Not found")
    return d


def _device_by_source() -> tuple[Device, str]:
    addr = request.remote_addr or ""
    a = db.session().scalar(select(IpAssignment).where(IpAssignment.address == addr))
    if (a is None or a.device.deleted_at is not None or not a.device.metadata_token_enc
            or a.device.state in ("deprovisioning", "deleted")):
        raise NotFound("Not found")
    return a.device, current_box().decrypt(a.device.metadata_token_enc)


def _url(token: str) -> str:
    return f"{external_url()}/metadata/{token}"


def _text(body: str, mimetype: str = "text/plain") -> Response:
    return Response(body, mimetype=mimetype)


def _report() -> dict:
    """A phone-home's JSON body if it has one (cloud-init's phone_home module posts a form: nothing to read)."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if data is None and request.data:
        raise Invalid("body: must be JSON")
    return data if isinstance(data, dict) else {}


# --- by token -------------------------------------------------------------------

@blp.get("/metadata/<token>/metadata")
def metadata(token):
    return jsonify(documents.equinix(_device(token), _url(token)))


@blp.get("/metadata/<token>/userdata")
def userdata(token):
    return _text(_device(token).userdata or "")


@blp.post("/metadata/<token>/phone-home")
def phone_home(token):
    callbacks.phone_home(db.session(), _device(token), request.remote_addr or "?", _report())
    return jsonify({"status": "ok"})


@blp.post("/metadata/<token>/user-state")
def user_state(token):
    """The installed OS's own state: running, succeeded or failed (the device's user_state)."""
    callbacks.user_state(db.session(), _device(token), _json_body())
    return jsonify({"status": "ok"})


@blp.post("/metadata/<token>/events")
def user_event(token):
    callbacks.installer_event(db.session(), _device(token, agent=True), _json_body())
    return jsonify({"status": "ok"})


@blp.get("/metadata/<token>/deploy")
def deploy_instructions(token):
    """What the deploy ramdisk should do now: deploy an image, wipe, or rescue."""
    d = _device(token, agent=True)
    m = d.machine
    if m is None:
        raise NotFound("Not found")
    phase = boot_phase(m, d)
    os_row = d.operating_system
    preserve = bool((m.operation_args or {}).get("preserve_data"))
    doc = {"action": {"install": "deploy"}.get(phase, phase), "target_disk": None,
           "wipe": {"bytes": WIPE_BYTES}, "preserve_data": preserve,
           "hostname": d.hostname, "boot_mode": m.boot_mode,
           # the layout, one instruction per line (docs/ramdisk.md); a wipe keeps what a reinstall keeps
           "storage": agent_lines(d.storage, preserve) if d.storage and phase in ("install", "wipe") else [],
           # the engine powers the machine on again (from disk) itself
           "after": "poweroff" if phase in ("install", "wipe") else "reboot"}
    if phase == "install":
        doc.update(image_url=os_row.image_url, image_checksum=os_row.image_checksum,
                   image_format=os_row.image_format or "raw")
    return jsonify(doc)


@blp.post("/metadata/<token>/deploy/complete")
def deploy_complete(token):
    body = _json_body()
    status = str(body.get("status") or "")
    if status not in ("ok", "failed"):
        raise Invalid("status: must be 'ok' or 'failed'")
    callbacks.deploy_complete(db.session(), _device(token, agent=True), status, str(body.get("message") or ""))
    return jsonify({"status": "ok"})


@blp.get("/metadata/<token>/install-config")
@blp.get("/metadata/<token>/preseed.cfg")
@blp.get("/metadata/<token>/autoinstall/user-data")
def install_config_doc(token):
    d = _device(token)
    try:
        body = install_config.render(d, _url(token), current_box().decrypt(d.root_password_enc), external_url())
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    return _text(body)


@blp.get("/metadata/<token>/autoinstall/meta-data")
@blp.get("/metadata/<token>/nocloud/meta-data")
def nocloud_meta(token):
    return _text(documents.nocloud_meta_data(_device(token)))


@blp.get("/metadata/<token>/nocloud/user-data")
def nocloud_user(token):
    return _text(_device(token).userdata or "")


@blp.get("/metadata/<token>/nocloud/vendor-data")
def nocloud_vendor(token):
    return _text(documents.nocloud_vendor_data(_device(token), _url(token)))


@blp.get("/metadata/<token>/nocloud/network-config")
def nocloud_network(token):
    return _text(documents.nocloud_network_config(_device(token)))


def _ec2_index(d: Device) -> Response:
    keys = documents.ec2_meta_data(d)
    tops = sorted({k.split("/")[0] + ("/" if "/" in k else "") for k in keys})
    return _text("\n".join(tops))


def _ec2_key(d: Device, key: str) -> Response:
    keys = documents.ec2_meta_data(d)
    key = key.rstrip("/")
    if key in keys:
        return _text(keys[key])
    children = sorted({k[len(key) + 1:].split("/")[0] + ("/" if k[len(key) + 1:].count("/") else "")
                       for k in keys if k.startswith(key + "/")})
    if not children:
        raise NotFound("Not found")
    return _text("\n".join(children))


@blp.get("/metadata/<token>/<any('latest', '2009-04-04'):version>/meta-data/")
def ec2_index(token, version):
    return _ec2_index(_device(token))


@blp.get("/metadata/<token>/<any('latest', '2009-04-04'):version>/meta-data/<path:key>")
def ec2_key(token, version, key):
    return _ec2_key(_device(token), key)


@blp.get("/metadata/<token>/<any('latest', '2009-04-04'):version>/user-data")
def ec2_user(token, version):
    return _text(_device(token).userdata or "")


# --- by source address (Equinix's fixed metadata host on a routed network) ---

@blp.get("/metadata")
def metadata_by_source():
    d, token = _device_by_source()
    return jsonify(documents.equinix(d, _url(token)))


@blp.get("/userdata")
def userdata_by_source():
    d, _ = _device_by_source()
    return _text(d.userdata or "")


@blp.post("/phone-home")
def phone_home_by_source():
    d, _ = _device_by_source()
    callbacks.phone_home(db.session(), d, request.remote_addr or "?", _report())
    return jsonify({"status": "ok"})


@blp.post("/user-state")
def user_state_by_source():
    d, _ = _device_by_source()
    callbacks.user_state(db.session(), d, _json_body())
    return jsonify({"status": "ok"})


@blp.post("/events")
def user_event_by_source():
    d, _ = _device_by_source()
    callbacks.installer_event(db.session(), d, _json_body())
    return jsonify({"status": "ok"})


# EC2-style paths by source address (cloud-init's Ec2 datasource, with the
# operator routing 169.254.169.254 to Ingot on the provisioning network)

@blp.get("/<any('latest', '2009-04-04'):version>/meta-data/")
def ec2_index_by_source(version):
    return _ec2_index(_device_by_source()[0])


@blp.get("/<any('latest', '2009-04-04'):version>/meta-data/<path:key>")
def ec2_key_by_source(version, key):
    return _ec2_key(_device_by_source()[0], key)


@blp.get("/<any('latest', '2009-04-04'):version>/user-data")
def ec2_user_by_source(version):
    return _text(_device_by_source()[0].userdata or "")
