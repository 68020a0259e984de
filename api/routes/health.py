"""Liveness and readiness probes (outside the API prefix, no auth)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from api.core.db import get_db
from api.services.migrate import current_revision, head_revision

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify({"status": "ok"})


@blp.get("/readyz")
def readyz():
    """The database answers and its schema is at the newest migration."""
    database = get_db()
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(database.engine)
    except Exception as exc:  # any driver error means not ready
        return jsonify({"status": "unavailable", "errors": [f"database: {type(exc).__name__}"]}), 503
    head = head_revision()
    if current != head:
        return jsonify({"status": "unavailable",
                        "errors": [f"migrations: database at {current}, code expects {head}"]}), 503
    return jsonify({"status": "ok", "migration": current})
