"""Helpers every blueprint uses: the caller, the session, pagination."""
from __future__ import annotations

import functools
import math
from urllib.parse import urlencode

from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api.core import db
from api.core.secrets import SecretBox
from api.services.auth import Principal

API_PREFIX = "/metal/v1"


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


def operator_only() -> Principal:
    """The caller, who must be an operator (403 otherwise)."""
    p = principal()
    p.require_operator()
    return p


def operator_required(view):
    """Refuse non-operators (403) before the request body is even parsed."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        operator_only()
        return view(*args, **kwargs)
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
