"""flask-smorest blueprints, one per resource family: HTTP only; imports services and below."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api.routes import (
    batches,
    bgp,
    boot,
    capacity,
    catalog,
    devices,
    directory,
    discovery,
    docs,
    events,
    fabric,
    facilities,
    fleet_reports,
    health,
    machines,
    memberships,
    network,
    organizations,
    ports,
    projects,
    reservations,
    ssh_keys,
    users,
    vlans,
)


def register_blueprints(app: Flask, api: Api) -> None:
    """Every blueprint of the API (``INGOT_ROUTES=all``)."""
    for module in (users, projects, ssh_keys, catalog, devices, events, machines, reservations, network,
                   boot, capacity, directory, fleet_reports, organizations, facilities, memberships, batches,
                   vlans, ports, bgp, fabric, discovery):
        api.register_blueprint(module.blp)
    api.register_blueprint(fabric.boot_blp)
    app.register_blueprint(health.blp)
    app.register_blueprint(docs.blp)  # the docs page's assets (no OpenAPI entry)


def register_machine_blueprints(app: Flask, api: Api) -> None:
    """Only what netbooting machines and switches call, and the probes (``INGOT_ROUTES=machines``)."""
    api.register_blueprint(boot.blp)
    api.register_blueprint(fabric.boot_blp)
    app.register_blueprint(health.blp)
