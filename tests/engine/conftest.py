"""Engine test fixtures: short timeouts, and a small HTTP client for a real
Ingot server with its simulated lab (everything goes over HTTP)."""
from __future__ import annotations

import pytest
import requests

from tests.conftest import short_waits, wait_for

# every wait in these tests ends in seconds, not the production half hour
TEST_TIMEOUT = 15.0


@pytest.fixture
def settings(settings):
    short_waits(settings, TEST_TIMEOUT)
    settings.lease_seconds = 5.0
    # the power sync sweep is not under test here; on PostgreSQL its row locks make the
    # scheduler's SKIP LOCKED claim answer "no capacity" at the instant it records
    settings.power_sync_interval = 0
    return settings


class Cloud:
    """The tenant's, the operator's and the lab's view of one running Ingot."""

    def __init__(self, server):
        self.server = server
        self.api = f"{server.url}/metal/v1"
        self.h = {"X-Auth-Token": server.token}
        self.op = {"X-Auth-Token": server.operator_token}
        self.lab = server.simlab_url
        self.http = requests.Session()

    # tenant
    def create(self, os_slug: str = "ubuntu_24_04", plan: str = "sim.small", **extra) -> dict:
        body = {"hostname": extra.pop("hostname", "dev-1"), "plan": plan, "metro": "lab",
                "operating_system": os_slug, **extra}
        r = self.http.post(f"{self.api}/projects/{self.server.project_id}/devices", headers=self.h, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def device(self, device_id: str) -> dict:
        r = self.http.get(f"{self.api}/devices/{device_id}", headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    def status(self, device_id: str) -> int:
        return self.http.get(f"{self.api}/devices/{device_id}", headers=self.h).status_code

    def action(self, device_id: str, type_: str, **body) -> requests.Response:
        return self.http.post(f"{self.api}/devices/{device_id}/actions", headers=self.h,
                              json={"type": type_, **body})

    def delete(self, device_id: str, **params) -> requests.Response:
        return self.http.delete(f"{self.api}/devices/{device_id}", headers=self.h, params=params)

    def wait_state(self, device_id: str, *states: str, timeout: float = 30.0) -> dict:
        seen = []

        def check():
            d = self.device(device_id)
            if not seen or seen[-1] != d["state"]:
                seen.append(d["state"])
            return d if d["state"] in states else None
        try:
            return wait_for(check, timeout=timeout, interval=0.2, message=f"device in {states}")
        except AssertionError:
            raise AssertionError(f"device never reached {states}; states seen {seen}; events:\n"
                                 + "\n".join(f"  {e['type']}: {e['body']}" for e in self.events(device_id)))

    def wait_gone(self, device_id: str, timeout: float = 30.0) -> None:
        wait_for(lambda: self.status(device_id) == 404, timeout=timeout, interval=0.2, message="device deleted")

    # operator
    def events(self, target: str) -> list[dict]:
        r = self.http.get(f"{self.api}/events", headers=self.op, params={"target": target, "per_page": 500})
        assert r.status_code == 200, r.text
        return sorted(r.json()["events"], key=lambda e: e["created_at"])

    def machine_of(self, device_id: str) -> dict:
        r = self.http.get(f"{self.api}/machines", headers=self.op, params={"per_page": 500})
        return next(m for m in r.json()["machines"] if m["device"] and m["device"]["id"] == device_id)

    def machine(self, machine_id: str) -> dict:
        r = self.http.get(f"{self.api}/machines/{machine_id}", headers=self.op)
        assert r.status_code == 200, r.text
        return r.json()

    # the simulated lab
    def host(self, name: str) -> dict:
        return self.http.get(f"{self.lab}/hosts/{name}").json()

    def set_host(self, name: str, **spec) -> dict:
        r = self.http.put(f"{self.lab}/hosts/{name}", json=spec)
        assert r.status_code == 200, r.text
        return r.json()

    def fail_all(self, failure: str | None) -> None:
        """Inject ``failure`` into every host of the lab (the next device may get any)."""
        for i in range(1, 9):
            self.set_host(f"sim-{i:02d}", fail=failure)


@pytest.fixture
def cloud(server) -> Cloud:
    return Cloud(server)
