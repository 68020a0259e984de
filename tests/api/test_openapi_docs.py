"""The OpenAPI document says things: every operation a description, every field of a body or a query a
description, an example of every request body and of every create's answer, and the limits the validators
enforce. A failure names what is missing (``POST /metal/v1/devices/{device_id}/actions``, ``Device.hostname``)."""
from __future__ import annotations

import functools
import tempfile

from api.app import create_app
from api.core.config import Settings
from tests.support.clients import API
from tests.support.world import METHODS

JSON_TYPES = {"boolean": bool, "string": str, "object": dict, "array": list}


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", op


def _has_example(content: dict) -> bool:
    return any("example" in media or "examples" in media for media in content.values())


@functools.lru_cache(maxsize=1)
def _document():
    """The OpenAPI document of a fresh app, and its marshmallow schemas by component name."""
    app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="ingot-examples-"), secret_key="examples"))
    doc = app.test_client().get(API + "/openapi.json").json
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return doc, {name: key[0] for key, name in api.ma_plugin.converter.refs.items()}


def test_every_operation_has_a_description():
    missing = [name for name, op in _operations(_document()[0]) if not (op.get("description") or "").strip()]
    assert missing == [], "operations without a description (the view docstring after its first line):\n" + \
        "\n".join(missing)


def test_every_request_body_and_every_create_answer_has_an_example():
    missing = []
    for name, op in _operations(_document()[0]):
        if "requestBody" in op and not _has_example(op["requestBody"]["content"]):
            missing.append(f"{name}: request body")
        created = op.get("responses", {}).get("201", {})
        if "content" in created and not _has_example(created["content"]):
            missing.append(f"{name}: 201 response")
    assert missing == [], "examples missing (blp.arguments/blp.response example=...):\n" + "\n".join(missing)


def test_every_request_example_loads_through_its_schema():
    """An example the server would refuse (or a field it does not know) would teach the wrong thing."""
    doc, schemas = _document()
    wrong = []
    for name, op in _operations(doc):
        media = op.get("requestBody", {}).get("content", {}).get("application/json")
        if not media or "example" not in media:
            continue
        if "$ref" not in media["schema"]:  # a bare JSON value: PUT /bgp/sessions/{id} takes true or false
            if not isinstance(media["example"], JSON_TYPES[media["schema"]["type"]]):
                wrong.append(f"{name}: {media['example']!r} is not a {media['schema']['type']}")
            continue
        schema = schemas[media["schema"]["$ref"].rsplit("/", 1)[-1]]()
        unknown = set(media["example"]) - {f.data_key or key for key, f in schema.load_fields.items()}
        errors = schema.validate(media["example"])
        if unknown or errors:
            wrong.append(f"{name}: {errors or ''} {sorted(unknown) or ''}")
    assert wrong == [], "request examples the API refuses:\n" + "\n".join(wrong)


def test_every_create_example_shows_the_fields_of_its_answer():
    """A field added to an answer (or dropped) shows in its example too: regenerate them with
    ``python -m tests.support.openapi_examples``."""
    doc, schemas = _document()
    wrong = []
    for name, op in _operations(doc):
        media = op.get("responses", {}).get("201", {}).get("content", {}).get("application/json")
        if not media or "$ref" not in media.get("schema", {}):
            continue
        schema = schemas[media["schema"]["$ref"].rsplit("/", 1)[-1]]()
        fields = {f.data_key or key for key, f in schema.dump_fields.items()}
        optional = set(getattr(schema, "OMITTED_WHEN_EMPTY", ()))  # e.g. a device's storage, when it has none
        if not set(media["example"]) <= fields or fields - optional - set(media["example"]):
            wrong.append(f"{name}: missing {sorted(fields - optional - set(media['example']))}, "
                         f"not in the answer {sorted(set(media['example']) - fields)}")
    assert wrong == [], "201 examples that do not match their answer's fields:\n" + "\n".join(wrong)


def test_every_field_has_a_description():
    doc = _document()[0]
    missing = [f"{schema}.{field}" for schema, body in doc["components"]["schemas"].items()
               for field, prop in body.get("properties", {}).items() if not prop.get("description")]
    missing += [f"{name}: query argument {p['name']}" for name, op in _operations(doc)
                for p in op.get("parameters", []) if p.get("in") == "query" and not p.get("description")]
    assert missing == [], "fields without a description (metadata={'description': ...}):\n" + "\n".join(missing)


def test_limits_come_from_the_validators():
    schemas = _document()[0]["components"]["schemas"]
    create = schemas["DeviceCreate"]["properties"]
    assert create["description"]["maxLength"] == 1024  # validate.Length
    update = schemas["DeviceUpdate"]["properties"]
    assert create["userdata"]["maxLength"] == update["userdata"]["maxLength"] == 64 * 1024
    assert (create["public_ipv4_subnet_size"]["minimum"], create["public_ipv4_subnet_size"]["maximum"]) == (1, 32)
    assert create["billing_cycle"]["enum"] == ["hourly", "daily", "monthly", "yearly"]
    assert create["tags"]["maxItems"] == 64 and create["tags"]["items"]["maxLength"] == 256
