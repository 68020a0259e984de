"""Ingot on a real HTTP server on 127.0.0.1, as ``ingot serve --demo`` runs it."""
from __future__ import annotations

from api.core.config import Settings
from api.embedded import Embedded


def start_server(settings: Settings, worker: bool = True, machines: int = 8) -> Embedded:
    """The API on a real HTTP server with the simulated lab and the demo catalogue (``machines`` sim
    machines, 2 of them sim.large), and (``worker``) its in-process engine worker; ``.token`` (member),
    ``.operator_token``, ``.project_id``, ``.simlab_url`` (the lab's own loopback port and secret path).
    Call ``.stop()``."""
    emb = Embedded(settings, "127.0.0.1", 0, worker=worker, demo_lab=True, demo_machines=machines).start()
    emb.token = emb.demo_tokens["member_token"]
    emb.operator_token = emb.demo_tokens["operator_token"]
    emb.project_id = emb.demo_tokens["project_id"]
    emb.simlab_url = emb.lab_url
    return emb
