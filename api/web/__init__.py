"""The web console: serves the built single-page app at ``/`` and its sign-in session (imports services)."""
from __future__ import annotations

from flask import Flask

from api.web.cookies import request_principal  # noqa: F401  (the API's authentication asks it first)
from api.web.routes import blp, security_headers


def init_app(app: Flask) -> None:
    """Register the console's routes and the headers every response gets."""
    app.register_blueprint(blp)
    app.after_request(security_headers)
