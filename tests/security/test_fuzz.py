"""Schemathesis against the served OpenAPI document, in process (WSGI).

Every operation, with a fixed seed (derandomized Hypothesis) and a bounded
number of examples: no 5xx, and every response conforms to the documented
status codes, content type and schema. Each generated case is sent as a
project member and as an operator, and each of those twice: as generated
(random ids, odd strings) and with its path parameters replaced by real
objects of the tenant's project, so the handlers behind the 404s are fuzzed
too. (One generation for both callers: drawing the cases costs more than
sending them.)
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


# who sends each case: the shared world's user, and the address it comes from
CALLERS = (("tenant", "192.0.2.10"), ("operator", "192.0.2.11"))


def _run(x, method: str, path: str) -> None:
    from api.security import limiter
    app, world = x.app, x.world
    limiter(app).limit = 0
    if id(app) not in _schemas:
        _schemas.clear()
        _schemas[id(app)] = schemathesis.openapi.from_wsgi(API + "/openapi.json", app)
    schema = _schemas[id(app)]
    operation = schema[path][method]
    names = re.findall(r"\{(\w+)\}", path)
    pattern = "^" + re.sub(r"\\\{\w+\\\}", "([^/]+)", re.escape(path)) + "$"
    real_params = dict(zip(names, re.match(pattern, fill(path, world)).groups())) if names else {}
    callers = [(who, {"X-Auth-Token": getattr(x, who).token}, {"REMOTE_ADDR": remote}) for who, remote in CALLERS]

    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    def fuzz(case):
        generated = case.path_parameters
        for params in ([generated, {**(generated or {}), **real_params}] if real_params else [generated]):
            case.path_parameters = params
            for who, headers, environ in callers:
                response = case.call(headers=headers, environ_base=environ)
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as exc:
                    exc.add_note(f"sent as the {who}, path parameters {params}")
                    raise

    fuzz()


# deletes last, so the other operations meet real objects
ORDERED = sorted(spec_operations(), key=lambda op: op[0] == "DELETE")
IDS = [f"{m} {p[len(API):]}" for m, p in ORDERED]


@pytest.mark.parametrize("method,path", ORDERED, ids=IDS)
def test_fuzz_as_member_and_operator(method, path, shared):
    _run(shared, method, path)
