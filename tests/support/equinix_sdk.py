"""The official Equinix Metal Python SDK (``equinix==0.19.0``, ``equinix.services.metalv1``) as the
test oracle of Ingot's wire contract: clients pointed at a running Ingot, every answer decoded with
the SDK's own models and checked for fields its model does not declare, and the list of the SDK's
operations (method and path of each API class method).

Ingot's own extensions (fields Equinix does not have) are listed here, in :data:`EXTENSIONS`, and
nowhere else; the compatibility matrix (docs/equinix-compatibility.md) prints them from here.
"""
from __future__ import annotations

import functools
import inspect
import json
import re
from typing import Any

import requests
from equinix.services import metalv1
from pydantic import BaseModel

from api.routes.unimplemented import normalized

# Fields Ingot adds to an Equinix object (by the SDK model that decodes it), and why.
EXTENSIONS: dict[str, dict[str, str]] = {
    "User": {"is_operator": "the operator role (Ingot's fleet administrators)"},
    "AuthToken": {"token_prefix": "the first characters of the token, to tell keys apart",
                  "expires_at": "when the key stops working (keys may expire)",
                  "last_used_at": "when the key was last used"},
    "Event": {"actor": "who did it (user:<id>, token:<id>, machine:<id>, system)",
              "outcome": "ok, failed, denied, retry or timeout",
              "target_type": "what it happened to", "target_id": "the id of that"},
    "Plan": {"match": "the inspection rules a machine of the plan satisfies",
             "storage": "the default storage layout of the plan's devices (the spec's Storage shape)"},
    "PlanAvailableInMetrosInner": {"code": "the metro's code, which Terraform's plan filters match on (Equinix "
                                           "gave the whole metro with ?include=available_in_metros)"},
    "PlanAvailableInInner": {"code": "the facility's code (likewise)"},
    "OperatingSystem": {"install_method": "how Ingot installs it (ipxe_recipe, image, custom_ipxe)",
                        "default_user": "the user the device's SSH keys are for"},
    "Device": {"rescue": "whether the device boots Ingot's rescue environment",
               "user_state": "what the installed OS last posted to its user_state_url (running, succeeded, "
                             "failed; null before it said anything)",
               "user_state_message": "the message of that post (a failed set-up says why)"},
    "HardwareReservation": {"metro": "the metro of the reserved machine (Equinix shows its facility only)"},
}
# Lists Equinix does not paginate but Ingot does (every item on one page unless asked): ``meta``.
PAGINATED_BY_INGOT = ("MetroList", "PlanList", "OperatingSystemList", "FacilityList", "SSHKeyList",
                      "AuthTokenList", "IPAssignmentList", "MembershipList", "InvitationList")
for _name in PAGINATED_BY_INGOT:
    EXTENSIONS[_name] = {"meta": "pagination (page, per_page), as on Equinix's paginated lists"}

# Where the spec Ingot follows (equinix-sdk-go at 06c3ecf) types a field otherwise than SDK 0.19.0:
# (model, field) -> the SDK model each item is decoded with instead.
SPEC_TYPES: dict[tuple[str, str], tuple[str, str]] = {
    ("IPReservation", "assignments"): ("IPAssignment", "the spec embeds the assignments (SDK 0.19.0: Href)"),
    ("InvitationList", "invitations"): ("Invitation", "invitations, as Equinix's API answered (the spec "
                                                      "types the items as Membership)"),
}


class Undeclared(AssertionError):
    """An answer carries a field its SDK model does not declare."""


def model(name: str) -> type[BaseModel]:
    return getattr(metalv1, name)


def _declared(cls: type[BaseModel]) -> dict[str, str]:
    """The JSON names a model declares -> its attribute names."""
    return {(info.alias or attr): attr for attr, info in cls.model_fields.items()}


def undeclared(value: Any, decoded: Any, where: str = "$") -> list[str]:
    """Every path in the JSON ``value`` whose key the SDK object ``decoded`` (made from it) does not
    declare, but for :data:`EXTENSIONS`."""
    if isinstance(decoded, BaseModel):
        cls = type(decoded)
        if "actual_instance" in cls.model_fields:  # a oneOf / anyOf wrapper: the matched model decides
            return undeclared(value, decoded.actual_instance, where)
        if not isinstance(value, dict):
            return []
        name, declared, out = cls.__name__, _declared(cls), []
        for key, item in value.items():
            if key in EXTENSIONS.get(name, {}):
                continue
            if key not in declared:
                out.append(f"{where}.{key} (not in {name})")
            elif (name, key) in SPEC_TYPES and isinstance(item, list):
                other = model(SPEC_TYPES[(name, key)][0])
                for i, x in enumerate(item):
                    out += undeclared(x, other.from_dict(x), f"{where}.{key}[{i}]")
            else:
                out += undeclared(item, getattr(decoded, declared[key]), f"{where}.{key}")
        return out
    if isinstance(decoded, list) and isinstance(value, list):
        return [p for i, (v, d) in enumerate(zip(value, decoded)) for p in undeclared(v, d, f"{where}[{i}]")]
    if isinstance(decoded, dict) and isinstance(value, dict):  # Dict[str, Model] (capacity): free-form dicts stop
        return [p for k, v in value.items() for p in undeclared(v, decoded.get(k), f"{where}.{k}")]
    return []


