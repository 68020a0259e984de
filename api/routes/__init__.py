"""flask-smorest blueprints, one per resource family."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api.routes import (
    boot,
    capacity,
    catalog,
    devices,
    directory,
    discovery,
    events,
    fleet_reports,
    health,
    machines,
    network,
    projects,
    reservations,
    ssh_keys,
    users,
)


def register_blueprints(app: Flask, api: Api) -> None:
    for module in (users, projects, ssh_keys, catalog, devices, events, machines, reservations, network,
                   boot, capacity, directory, fleet_reports, discovery):
        api.register_blueprint(module.blp)
    app.register_blueprint(health.blp)
