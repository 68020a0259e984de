"""HTTP clients of the tests: ``Tenant`` drives the app in process (Flask's test
client); ``Cloud`` and ``Fleet`` drive a real Ingot server over HTTP, as a
tenant, an operator and the simulated lab see it."""
from __future__ import annotations

import requests

from api.models import Membership, Project, User
from api.services import auth
from tests.support.waiting import WaitTimeout, wait_for

API = "/metal/v1"


class Tenant:
    """A user, their project and token, and the app's test client that sends it."""

    def __init__(self, client, token: str, project_id: str | None, user_id: str):
        self.client, self.token, self.project_id, self.user_id = client, token, project_id, user_id

    @property
    def headers(self):
        return {"X-Auth-Token": self.token}

    def get(self, path, **kw):
        return self.client.get(API + path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(API + path, headers=self.headers, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.client.put(API + path, headers=self.headers, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(API + path, headers=self.headers, json=json, **kw)

    def delete(self, path, **kw):
        return self.client.delete(API + path, headers=self.headers, **kw)


def make_user(client, database, *, email: str, operator: bool = False, project_name: str | None = None) -> Tenant:
    """A new user with an API token (an operator, or the owner of a new project ``project_name``)."""
    with database.transaction() as s:
        u = User(email=email, full_name=email.split("@")[0].title() + " Tester", is_operator=operator)
        s.add(u)
        s.flush()
        project_id = None
        if project_name:
            p = Project(name=project_name)
            s.add(p)
            s.flush()
            s.add(Membership(user_id=u.id, project_id=p.id, role="owner"))
            project_id = p.id
        _, raw = auth.issue_token(s, user=u, description="test")
        return Tenant(client, raw, project_id, u.id)


def trail(events: list[dict]) -> str:
    """Events as lines for an assertion message."""
    return "\n".join(f"  {e['type']}: {e['body']}" for e in events)


class ServerClient:
    """A real Ingot server (see ``start_server``) over HTTP: the member's and the operator's view."""

    def __init__(self, server):
        self.server = server
        self.api = f"{server.url}{API}"
        self.member = {"X-Auth-Token": server.token}
        self.op = {"X-Auth-Token": server.operator_token}
        self.lab = server.simlab_url
        self.http = requests.Session()

    def events(self, target: str) -> list[dict]:
        r = self.http.get(f"{self.api}/events", headers=self.op, params={"target": target, "per_page": 500})
        assert r.status_code == 200, r.text
        return sorted(r.json()["events"], key=lambda e: e["created_at"])

    def event_types(self, target: str) -> list[str]:
        return [e["type"] for e in self.events(target)]

    def device(self, device_id: str) -> dict:
        r = self.http.get(f"{self.api}/devices/{device_id}", headers=self.member)
        assert r.status_code == 200, r.text
        return r.json()

    def machine(self, machine_id: str) -> dict:
        r = self.http.get(f"{self.api}/machines/{machine_id}", headers=self.op)
        assert r.status_code == 200, r.text
        return r.json()

    def create_device(self, plan: str = "sim.small", hostname: str = "dev-1", os_slug: str = "ubuntu_24_04",
                      **extra) -> dict:
        body = {"hostname": hostname, "plan": plan, "metro": "lab", "operating_system": os_slug, **extra}
        r = self.http.post(f"{self.api}/projects/{self.server.project_id}/devices", headers=self.member, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def wait_until(self, target: str, check, timeout: float, message: str, seen: list | None = None):
        """``wait_for(check)``; on failure the message carries what was ``seen`` and ``target``'s events."""
        try:
            return wait_for(check, timeout=timeout, interval=0.1, message=message)
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}; seen {seen}; events:\n{trail(self.events(target))}") from None

    def wait_event(self, target: str, type_: str, timeout: float = 120.0) -> dict:
        return self.wait_until(target, lambda: next((e for e in self.events(target) if e["type"] == type_), None),
                               timeout, f"event {type_}")


class Cloud(ServerClient):
    """The tenant's, the operator's and the simulated lab's view of one running Ingot (engine tests)."""

    def create(self, os_slug: str = "ubuntu_24_04", plan: str = "sim.small", **extra) -> dict:
        return self.create_device(plan, extra.pop("hostname", "dev-1"), os_slug, **extra)

    def status(self, device_id: str) -> int:
        return self.http.get(f"{self.api}/devices/{device_id}", headers=self.member).status_code

    def action(self, device_id: str, type_: str, **body) -> requests.Response:
        return self.http.post(f"{self.api}/devices/{device_id}/actions", headers=self.member,
                              json={"type": type_, **body})

    def delete(self, device_id: str, **params) -> requests.Response:
        return self.http.delete(f"{self.api}/devices/{device_id}", headers=self.member, params=params)

    def wait_state(self, device_id: str, *states: str, timeout: float = 120.0) -> dict:
        seen = []

        def check():
            d = self.device(device_id)
            if not seen or seen[-1] != d["state"]:
                seen.append(d["state"])
            return d if d["state"] in states else None
        return self.wait_until(device_id, check, timeout, f"device in {states}", seen)

    def wait_gone(self, device_id: str, timeout: float = 120.0) -> None:
        self.wait_until(device_id, lambda: self.status(device_id) == 404, timeout, "device deleted")

    def machine_of(self, device_id: str) -> dict:
        r = self.http.get(f"{self.api}/machines", headers=self.op, params={"per_page": 500})
        return next(m for m in r.json()["machines"] if m["device"] and m["device"]["id"] == device_id)

    # the simulated lab
    def host(self, name: str) -> dict:
        return self.http.get(f"{self.lab}/hosts/{name}").json()

    def set_host(self, name: str, **spec) -> dict:
        r = self.http.put(f"{self.lab}/hosts/{name}", json=spec)
        assert r.status_code == 200, r.text
        return r.json()

    def set_all_hosts(self, **spec) -> None:
        """Set ``spec`` on every host of the lab (the next device may get any of them)."""
        for i in range(1, 9):
            self.set_host(f"sim-{i:02d}", **spec)

    def fail_all(self, failure: str | None) -> None:
        """Inject ``failure`` into every host of the lab."""
        self.set_all_hosts(fail=failure)


class Fleet(ServerClient):
    """The operator's (and a tenant's) view of one running Ingot driving real BMC emulators (fleet tests)."""

    def post(self, path: str, body: dict, headers=None) -> requests.Response:
        return self.http.post(f"{self.api}{path}", headers=headers or self.op, json=body)

    def plan(self, slug: str, match: dict | None = None) -> dict:
        r = self.post("/plans", {"slug": slug, "name": slug, "match": match or {}})
        assert r.status_code == 201, r.text
        return r.json()

    def enroll(self, hostname: str, bmc: dict, **extra) -> requests.Response:
        return self.post("/machines", {"hostname": hostname, "metro": "lab", "bmc": bmc, **extra})

    def enrolled(self, hostname: str, bmc: dict, **extra) -> dict:
        r = self.enroll(hostname, bmc, **extra)
        assert r.status_code == 201, r.text
        return r.json()

    def action(self, machine_id: str, type_: str, **body) -> requests.Response:
        return self.post(f"/machines/{machine_id}/actions", {"type": type_, **body})

    def wait_machine(self, machine_id: str, predicate, timeout: float = 120.0, message: str = "machine") -> dict:
        seen = []

        def check():
            m = self.machine(machine_id)
            if not seen or seen[-1] != (m["state"], m["step"]):
                seen.append((m["state"], m["step"]))
            return m if predicate(m) else None
        return self.wait_until(machine_id, check, timeout, message, seen)

    def wait_idle(self, machine_id: str, timeout: float = 120.0) -> dict:
        return self.wait_machine(machine_id, lambda m: m["operation"] is None, timeout, "operation finished")


def redfish_bmc_body(emulator, system_id: str, password: str | None = None) -> dict:
    """The ``bmc`` of a machine behind one system of a sushy-emulator."""
    return {"driver": "redfish", "address": emulator.url, "username": emulator.username,
            "password": emulator.password if password is None else password,
            "options": {"system_id": system_id}}


def ipmi_bmc_body(sim, password: str | None = None) -> dict:
    """The ``bmc`` of a machine behind an ipmi_sim."""
    return {"driver": "ipmi", "address": sim.address, "username": sim.username,
            "password": sim.password if password is None else password}
