"""A real Ingot server set up to drive the network lab (tests.support.netlab):
metro ``net`` with its pools and VLAN range, the lab's switch and router, and
three machines cabled to the lab's hosts -- all through the API, as an
operator would; then devices, their hosts configured from what Ingot says."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select

from api.models import Device, Machine, NetworkSync
from tests.support.clients import ServerClient, make_user, trail
from tests.support.netlab import GATEWAY, HOSTS, PUBLIC, Lab
from tests.support.waiting import WaitTimeout, wait_for

METRO = "net"
ELASTIC = "198.18.64.0/24"     # routed: no gateway, elastic IPs come from it
VLANS = (1000, 1099)


@dataclasses.dataclass
class Member:
    """A project's member: headers for requests, and the project."""

    headers: dict
    project_id: str


class NetCloud(ServerClient):
    def __init__(self, server, lab: Lab):
        super().__init__(server)
        self.lab = lab
        self.a = Member(self.member, server.project_id)
        self.switch: dict = {}
        self.router: dict | None = None
        self.machines: dict[str, dict] = {}   # lab host -> machine

    # -- requests ----------------------------------------------------------------------
    def call(self, method: str, path: str, who: dict | None = None, body=None, params=None, ok=(200, 201, 204)):
        r = self.http.request(method, f"{self.api}{path}", headers=who if who is not None else self.op, json=body,
                              params=params)
        assert r.status_code in ok, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def other_project(self, email: str = "bob@example.com") -> Member:
        t = make_user(None, self.server.database, email=email, project_name="bob-project")
        return Member({"X-Auth-Token": t.token}, t.project_id)

    # -- the operator's set-up -------------------------------------------------------------
    def setup(self, router: bool = True, switch_options: dict | None = None,
              router_options: dict | None = None, hosts: tuple[str, ...] = HOSTS) -> "NetCloud":
        """The operator's set-up; the machines of ``hosts`` (the others stay unknown to Ingot)."""
        self.call("POST", "/locations/metros", body={"code": METRO, "name": "Network lab"})
        self.call("POST", "/ip-pools", body={"metro": METRO, "type": "public_ipv4", "cidr": PUBLIC,
                                             "gateway": GATEWAY})
        self.call("POST", "/ip-pools", body={"metro": METRO, "type": "public_ipv4", "cidr": ELASTIC})
        self.call("POST", "/vlan-ranges", body={"metro": METRO, "first": VLANS[0], "last": VLANS[1]})
        self.switch = self.call("POST", "/switches", body={**self.lab.switch_body(**(switch_options or {})),
                                                          "metro": METRO})
        if router:
            self.router = self.call("POST", "/routers", body={**self.lab.router_body(**(router_options or {})),
                                                             "metro": METRO})
        for i, host in enumerate(HOSTS):
            if host not in hosts:
                continue
            macs = self.lab.nic_macs(host)
            nics = [{"mac": mac, "name": f"eth{n}", "switch": self.switch["name"], "switch_port": f"swp{2 * i + n + 1}"}
                    for n, mac in enumerate(macs)]
            self.machines[host] = self.call("POST", "/machines", body={
                "hostname": f"{METRO}-{host}", "metro": METRO, "plan": "sim.small", "inspect": False,
                "bmc": {"driver": "sim", "address": f"{METRO}-{host}", "options": {
                    "mac": macs[0], "cpus": 4, "memory_mib": 8192,
                    "disks": [{"name": "sda", "size_gb": 240, "type": "SSD"}]}},
                "nics": nics})
        return self

    # -- the engine -------------------------------------------------------------------------
    def syncs(self) -> list[NetworkSync]:
        with self.server.database.Session() as s:
            return list(s.scalars(select(NetworkSync)))

    def settled(self, timeout: float = 300.0) -> None:
        """Every port and router change carried out (none pending, none failed)."""
        def done():
            rows = self.syncs()
            failed = [(r.kind, r.last_error) for r in rows if r.state == "failed"]
            assert not failed, f"network changes failed: {failed}"
            return all(r.state == "idle" for r in rows)
        try:
            wait_for(done, timeout=timeout, interval=0.5, message="network changes carried out")
        except WaitTimeout as exc:
            detail = [(r.kind, r.state, r.attempts, r.last_error) for r in self.syncs()]
            raise WaitTimeout(f"{exc}; syncs {detail}") from None

    # -- devices ------------------------------------------------------------------------------
    def device(self, member: Member, hostname: str) -> tuple[dict, str]:
        """A new device of ``member``'s project in the lab's metro, and the lab host it runs on."""
        d = self.call("POST", f"/projects/{member.project_id}/devices", member.headers, {
            "hostname": hostname, "plan": "sim.small", "metro": METRO, "operating_system": "ubuntu_24_04"})
        with self.server.database.Session() as s:
            m = s.get(Machine, s.get(Device, d["id"]).machine_id)
            host = m.hostname.split("-", 1)[1]
        return d, host

    def port(self, member: Member, device_id: str, name: str = "bond0") -> dict:
        d = self.call("GET", f"/devices/{device_id}", member.headers)
        return next(p for p in d["network_ports"] if p["name"] == name)

    def address(self, member: Member, device_id: str) -> str:
        d = self.call("GET", f"/devices/{device_id}", member.headers)
        return next(a["address"] for a in d["ip_addresses"] if a["management"] and a["address_family"] == 4)

    def configure_host(self, host: str, address: str) -> None:
        """The host's OS takes the address Ingot gave its device (on the routed network's /24)."""
        self.lab.run(host, f"ip addr flush dev bond0 && ip addr add {address}/24 dev bond0 && "
                           f"ip route replace default via {GATEWAY}")

    def events_of(self, target: str) -> str:
        return trail(self.events(target))

    def metadata(self, device_id: str) -> dict:
        """The device's own metadata document, fetched with its metadata secret (as the host does)."""
        with self.server.database.Session() as s:
            token = self.server.app.extensions["ingot.secrets"].decrypt(
                s.scalar(select(Device.metadata_token_enc).where(Device.id == device_id)))
        r = self.http.get(f"{self.server.url}/metadata/{token}/metadata")
        assert r.status_code == 200, r.text
        return r.json()

    def start_bird(self, host: str, neighbor: dict, announce: list[str]) -> None:
        """BIRD on ``host``, configured from one entry of its metadata's ``bgp_neighbors``, announcing ``announce``."""
        conf = f"{self.lab.shell.dir}/bird-{host}.conf"
        run = self.lab.shell.rundir
        self.lab.shell.sh(f"cat > {conf} <<'EOF'\n{bird_config(neighbor, announce)}EOF")
        self.lab.run(host, f"bird -c {conf} -s {run}/bird-{host}.ctl -P {run}/bird-{host}.pid")


def bird_config(neighbor: dict, announce: list[str]) -> str:
    """A BIRD 2 configuration from one entry of the metadata's ``bgp_neighbors``, as a tenant writes it. Its
    retry timers are short (BIRD's defaults: 120 s after a failed connect, up to 300 s after an error; cc20, on a
    loaded machine, waited 300 s in vain for a session to come up, and one failed attempt costs two minutes)."""
    routes = "\n".join(f"  route {p} blackhole;" for p in announce)
    password = f'  password "{neighbor["md5_password"]}";' if neighbor["md5_enabled"] else ""
    multihop = "  multihop;" if neighbor["multihop"] else ""
    return f"""router id {neighbor['customer_ip']};
protocol device {{}}
protocol static announce {{
  ipv4;
{routes}
}}
protocol bgp metal {{
  local {neighbor['customer_ip']} as {neighbor['customer_as']};
  neighbor {neighbor['peer_ips'][0]} as {neighbor['peer_as']};
  connect delay time 1;
  connect retry time 5;
  error wait time 1, 10;
{password}
{multihop}
  ipv4 {{ import all; export where proto = "announce"; }};
}}
"""
