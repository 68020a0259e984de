"""flask-smorest blueprints, one per resource family."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api.routes import (
    bgp,
    boot,
    capacity,
    catalog,
    devices,
    directory,
    events,
    fabric,
    fleet_reports,
    health,
    machines,
    network,
    ports,
    projects,
    reservations,
    ssh_keys,
    users,
    vlans,
)


def register_blueprints(app: Flask, api: Api) -> None:
    for module in (users, projects, ssh_keys, catalog, devices, events, machines, reservations, network,
                   boot, capacity, directory, fleet_reports, vlans, ports, bgp, fabric):
        api.register_blueprint(module.blp)
    api.register_blueprint(fabric.boot_blp)
    app.register_blueprint(health.blp)
