"""A tiny in-memory stand-in for Ingot's Equinix-shaped API.

Only for the provider runtime's own tests (fast, no database, no sim lab); the
acceptance tests in test_e2e.py run against the real Ingot server. Shapes follow
the Equinix Metal API the real server implements.
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BASE = "/metal/v1"
TOKEN = "fake-token"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    def __init__(self, provision_seconds: float = 0.6):
        self.lock = threading.RLock()
        self.provision_seconds = provision_seconds
        self.projects: dict = {}
        self.keys: dict = {}
        self.devices: dict = {}
        self.events: dict = {}
        self.ips: dict = {}
        self.reservations: dict = {}
        self.fail_hosts: dict = {}  # machine name -> failure mode
        self.calls: list = []
        self.metros = [{"id": str(uuid.uuid4()), "code": "am", "name": "Amsterdam", "country": "NL"},
                       {"id": str(uuid.uuid4()), "code": "ny", "name": "New York", "country": "US"}]
        am = self.metros[0]
        self.plans = [
            {"id": str(uuid.uuid4()), "slug": "c3.small.x86", "name": "c3.small.x86", "class": "c3.small.x86", "line": "baremetal",
             "description": "small", "specs": {"cpus": [{"count": 1, "type": "Xeon E-2278G"}], "memory": {"total": "32GB"}},
             "available_in_metros": [{"href": f"{BASE}/locations/metros/{am['id']}", "code": "am"}], "pricing": {"hour": 0.5}},
            {"id": str(uuid.uuid4()), "slug": "m3.large.x86", "name": "m3.large.x86", "class": "m3.large.x86", "line": "baremetal",
             "description": "large", "specs": {"cpus": [{"count": 1, "type": "AMD EPYC"}], "memory": {"total": "256GB"}},
             "available_in_metros": [{"href": f"{BASE}/locations/metros/{am['id']}", "code": "am"}], "pricing": {"hour": 3.1}},
        ]
        self.oses = [
            {"id": str(uuid.uuid4()), "slug": "ubuntu_22_04", "name": "Ubuntu 22.04 LTS", "distro": "ubuntu", "version": "22.04",
             "provisionable_on": ["c3.small.x86", "m3.large.x86"]},
            {"id": str(uuid.uuid4()), "slug": "debian_12", "name": "Debian 12", "distro": "debian", "version": "12",
             "provisionable_on": ["c3.small.x86"]},
        ]
        # machines: (plan slug) -> list of {"hostname", "state"}
        self.machines = [{"name": f"sim-{i}", "plan": "c3.small.x86", "state": "available", "device": None} for i in range(6)]

    # -------------------------------------------------------------- devices
    def tick(self, d: dict) -> None:
        age = time.monotonic() - d["_t"]
        mode = self.fail_hosts.get(d["_machine"]["name"])
        if d["state"] in ("queued", "provisioning", "reinstalling"):
            if mode and age > self.provision_seconds / 2:
                d["state"] = "failed"
                self.event(d, "provisioning.failed", f"machine {d['_machine']['name']}: {mode}")
            elif age > self.provision_seconds:
                d["state"] = "active"
                d["provisioning_percentage"] = 100
                self.event(d, "provisioning.complete", "device is active")
            elif age > self.provision_seconds / 3 and d["state"] == "queued":
                d["state"] = "provisioning"
                d["provisioning_percentage"] = 50
        if d["state"] == "deprovisioning" and age > self.provision_seconds / 2:
            d["_machine"]["state"] = "available"
            d["_machine"]["device"] = None
            for r in self.reservations.values():
                if r.get("device") and r["device"]["href"].endswith(d["id"]):
                    r["device"] = None
                    r["provisionable"] = True
            self.devices.pop(d["id"], None)

    def event(self, d: dict, typ: str, body: str) -> None:
        self.events.setdefault(d["id"], []).append(
            {"id": str(uuid.uuid4()), "type": typ, "body": body, "state": d["state"], "created_at": now()})

    def device_json(self, d: dict) -> dict:
        return {k: v for k, v in d.items() if not k.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    world: World

    def log_message(self, *a):  # quiet
        pass

    def _send(self, status: int, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n)) if n else {}

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str):
        w = self.world
        path, _, qs = self.path.partition("?")
        query = dict(p.split("=", 1) for p in qs.split("&") if "=" in p)
        if path == "/_sim/machines":
            with w.lock:
                for d in list(w.devices.values()):
                    w.tick(d)
                ms = [{"hostname": m["name"], "state": m["state"], "plan": {"slug": m["plan"]}} for m in w.machines]
            return self._send(200, {"machines": ms})
        if path.startswith("/_sim/hosts/") and method == "PUT":
            w.fail_hosts[path.rsplit("/", 1)[1]] = self._body().get("fail")
            return self._send(200, {})
        if not path.startswith(BASE):
            return self._send(404, {"errors": ["not found"]})
        if self.headers.get("X-Auth-Token") != TOKEN:
            return self._send(401, {"errors": ["bad token"]})
        path = path[len(BASE):]
        body = self._body() if method in ("POST", "PUT", "PATCH") else {}
        with w.lock:
            w.calls.append((method, path, body))
            try:
                status, out = self._route(method, path, body, query)
            except KeyError as exc:
                status, out = 404, {"errors": [f"not found: {exc}"]}
        self._send(status, out)

    def _route(self, method, path, body, query):  # noqa: C901 - a router
        w = self.world
        m = re.fullmatch(r"/projects(?:/([^/]+))?(?:/([a-z-]+))?", path)
        if m:
            pid, sub = m.groups()
            if pid is None:
                if method == "POST":
                    p = {"id": str(uuid.uuid4()), "name": body["name"], "created_at": now(), "updated_at": now()}
                    p["href"] = f"{BASE}/projects/{p['id']}"
                    w.projects[p["id"]] = p
                    return 201, p
                return 200, {"projects": list(w.projects.values()), "meta": {"total": len(w.projects)}}
            p = w.projects[pid]
            if sub is None:
                if method == "GET":
                    return 200, p
                if method == "PUT":
                    p.update(name=body.get("name", p["name"]), updated_at=now())
                    return 200, p
                if method == "DELETE":
                    del w.projects[pid]
                    return 204, None
            if sub == "ssh-keys" and method == "POST":
                return 201, self._new_key(body, f"{BASE}/projects/{pid}")
            if sub == "devices" and method == "POST":
                return self._new_device(pid, body)
            if sub == "devices" and method == "GET":
                devs = [d for d in list(w.devices.values()) if d["project"]["href"].endswith(pid)]
                for d in devs:
                    w.tick(d)
                devs = [w.device_json(d) for d in devs if d["id"] in w.devices]
                if query.get("hostname"):
                    devs = [d for d in devs if d["hostname"] == query["hostname"]]
                return 200, {"devices": devs, "meta": {"total": len(devs), "last_page": 1}}
            if sub == "ips" and method == "POST":
                ip = {"id": str(uuid.uuid4()), "type": body.get("type", "public_ipv4"), "address": "198.51.100.8",
                      "network": "198.51.100.8", "gateway": "198.51.100.9", "netmask": "255.255.255.254", "cidr": 31,
                      "address_family": 4, "public": True, "management": False, "manageable": True,
                      "metro": {"code": body.get("metro")}, "tags": body.get("tags") or [], "description": body.get("description"),
                      "project": {"href": f"{BASE}/projects/{pid}"}}
                w.ips[ip["id"]] = ip
                return 201, ip
        m = re.fullmatch(r"/ssh-keys(?:/([^/]+))?", path)
        if m:
            kid = m.group(1)
            if kid is None and method == "POST":
                return 201, self._new_key(body, f"{BASE}/users/me")
            k = w.keys[kid]
            if method == "GET":
                return 200, k
            if method == "PUT":
                k.update(label=body.get("label", k["label"]), updated_at=now())
                return 200, k
            if method == "DELETE":
                del w.keys[kid]
                return 204, None
        if path == "/plans":
            return 200, {"plans": w.plans}
        if path == "/locations/metros":
            return 200, {"metros": w.metros}
        if path == "/operating-systems":
            return 200, {"operating_systems": w.oses}
        m = re.fullmatch(r"/devices/([^/]+)(?:/([a-z]+))?", path)
        if m:
            did, sub = m.groups()
            d = w.devices[did]
            w.tick(d)
            d = w.devices[did]
            if sub is None:
                if method == "GET":
                    return 200, w.device_json(d)
                if method in ("PUT", "PATCH"):
                    for k in ("hostname", "description", "tags", "userdata", "customdata", "locked", "always_pxe",
                              "ipxe_script_url", "billing_cycle"):
                        if k in body:
                            d[k] = body[k]
                    d["updated_at"] = now()
                    return 200, w.device_json(d)
                if method == "DELETE":
                    d["state"] = "deprovisioning"
                    d["_t"] = time.monotonic()
                    return 204, None
            if sub == "actions" and method == "POST":
                if body.get("type") == "reinstall":
                    if body.get("operating_system"):
                        d["operating_system"] = {"slug": body["operating_system"]}
                    d["state"] = "reinstalling"
                    d["_t"] = time.monotonic()
                    d["root_password"] = "pw-" + uuid.uuid4().hex[:8]
                    w.event(d, "reinstall", json.dumps(body))
                return 202, None
            if sub == "events":
                return 200, {"events": w.events.get(did, []), "meta": {}}
            if sub == "ips" and method == "POST":
                addr = body["address"].split("/")[0]
                a = {"id": str(uuid.uuid4()), "address": addr, "network": addr, "gateway": addr, "cidr": 32,
                     "netmask": "255.255.255.255", "address_family": 4, "public": True, "management": False,
                     "manageable": True, "assigned_to": {"href": f"{BASE}/devices/{did}"}}
                w.ips[a["id"]] = a
                return 201, a
        m = re.fullmatch(r"/ips/([^/]+)", path)
        if m:
            ip = w.ips[m.group(1)]
            if method == "GET":
                return 200, ip
            if method == "PATCH":
                ip.update({k: v for k, v in body.items() if k in ("description", "tags")})
                return 200, ip
            if method == "DELETE":
                del w.ips[m.group(1)]
                return 204, None
        m = re.fullmatch(r"/hardware-reservations/([^/]+)", path)
        if m:
            return 200, w.reservations[m.group(1)]
        return 404, {"errors": [f"no route {method} {path}"]}

    def _new_key(self, body, owner):
        k = {"id": str(uuid.uuid4()), "label": body["label"], "key": body["key"], "fingerprint": "fp:" + body["key"][-8:],
             "created_at": now(), "updated_at": now(), "owner": {"href": owner}}
        k["href"] = f"{BASE}/ssh-keys/{k['id']}"
        self.world.keys[k["id"]] = k
        return k

    def _new_device(self, pid, body):
        w = self.world
        for f in ("plan", "metro", "operating_system"):
            if not body.get(f):
                return 422, {"errors": [f"{f} is required"]}
        machine = None
        hr = body.get("hardware_reservation_id")
        if hr:
            r = w.reservations[hr]
            if not r["provisionable"]:
                return 422, {"errors": ["hardware reservation is not provisionable"]}
            machine = r["_machine"]
            r["provisionable"] = False
        else:
            machine = next((m for m in w.machines if m["state"] == "available" and m["plan"] == body["plan"]
                            and not m.get("reserved")), None)
        if machine is None:
            return 503, {"errors": ["no capacity"]}
        machine["state"] = "allocated"
        did = str(uuid.uuid4())
        d = {"id": did, "short_id": did[:8], "href": f"{BASE}/devices/{did}",
             "hostname": body.get("hostname") or f"dev-{did[:6]}", "description": body.get("description"),
             "state": "queued", "provisioning_percentage": 0,
             "plan": {"slug": body["plan"]}, "metro": {"code": body["metro"]},
             "operating_system": {"slug": body["operating_system"]},
             "userdata": body.get("userdata") or "", "customdata": body.get("customdata") or {},
             "tags": body.get("tags") or [], "billing_cycle": body.get("billing_cycle") or "hourly",
             "always_pxe": bool(body.get("always_pxe")), "ipxe_script_url": body.get("ipxe_script_url"),
             "locked": bool(body.get("locked")), "project": {"href": f"{BASE}/projects/{pid}"},
             "hardware_reservation": {"href": f"{BASE}/hardware-reservations/{hr}"} if hr else None,
             "ssh_keys": [{"href": f"{BASE}/ssh-keys/{k}"} for k in (body.get("project_ssh_keys") or []) + (body.get("user_ssh_keys") or [])],
             "ip_addresses": [
                 {"id": str(uuid.uuid4()), "address": "203.0.113.10", "address_family": 4, "public": True, "management": True, "cidr": 31, "gateway": "203.0.113.11"},
                 {"id": str(uuid.uuid4()), "address": "10.0.0.10", "address_family": 4, "public": False, "management": True, "cidr": 25, "gateway": "10.0.0.1"},
                 {"id": str(uuid.uuid4()), "address": "2001:db8::10", "address_family": 6, "public": True, "management": True, "cidr": 127, "gateway": "2001:db8::11"}],
             "network_ports": [{"id": str(uuid.uuid4()), "name": "eth0", "type": "NetworkPort", "data": {"mac": "52:54:00:00:00:01", "bonded": False}}],
             "root_password": "pw-" + uuid.uuid4().hex[:8], "created_at": now(), "updated_at": now(),
             "_t": time.monotonic(), "_machine": machine}
        machine["device"] = did
        if hr:
            w.reservations[hr]["device"] = {"href": d["href"]}
        w.devices[did] = d
        w.event(d, "created", f"allocated {machine['name']}")
        return 201, w.device_json(d)


def start(provision_seconds: float = 0.6):
    world = World(provision_seconds)
    handler = type("H", (Handler,), {"world": world})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, world
