"""flask-smorest blueprints, one per resource family."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api.routes import (boot, catalog, devices, events, health, machines, network, projects, reservations,
                        ssh_keys, users)


def register_blueprints(app: Flask, api: Api) -> None:
    # api.metadata.routes imports api.routes.boot; importing it at the top would be a cycle. On
    # branch i11-layers the metadata blueprint no longer imports routes and app.py registers it.
    from api.metadata.routes import blp as metadata
    for module in (users, projects, ssh_keys, catalog, devices, events, machines, reservations, network,
                   boot):
        api.register_blueprint(module.blp)
    app.register_blueprint(health.blp)
    app.register_blueprint(metadata)
