"""Helpers every blueprint uses: the caller, the session, pagination, the arguments' parser."""
from __future__ import annotations

import functools
import math
from urllib.parse import urlencode

import flask_smorest
from flask import current_app, g, request
from marshmallow import Schema
from sqlalchemy import func, select
from webargs import missing
from webargs.flaskparser import FlaskParser

from api.core import db
from api.core.secrets import SecretBox
from api.core.urls import API_PREFIX
from api.schemas.common import Tags
from api.services.auth import Principal

WRITES = frozenset({"POST", "PUT", "PATCH"})  # the methods whose fields come in a JSON body


class ArgumentsParser(FlaskParser):
    """webargs' Flask parser, but a write's JSON body takes the fields its query string carries and the body does
    not: Equinix Metal's API read a write's fields from either, and clients of its era send them in the query
    string (libcloud's device actions and updates, SSH keys, address reservations and assignments, BGP
    sessions). What the body gives wins; the body's schema still refuses what it refuses."""

    KNOWN_MULTI_FIELDS = [*FlaskParser.KNOWN_MULTI_FIELDS, Tags]  # ?tags=a is the list ["a"]

    def load_json(self, req, schema):
        body = super().load_json(req, schema)
        if req.method not in WRITES or not req.args or not (body is missing or isinstance(body, dict)):
            return body
        query = self.load_querystring(req, schema)
        # a name given more than once is a list whatever its field (?facility=a&facility=b), never its first value
        given = {key: req.args.getlist(key) for key in query}
        fields = {key: query[key] if len(values) == 1 else values for key, values in given.items()}
        return {**fields, **(body if body is not missing else {})}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, its argument schemas made once: given a class, webargs makes an instance of
    it for every request (0.02-0.13 ms: up to 1.5 % of a device create; bench/RESULTS.md, session 48).
    An instance is safe to share: loading keeps no state on the schema. Its parser reads a write's fields from
    the query string too (:class:`ArgumentsParser`)."""

    ARGUMENTS_PARSER = ArgumentsParser()

    def arguments(self, schema, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) and issubclass(schema, Schema) else schema,
                                 **kwargs)


def api_blueprint(name: str, description: str) -> Blueprint:
    return Blueprint(name, __name__, url_prefix=API_PREFIX, description=description)


def principal() -> Principal:
    return g.principal


def session():
    return db.session()


def box() -> SecretBox:
    return current_app.extensions["ingot.secrets"]


def settings():
    return current_app.config["INGOT"]


def operator_required(view):
    """Refuse non-operators (403) before the request body is even parsed; the
    view gets the caller as its ``operator`` keyword argument."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        p = principal()
        p.require_operator()
        return view(*args, operator=p, **kwargs)
    return wrapper


def paginate(stmt, args: dict, key: str) -> dict:
    """Run ``stmt`` for one page; Equinix ``meta`` with first/previous/self/next/last."""
    page, per_page = args.get("page", 1), args.get("per_page", 10)
    s = session()
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(s.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    last_page = max(1, math.ceil(total / per_page))

    def link(p: int) -> dict:
        query = request.args.to_dict()
        query.update(page=p, per_page=per_page)
        return {"href": f"{request.path}?{urlencode(query)}"}

    meta = {"first": link(1), "previous": link(page - 1) if page > 1 else None, "self": link(page),
            "next": link(page + 1) if page < last_page else None, "last": link(last_page),
            "current_page": page, "last_page": last_page, "total": total}
    return {key: items, "meta": meta}
