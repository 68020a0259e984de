"""The browsable API docs' assets: Swagger UI from the ``swagger-ui-bundle`` package, served by Ingot
itself (a bare-metal control plane often has no internet to fetch them from a CDN)."""
from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from api.core.urls import API_PREFIX

DOCS_ASSETS = f"{API_PREFIX}/docs/assets/"  # public, like the docs page (PUBLIC_API_PATHS)
ASSET_CACHE_SECONDS = 86400

blp = Blueprint("docs_assets", __name__)


@blp.get(DOCS_ASSETS + "<path:name>")
def asset(name: str):
    """A file of Swagger UI (script, style sheet, icon)."""
    return send_from_directory(swagger_ui_path, name, max_age=ASSET_CACHE_SECONDS)
