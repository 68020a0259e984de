"""The network lab: a switch, three hosts, a router and "the internet", each a
network namespace, wired with veth pairs; real FRR, BIRD and lldpd.

* switch ``sw``: a bridge ``br0`` with ``vlan_filtering`` (no VLAN on a new port),
  ports ``swp1``..``swp6`` cabled to the hosts' ``eth0``/``eth1``, ``swp7`` (an
  uplink: access port of the routed VLAN 3) to the router. Ingot drives it with
  its ``linux`` driver, over SSH (``netns`` option).
* hosts ``h1``..``h3``: ``bond0`` (LACP) over ``eth0`` and ``eth1``, as a
  server's OS configures it.
* router ``rt``: FRR (zebra, staticd, bgpd; a config directory and vty sockets
  of its own) with 198.51.100.1/24 towards the switch (the metro's gateway and
  BGP peer) and 192.0.2.1/30 towards ``inet``. Ingot drives it with ``frr``.
* ``inet``: 192.0.2.2/30, default route through the router: the internet.

Where the namespaces live: on this host when its kernel has a VLAN-filtering
bridge, bonding and 802.1Q; otherwise (some CI kernels) inside a small VM
(:mod:`tests.support.labvm`) that runs this host's own binaries. Either way
Ingot reaches the switch and the router over SSH. Namespace names carry the
test process's pid; :meth:`Lab.destroy` removes them and the daemons.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import paramiko

from tests.support.labvm import INSIDE, LabVM
from tests.support.waiting import wait_for

ROUTED_VLAN = 3
GATEWAY = "198.51.100.1"
PUBLIC = "198.51.100.0/24"
ROUTER_ASN = 65000
HOSTS = ("h1", "h2", "h3")
# seconds for the VM to open an SSH channel or answer a new connection (an emulated guest on a busy host)
OPEN_TIMEOUT = 120.0


class Shell:
    """Runs shell scripts where the lab lives (this host, or the VM over SSH)."""

    def __init__(self, vm: LabVM | None, workdir: Path):
        self.vm = vm
        self.workdir = Path(workdir)
        self._client: paramiko.SSHClient | None = None
        # the lab's directory as the lab's processes see it
        self.dir = INSIDE if vm is not None else str(self.workdir)
        # vty sockets cannot live on the VM's 9p share
        self.rundir = f"/run/i15lab{os.getpid()}" if vm is not None else str(self.workdir / "run")

    def sh(self, script: str, check: bool = True, timeout: float = 300.0) -> str:
        if self.vm is None:
            p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        else:
            rc, out, err = self._over_ssh(script, timeout)
        if check and rc != 0:
            raise RuntimeError(f"lab command failed (exit {rc}): {script[:400]}\n{out[-1500:]}\n{err[-1500:]}")
        return out

    def _over_ssh(self, script: str, timeout: float) -> tuple[int, str, str]:
        """Runs ``script`` in the VM. A command whose channel cannot be opened never started: it is sent
        again on a new connection once the VM answers (a starved TCG guest can leave one connection
        silent for minutes -- CI, stop 34). Raises RuntimeError with the VM's state when it does not."""
        try:
            channel = self._channel()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            if not self.vm.answers(within=OPEN_TIMEOUT):
                raise RuntimeError(f"the lab VM stopped answering SSH ({exc!r}): {script[:200]}\n"
                                   f"{self.vm.diagnostics()}") from exc
            channel = self._channel()
        try:
            channel.settimeout(timeout)
            channel.exec_command(f"bash -c {shlex.quote(script)}")
            out = channel.makefile("rb").read().decode(errors="replace")
            err = channel.makefile_stderr("rb").read().decode(errors="replace")
            return channel.recv_exit_status(), out, err
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()  # the command may have run: not sent again
            raise RuntimeError(f"the lab VM's SSH session broke during {script[:200]!r} ({exc!r})\n"
                               f"{self.vm.diagnostics()}") from exc
        finally:
            channel.close()

    def _channel(self) -> paramiko.Channel:
        if self._client is None:
            self._client = self.vm.ssh()
        return self._client.get_transport().open_session(timeout=OPEN_TIMEOUT)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class Lab:
    """One lab (see the module docstring). ``ns(name)`` is a namespace's full name."""

    def __init__(self, shell: Shell, vm: LabVM | None):
        self.shell, self.vm = shell, vm
        self.prefix = f"l{os.getpid()}"
        self.frr = f"{shell.rundir}/frr"

    def ns(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def run(self, name: str, command: str, check: bool = True) -> str:
        """``command`` (shell) inside namespace ``name``."""
        return self.shell.sh(f"ip netns exec {self.ns(name)} sh -c {shlex.quote(command)}", check=check)

    # -- building -------------------------------------------------------------------------
    def build(self) -> "Lab":
        ns = self.ns
        lines = ["set -e", f"mkdir -p {self.shell.rundir} {self.frr} /run/lldpd", f"chmod 777 {self.frr}"]
        for n in ("sw", *HOSTS, "rt", "inet"):
            lines += [f"ip netns add {ns(n)}", f"ip -n {ns(n)} link set lo up"]
        lines += [f"ip -n {ns('sw')} link add br0 type bridge vlan_filtering 1 vlan_default_pvid 0",
                  f"ip -n {ns('sw')} link set br0 up"]
        port = 1
        for h in HOSTS:
            for eth in ("eth0", "eth1"):
                lines.append(f"ip -n {ns('sw')} link add swp{port} type veth peer name {eth} netns {ns(h)}")
                port += 1
            lines += [f"ip -n {ns(h)} link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast",
                      f"ip -n {ns(h)} link set eth0 master bond0", f"ip -n {ns(h)} link set eth1 master bond0",
                      f"ip -n {ns(h)} link set bond0 up"]
        lines += [f"ip -n {ns('sw')} link add swp7 type veth peer name eth0 netns {ns('rt')}",
                  f"ip -n {ns('sw')} link set swp7 master br0 up",
                  f"bridge -n {ns('sw')} vlan add dev swp7 vid {ROUTED_VLAN} pvid untagged",
                  f"ip -n {ns('rt')} addr add {GATEWAY}/24 dev eth0", f"ip -n {ns('rt')} link set eth0 up",
                  f"ip -n {ns('rt')} link add eth1 type veth peer name eth0 netns {ns('inet')}",
                  f"ip -n {ns('rt')} addr add 192.0.2.1/30 dev eth1", f"ip -n {ns('rt')} link set eth1 up",
                  f"ip -n {ns('inet')} addr add 192.0.2.2/30 dev eth0", f"ip -n {ns('inet')} link set eth0 up",
                  f"ip -n {ns('inet')} route add default via 192.0.2.1",
                  f"ip netns exec {ns('rt')} sysctl -qw net.ipv4.ip_forward=1"]
        self.shell.sh("\n".join(lines))
        self.start_frr()
        return self

    def start_frr(self) -> None:
        d = self.frr
        lines = ["set -e"]
        for daemon in ("zebra", "staticd", "bgpd"):
            lines += [f": > {d}/{daemon}.conf", f"chmod 644 {d}/{daemon}.conf",
                      f"ip netns exec {self.ns('rt')} /usr/lib/frr/{daemon} -d -z {d}/zserv.api -i {d}/{daemon}.pid "
                      f"--vty_socket {d} -f {d}/{daemon}.conf -P 0 --log file:{d}/{daemon}.log"]
        lines.append(f": > {d}/vtysh.conf")
        self.shell.sh("\n".join(lines))
        wait_for(lambda: self.vtysh("show running-config", check=False).strip().endswith("end"), timeout=120,
                 interval=0.5, message="FRR answering on its vty sockets")

    def start_lldpd(self, name: str, interfaces: str, hostname: str = "", port_names: bool = True) -> str:
        """lldpd in namespace ``name`` (a control socket of its own, a frame a second, port ids by
        name or else by MAC); returns its socket. ``hostname`` is the system name it announces."""
        sock, base = f"{self.shell.rundir}/lldpd-{name}.sock", f"{self.shell.rundir}/lldpd-{name}"
        self.shell.sh(f"ip netns exec {self.ns(name)} setsid lldpd -d -u {sock} -I {interfaces} "
                      f"> {base}.log 2>&1 < /dev/null & echo $! > {base}.pid")
        wait_for(lambda: self.shell.sh(f"[ -S {sock} ] && echo yes || echo no").strip() == "yes", timeout=120,
                 interval=0.5, message=f"lldpd in {name}")
        self.shell.sh((f"lldpcli -u {sock} configure lldp portidsubtype ifname && " if port_names else "")
                      + f"lldpcli -u {sock} configure lldp tx-interval 1"
                      + (f" && lldpcli -u {sock} configure system hostname {hostname}" if hostname else ""))
        return sock

    def vtysh(self, *commands: str, check: bool = True) -> str:
        args = " ".join(f"-c {shlex.quote(c)}" for c in commands)
        return self.shell.sh(f"vtysh --vty_socket {self.frr} --config_dir {self.frr} {args}", check=check)

    # -- what Ingot is told -----------------------------------------------------------------
    def ssh_address(self) -> str:
        return f"ssh://root@127.0.0.1:{self.vm.port}" if self.vm is not None else "local"

    def switch_body(self, name: str = "lab-sw1", **options) -> dict:
        """``POST /switches`` for the lab's switch."""
        body = {"name": name, "metro": "lab", "driver": "linux", "address": self.ssh_address(),
                "uplinks": ["swp7"], "options": {"netns": self.ns("sw"), "l3_vlan": ROUTED_VLAN, **options}}
        if self.vm is not None:
            body.update(username="root", private_key=self.vm.private_key)
            body["options"]["host_key"] = self.vm.host_key
        return body

    def router_body(self, **options) -> dict:
        """``POST /routers`` for the lab's router."""
        body = {"metro": "lab", "driver": "frr", "address": self.ssh_address(), "asn": ROUTER_ASN,
                "peer_ipv4": [GATEWAY], "options": {"vty_socket": self.frr, "config_dir": self.frr, **options}}
        if self.vm is not None:
            body.update(username="root", private_key=self.vm.private_key)
            body["options"]["host_key"] = self.vm.host_key
        return body

    def nic_macs(self, host: str) -> list[str]:
        """The permanent MACs of a host's eth0 and eth1 (a bond changes the current one)."""
        out = []
        for eth in ("eth0", "eth1"):
            text = self.run(host, f"cat /sys/class/net/{eth}/bonding_slave/perm_hwaddr 2>/dev/null || "
                                  f"cat /sys/class/net/{eth}/address")
            out.append(text.strip())
        return out

    def vlan_link(self, host: str, vlan: int, address: str) -> None:
        """The host's OS puts a tagged interface on its bond, as a tenant does for a hybrid port."""
        self.run(host, f"ip link add link bond0 name bond0.{vlan} type vlan id {vlan} && "
                       f"ip addr add {address}/24 dev bond0.{vlan} && ip link set bond0.{vlan} up")

    def vlan_ports(self, vid: int) -> set[str]:
        """The switch's interfaces that carry VLAN ``vid`` (read on the switch itself)."""
        data = json.loads(self.run("sw", "bridge -j vlan show") or "[]")
        items = data.items() if isinstance(data, dict) else ((d.get("ifname"), d.get("vlans", [])) for d in data)
        return {name for name, vlans in items
                if any(int(v["vlan"]) <= vid <= int(v.get("vlanEnd", v["vlan"])) for v in vlans)}

    # -- checks with packets --------------------------------------------------------------------
    def ping(self, name: str, address: str, count: int = 2, wait: float = 1.0) -> bool:
        """Whether ``address`` answers from namespace ``name``."""
        out = self.run(name, f"ping -n -q -c {count} -W {wait:g} {address} >/dev/null 2>&1 && echo yes || echo no")
        return out.strip() == "yes"

    def reaches(self, name: str, address: str, timeout: float = 90.0) -> None:
        wait_for(lambda: self.ping(name, address), timeout=timeout, interval=0.5,
                 message=f"{address} answering from {name}")

    def unreachable(self, name: str, address: str, timeout: float = 90.0) -> None:
        """``address`` stops answering (and stays silent for a few pings in a row)."""
        wait_for(lambda: not self.ping(name, address, count=3), timeout=timeout, interval=0.5,
                 message=f"{address} no longer answering from {name}")

    # -- teardown ---------------------------------------------------------------------------------
    def destroy(self) -> None:
        """Stop the lab's daemons and remove its namespaces (also after a failure)."""
        script = [f"for f in {self.shell.rundir}/*.pid {self.frr}/*.pid; do [ -e \"$f\" ] && "
                  "kill $(cat \"$f\") 2>/dev/null; done"]
        script += [f"ip netns pids {self.ns(n)} 2>/dev/null | xargs -r kill 2>/dev/null"
                   for n in ("sw", *HOSTS, "rt", "inet")]
        script += [f"ip netns del {self.ns(n)} 2>/dev/null" for n in ("sw", *HOSTS, "rt", "inet")]
        script.append(f"rm -rf {self.shell.rundir}")
        self.shell.sh("\n".join(script) + "\ntrue", check=False)
        time.sleep(0.2)
