"""flask-smorest blueprints, one per resource family."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_blueprints(app: Flask, api: Api) -> None:
    from api.metadata.routes import blp as metadata
    from api.routes import (
        boot,
        catalog,
        devices,
        events,
        health,
        machines,
        network,
        projects,
        reservations,
        ssh_keys,
        users,
    )
    for module in (users, projects, ssh_keys, catalog, devices, events, machines, reservations, network,
                   boot):
        api.register_blueprint(module.blp)
    app.register_blueprint(health.blp)
    app.register_blueprint(metadata)
