"""Schemathesis against the served OpenAPI document, in process (WSGI).

Every operation, as a project member and as an operator, with a fixed seed
(derandomized Hypothesis) and a bounded number of examples: no 5xx, and every
response conforms to the documented status codes, content type and schema.
Each generated case is sent twice: as generated (random ids, odd strings)
and with its path parameters replaced by real objects of the tenant's
project, so the handlers behind the 404s are fuzzed too.
"""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.clients import API
from tests.support.world import fill, spec_operations

MAX_EXAMPLES = int(os.environ.get("INGOT_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


_schemas: dict = {}


def _run(app, method: str, path: str, token: str, world, remote: str) -> None:
    from api.security import limiter
    limiter(app).limit = 0
    if id(app) not in _schemas:
        _schemas.clear()
        _schemas[id(app)] = schemathesis.openapi.from_wsgi(API + "/openapi.json", app)
    schema = _schemas[id(app)]
    operation = schema[path][method]
    names = re.findall(r"\{(\w+)\}", path)
    pattern = "^" + re.sub(r"\\\{\w+\\\}", "([^/]+)", re.escape(path)) + "$"
    real_params = dict(zip(names, re.match(pattern, fill(path, world)).groups())) if names else {}
    headers = {"X-Auth-Token": token}

    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    def fuzz(case):
        response = case.call(headers=headers, environ_base={"REMOTE_ADDR": remote})
        case.validate_response(response, checks=CHECKS)
        if real_params:
            case.path_parameters = {**(case.path_parameters or {}), **real_params}
            response = case.call(headers=headers, environ_base={"REMOTE_ADDR": remote})
            case.validate_response(response, checks=CHECKS)

    fuzz()


# deletes last, so the other operations meet real objects
ORDERED = sorted(spec_operations(), key=lambda op: op[0] == "DELETE")
IDS = [f"{m} {p[len(API):]}" for m, p in ORDERED]


@pytest.mark.parametrize("method,path", ORDERED, ids=IDS)
def test_fuzz_as_member(method, path, shared):
    _run(shared.app, method, path, shared.tenant.token, shared.world, "192.0.2.10")


@pytest.mark.parametrize("method,path", ORDERED, ids=IDS)
def test_fuzz_as_operator(method, path, shared):
    _run(shared.app, method, path, shared.operator.token, shared.world, "192.0.2.11")
