"""Metadata endpoints. A device is identified by a secret in the URL
(``/metadata/<secret>/…``) or, on a routed provisioning network, by its
source address (``/metadata``). It can only ever read its own data.

The secret in the URL is one of (api/services/callbacks.py):

- the device's **metadata secret**: reads its metadata, user data and vendor data
  (Equinix JSON, NoCloud, EC2) and reports user state (``POST user-state``, or
  ``POST events`` with a ``state``); it moves no engine step, so ``deploy/complete``
  refuses it (403), and so does ``phone-home`` until the device is active (then
  it is answered and changes nothing: the document's ``phone_home_url``);
- the **agent credential** of the boot running our installer or deploy agent:
  its install config or deploy instructions, its progress and result;
- the installed system's **phone-home credential**: ``phone-home``, once.

A secret that matches nothing is a 404 and counts as a failed authentication
(api/security.py); a genuine credential whose step is over is a 409 and does not.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from api.core import db
from api.core.errors import Conflict, Forbidden, Invalid, NotFound
from api.core.remote import client_address
from api.core.secrets import current_box
from api.core.urls import external_url
from api.metadata import documents
from api.models import Device, IpAssignment
from api.security import secret_not_found
from api.services import bgp, boot_credentials, callbacks
from api.services.boot_credentials import Presented

blp = Blueprint("metadata", __name__)

READS_ONLY = "the metadata secret reads metadata and reports user state; this needs a boot credential"


def _device(token: str, load: tuple = ()) -> Device:
    """The device whose metadata secret is ``token`` (loader options ``load``). Raises NotFound (counted) or
    Forbidden."""
    d = callbacks.device_by_metadata_token(db.session(), token, load)
    if d is not None:
        return d
    if boot_credentials.find(db.session(), token) is not None:
        raise Forbidden("a boot credential does not read metadata; use the device's metadata URL")
    raise secret_not_found()


def _credential_or_secret(token: str) -> tuple[Presented | None, Device | None]:
    """What ``token`` is: a boot credential of a step, still valid (looked for first: a boot's reports carry
    one), else a device's metadata secret (its device). Raises NotFound (counted) when it is neither, Conflict
    for a credential that no longer counts."""
    presented = callbacks.presented_credential(db.session(), current_box(), token, client_address())
    if presented is None:
        d = callbacks.device_by_metadata_token(db.session(), token)
        if d is None:
            raise secret_not_found()
        return None, d
    if presented.problem:
        raise Conflict(f"this boot credential no longer counts: {presented.problem}")
    return presented, None


def _credential(token: str) -> Presented:
    """The boot credential ``token``, still valid. Raises NotFound (counted), Conflict or Forbidden."""
    presented, _ = _credential_or_secret(token)
    if presented is None:
        raise Forbidden(READS_ONLY)
    return presented


def _device_byclient_address() -> tuple[Device, str]:
    addr = client_address()
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


# --- by secret ------------------------------------------------------------------

@blp.get("/metadata/<token>/metadata")
def metadata(token):
    d = _device(token, documents.EQUINIX_LOADS)
    return jsonify(documents.equinix(d, _url(token), bgp.neighbour_data(db.session(), d, current_box())))


@blp.get("/metadata/<token>/userdata")
def userdata(token):
    return _text(_device(token).userdata or "")


@blp.post("/metadata/<token>/phone-home")
def phone_home(token):
    presented, d = _credential_or_secret(token)
    if presented is not None:
        callbacks.phone_home(db.session(), presented, client_address(), _report())
    else:  # the metadata document's phone_home_url
        callbacks.phone_home_when_active(d)
    return jsonify({"status": "ok"})


@blp.post("/metadata/<token>/user-state")
def user_state(token):
    """The installed OS's own state: running, succeeded or failed (the device's user_state)."""
    callbacks.user_state(db.session(), _device(token), _json_body())
    return jsonify({"status": "ok"})


@blp.post("/metadata/<token>/events")
def user_event(token):
    body = _json_body()
    presented, d = _credential_or_secret(token)
    if presented is not None:
        callbacks.installer_event(db.session(), presented.device, body, presented)
    else:  # the metadata secret: user state, nothing more
        callbacks.installer_event(db.session(), d, body)
    return jsonify({"status": "ok"})


@blp.get("/metadata/<token>/deploy")
@db.writes  # the credential's first use noted, the installed system's phone-home credential minted
def deploy_instructions(token):
    """What the deploy ramdisk should do now: deploy an image, wipe, or rescue."""
    return jsonify(callbacks.deploy_instructions(db.session(), current_box(), _credential(token), external_url(),
                                                 client_address()))


@blp.post("/metadata/<token>/deploy/complete")
def deploy_complete(token):
    body = _json_body()
    status = str(body.get("status") or "")
    if status not in ("ok", "failed"):
        raise Invalid("status: must be 'ok' or 'failed'")
    callbacks.deploy_complete(db.session(), _credential(token), status, str(body.get("message") or ""))
    return jsonify({"status": "ok"})


@blp.get("/metadata/<token>/install-config")
@blp.get("/metadata/<token>/preseed.cfg")
@blp.get("/metadata/<token>/autoinstall/user-data")
@db.writes  # as deploy_instructions
def install_config_doc(token):
    return _text(callbacks.install_config_text(db.session(), current_box(), _credential(token), _url(token),
                                               external_url(), client_address()))


@blp.get("/metadata/<token>/autoinstall/meta-data")
def autoinstall_meta(token):
    presented = _credential(token)
    if presented.device is None:
        raise NotFound("Not found")
    return _text(documents.nocloud_meta_data(presented.device))


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
        raise NotFound("Not found")  # an absent key under a valid secret: not a failed authentication
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
# The source address is as good as the metadata secret, and no better: it reads and reports user state.

@blp.get("/metadata")
def metadata_byclient_address():
    d, token = _device_byclient_address()
    return jsonify(documents.equinix(d, _url(token), bgp.neighbour_data(db.session(), d, current_box())))


@blp.get("/userdata")
def userdata_byclient_address():
    d, _ = _device_byclient_address()
    return _text(d.userdata or "")


@blp.post("/phone-home")
def phone_home_byclient_address():
    d, _ = _device_byclient_address()
    callbacks.phone_home_when_active(d)
    return jsonify({"status": "ok"})


@blp.post("/user-state")
def user_state_byclient_address():
    d, _ = _device_byclient_address()
    callbacks.user_state(db.session(), d, _json_body())
    return jsonify({"status": "ok"})


@blp.post("/events")
def user_event_byclient_address():
    d, _ = _device_byclient_address()
    callbacks.installer_event(db.session(), d, _json_body())
    return jsonify({"status": "ok"})


# EC2-style paths by source address (cloud-init's Ec2 datasource, with the
# operator routing 169.254.169.254 to Ingot on the provisioning network)

@blp.get("/<any('latest', '2009-04-04'):version>/meta-data/")
def ec2_index_by_source(version):
    return _ec2_index(_device_byclient_address()[0])


@blp.get("/<any('latest', '2009-04-04'):version>/meta-data/<path:key>")
def ec2_key_by_source(version, key):
    return _ec2_key(_device_byclient_address()[0], key)


@blp.get("/<any('latest', '2009-04-04'):version>/user-data")
def ec2_user_by_source(version):
    return _text(_device_byclient_address()[0].userdata or "")