def decode(model_name: str, value: Any) -> BaseModel:
    """``value`` (a JSON answer) decoded with the SDK's model ``model_name``.

    Raises:
        pydantic.ValidationError (or ValueError): the SDK cannot decode it.
        Undeclared: it carries a field the model does not declare.
    """
    obj = model(model_name).from_dict(value)
    problems = undeclared(value, obj)
    if problems:
        raise Undeclared(f"{model_name}: " + "; ".join(problems))
    return obj


def check_response(api_response) -> Any:
    """The decoded data of an SDK ``ApiResponse`` (from a ``*_with_http_info`` call), after
    checking its raw JSON for undeclared fields. Raises Undeclared."""
    data = api_response.data
    if data is not None and api_response.raw_data:
        problems = undeclared(json.loads(api_response.raw_data), data)
        if problems:
            raise Undeclared(f"{type(data).__name__}: " + "; ".join(problems))
    return data


def configuration(base_url: str, token: str, ca_file: str | None = None) -> metalv1.Configuration:
    """The SDK configured for Ingot at ``base_url`` (``https://…`` verifies against ``ca_file``)."""
    config = metalv1.Configuration(host=f"{base_url}/metal/v1", ssl_ca_cert=ca_file)
    config.api_key["x_auth_token"] = token
    return config


class Client:
    """The SDK's API classes on one Ingot as one caller. ``called`` collects (METHOD, normalized
    path) of every operation sent (through the SDK or, for those SDK 0.19.0 lacks, :meth:`raw`)."""

    def __init__(self, base_url: str, token: str, called: set | None = None, ca_file: str | None = None):
        self.base_url, self.token, self.ca_file = base_url, token, ca_file
        self.api_client = metalv1.ApiClient(configuration(base_url, token, ca_file))
        self.called = called if called is not None else set()
        self._apis: dict[str, Any] = {}

    def api(self, name: str):
        """The SDK's ``<name>`` API class (``"DevicesApi"``) bound to this client."""
        if name not in self._apis:
            self._apis[name] = getattr(metalv1, name)(self.api_client)
        return self._apis[name]

    def call(self, method: str, *args, **kwargs):
        """The SDK's operation ``method`` (``find_device_by_id``: method names are unique across its
        API classes) through its ``_with_http_info`` twin: the answer decoded by the SDK and
        checked for undeclared fields. Raises Undeclared or the SDK's ApiException."""
        api_name = _api_of(method)
        self.called.add(sdk_operations()[(api_name, method)])
        response = getattr(self.api(api_name), method + "_with_http_info")(*args, **kwargs)
        return check_response(response)

    def all_pages(self, method: str, *args, **kwargs):
        """The SDK's ``<method>_all_pages`` helper (it walks ``meta.next``); each page is decoded by the SDK."""
        api_name = _api_of(method)
        self.called.add(sdk_operations()[(api_name, method)])
        return getattr(self.api(api_name), method + "_all_pages")(*args, **kwargs)

    def raw(self, method: str, path: str, model_name: str | None, status: int = 200, **kwargs):
        """An operation SDK 0.19.0 has no method for, sent over HTTP as the SDK would; the
        answer decoded with ``model_name``. Raises AssertionError on another status."""
        self.called.add((method, re.sub(r"/[0-9a-f-]{36}(?=/|$)", "/{}", path.split("?")[0])))  # ids as {}
        r = requests.request(method, f"{self.base_url}/metal/v1{path}", headers={"X-Auth-Token": self.token},
                             verify=self.ca_file or True, timeout=30, **kwargs)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return decode(model_name, r.json()) if model_name else None


def _api_of(method: str) -> str:
    return next(api for api, m in sdk_operations() if m == method)


@functools.lru_cache(maxsize=1)
def sdk_operations() -> dict[tuple[str, str], tuple[str, str]]:
    """``(API class, method) -> (HTTP method, normalized path)`` of every operation of the SDK,
    read from each method's request serializer."""
    out = {}
    for api_name, cls in inspect.getmembers(metalv1.api, inspect.isclass):
        if not api_name.endswith("Api"):
            continue
        for name, _ in inspect.getmembers(cls, inspect.isfunction):
            serializer = getattr(cls, f"_{name}_serialize", None)
            if name.startswith("_") or serializer is None:
                continue
            m = re.search(r"method='(\w+)',\s*resource_path='([^']+)'", inspect.getsource(serializer))
            out[(api_name, name)] = (m.group(1), normalized(m.group(2)))
    return out
