"""A simulated lab of machines that behave like hosts on the network.

Each simulated host has power, a boot device and a "disk". Powered on, it
boots like a real server: from the network it fetches its iPXE script from
Ingot over HTTP and does what the script says (run the installer, the deploy
agent, the rescue system, chain the tenant's script, or boot from disk); from
disk it boots the installed system, which reads its metadata and phones home
once. It never touches Ingot's database, only its HTTP endpoints.

Failure injection per host (``PUT /hosts/<name> {"fail": ...}``):
``power_stuck`` (the BMC takes commands, the power never changes),
``never_boots`` (hangs at POST), ``installer_fails`` / ``installer_hangs``
(the installer or image-writing agent reports failure / stops reporting),
``no_phone_home`` (the installed system never calls back), ``wipe_fails`` /
``wipe_hangs`` (the deploy agent's disk wipe). Delays: the lab's ``delay``
(seconds per boot stage), per host ``delay`` and ``bmc_delay`` (how long a
power command takes to answer, after it took effect). The lab is a small WSGI app that the ``sim`` BMC
driver calls; ``ingot serve --demo`` serves it on a loopback port of its own, never on the API's.

With a ``state_file`` the lab keeps its hosts (power, boot device, disk) across restarts, as real
machines keep running while Ingot restarts: ``resume()`` carries on what each powered-on host was
doing (a network boot carries on with the script it was running, one-time credential and all, as an
installer in a machine's memory would; an installed system that had not phoned home yet does so).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shlex
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import requests
from flask import Flask, jsonify, request
from requests.adapters import HTTPAdapter

log = logging.getLogger("ingot.simlab")

FAILURES = ("power_stuck", "never_boots", "installer_fails", "installer_hangs", "no_phone_home",
            "wipe_fails", "wipe_hangs")
SPEC = ("mac", "cpus", "memory_mib", "disks", "nics", "fail", "delay", "bmc_delay", "sensors")
# what a simulated host's sensors read unless a test says otherwise (PUT /hosts/<name> {"sensors": {...}})
SENSORS = {"cpu_temp": 45, "fan_rpm": 3000, "psu": "ok"}
CHAIN_DEPTH = 4
SERVICE_RETRIES = 10  # ~12 s of 5xx/refused before a callback counts as failed
HTTP_TIMEOUT = 10
UNKNOWN_RETRIES = 3
SAVE_EVERY = 0.25  # seconds between looks at whether the state file needs writing
LOG_SHOWN = 50    # a host's newest log lines in its JSON (and so in the state file)
LOG_KEPT = 200    # when a host's log reaches this many lines, it keeps the newest LOG_SHOWN


@dataclasses.dataclass
class SimHost:
    name: str
    mac: str = ""
    power: str = "off"
    boot_once: str | None = None
    boot_persistent: str = "disk"
    disk_os: str | None = None          # what is installed
    disk_metadata_url: str | None = None
    disk_phone_home_url: str | None = None  # the one-time phone-home URL the installer wrote to the disk
    disk_booted: bool = False           # first boot of the installed system done
    fail: str | None = None
    delay: float | None = None          # seconds per boot stage (None: the lab's)
    bmc_delay: float = 0.0              # a power command answers this long after it took effect
    cpus: int = 4
    memory_mib: int = 8192
    disks: list = dataclasses.field(default_factory=lambda: [{"name": "sda", "size_gb": 240, "type": "SSD"}])
    nics: list = dataclasses.field(default_factory=list)
    sensors: dict = dataclasses.field(default_factory=lambda: dict(SENSORS))
    generation: int = 0                 # bumps on every power change: stale boots stop
    booting: str | None = None          # what the current boot started from (pxe or disk); resume() redoes it
    # the iPXE script a network boot is running (its installer or agent, with that boot's one-time
    # credential, lives in the host's memory): resume() carries it on instead of asking for it again
    netboot_script: str | None = None
    netboot_base: str | None = None     # Ingot's URL when it was fetched (a restarted demo may have moved)
    boots: int = 0
    power_ons: int = 0                  # power-on and reset commands that took effect
    ipxe_fetches: int = 0
    slept: float = 0.0                  # seconds spent in its own boot stages (benchmarks subtract it)
    log: list = dataclasses.field(default_factory=list)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self.__dict__.pop("_text", None)  # its JSON changed: written anew at the next save

    def add_log(self, line: str) -> None:
        """Append ``line``; a log of ``LOG_KEPT`` lines keeps its newest ``LOG_SHOWN`` (a long-lived lab's
        hosts must not grow without end)."""
        self.log.append(line)
        if len(self.log) > LOG_KEPT:
            del self.log[:-LOG_SHOWN]
        self.__dict__.pop("_text", None)  # changed in place: no __setattr__ said so

    def text(self) -> str:
        """:meth:`public` as JSON, kept until a field is assigned or a log line added (change a host's fields by
        assigning them, not in place): the lab looks at its state four times a second, and re-serialising every
        host each time cost 1.8 ms for 101 hosts, 62 ms for 2,001 (a quarter of a CPU; now 0.6 and 13.5 ms)."""
        text = self.__dict__.get("_text")
        if text is None:
            text = self.__dict__["_text"] = json.dumps(self.public(), sort_keys=True)
        return text

    def public(self) -> dict:
        """The host as JSON data: its fields, each list or dict copied one level (a copy the GIL makes in one
        step), and the newest ``LOG_SHOWN`` log lines. Not ``dataclasses.asdict``: its deep copy of every host
        and its whole log was most of the simulated lab's CPU (the state file is written from this four times a
        second, under the lab's lock: 59 ms for 208 hosts of 120 log lines each)."""
        d = {name: _copy(getattr(self, name)) for name in _FIELDS if name != "log"}
        d["log"] = self.log[-LOG_SHOWN:]  # the slice is the copy: the whole log is not copied first
        return d


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


_FIELDS = tuple(f.name for f in dataclasses.fields(SimHost))


class _PinnedAdapter(HTTPAdapter):
    """HTTPS whose certificate one SSL context verifies (a pinned certificate), with no CA bundle added to it
    and no name checked against the address (the context holds the one certificate trusted)."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context
        super().__init__()

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        pool = {k: v for k, v in pool.items() if k not in ("ca_certs", "ca_cert_dir")}
        return host, {**pool, "ssl_context": self.context, "assert_hostname": False, "cert_reqs": "CERT_REQUIRED"}

    def cert_verify(self, conn, url, verify, cert) -> None:
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = conn.ca_cert_dir = None


class SimLab:
    """The simulated hardware; thread-safe."""

    def __init__(self, ingot_url: str = "", delay: float = 0.5, state_file: str | Path | None = None):
        self.ingot_url = ingot_url.rstrip("/")
        self.delay = delay
        self.hosts: dict[str, SimHost] = {}
        self.lock = threading.RLock()
        self.http = requests.Session()
        # its hosts reach Ingot directly: no proxy from this process's environment (looking for one scans os.environ
        # on every call: 3-5 % of the demo's CPU per provisioned device, bench/RESULTS.md s46). They trust the CA
        # bundle the environment names, as requests would (how a test's hosts trust an Ingot serving HTTPS)
        self.http.trust_env = False
        self.http.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.state_file = Path(state_file) if state_file else None
        self._saved = ""
        self._stopped = threading.Event()
        if self.state_file is not None:
            self._load()
            threading.Thread(target=self._keep_saving, name="simlab-state", daemon=True).start()

    def trust_server(self, url: str, context: ssl.SSLContext) -> None:
        """The hosts' calls to ``url`` (the server that runs the lab, serving HTTPS itself) verify its certificate
        by ``context`` (:func:`api.core.tls.pinned_client_context`), not by the CA bundle: a demo served with a
        self-signed certificate provisions, where its hosts failed every call and each device waited for its
        boot until the step's timeout. Calls elsewhere (a tenant's iPXE chain) are verified as before."""
        self.http.mount(url.rstrip("/") + "/", _PinnedAdapter(context))

    # -- state across restarts ------------------------------------------------
    def _load(self) -> None:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("simulated lab: ignoring unreadable state file %s: %s", self.state_file, exc)
            return
        names = {f.name for f in dataclasses.fields(SimHost)}
        for item in data.get("hosts", []):
            h = SimHost(**{k: v for k, v in item.items() if k in names})
            self.hosts[h.name] = h
        self._saved = self._state_text()

    def _state_text(self) -> str:
        with self.lock:  # what json.dumps({"hosts": [...]}, sort_keys=True) writes, each host's part kept
            return '{"hosts": [' + ", ".join(h.text() for h in self.hosts.values()) + "]}"

    def save(self) -> None:
        """Write the state file if the hosts changed since the last write (atomically)."""
        if self.state_file is None:
            return
        with self.lock:  # the periodic saver and stop() may both save: one tmp file, one writer at a time
            text = self._state_text()
            if text == self._saved:
                return
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text)
            os.replace(tmp, self.state_file)
            self._saved = text

    def _keep_saving(self) -> None:
        while not self._stopped.wait(SAVE_EVERY):
            try:
                self.save()
            except OSError:  # a full disk must not take the lab down; the next look tries again
                log.exception("simulated lab: could not save %s", self.state_file)

    def resume(self) -> list[str]:
        """Carry on what each powered-on host was doing when the lab last stopped (call once Ingot
        answers); returns the hosts that boot again."""
        resumed = []
        with self.lock:
            for h in self.hosts.values():
                if h.power != "on" or (h.booting == "disk" and (h.disk_booted or h.disk_os is None)):
                    continue  # off, or running its installed system: nothing was interrupted
                h.generation += 1
                if h.booting == "pxe" and h.netboot_script:
                    self._note(h, "lab restarted: the network boot carries on")
                    script = h.netboot_script.replace(h.netboot_base or self.ingot_url, self.ingot_url)
                    target, args = self._carry_on, (h, h.generation, script)
                else:
                    self._note(h, f"lab restarted: booting again from {h.booting or 'disk'}")
                    target, args = self._boot, (h, h.generation, h.booting)
                threading.Thread(target=target, args=args, daemon=True, name=f"sim-{h.name}").start()
                resumed.append(h.name)
        return resumed

    def stop(self) -> None:
        """Save the hosts as they are and end every simulated boot (the hosts keep their power)."""
        with self.lock:
            self._stopped.set()
            try:
                self.save()
            finally:
                for h in self.hosts.values():
                    h.generation += 1

    # -- BMC side -------------------------------------------------------------
    def host(self, name: str, spec: dict | None = None) -> SimHost:
        with self.lock:
            h = self.hosts.get(name)
            if h is None:
                h = self.hosts[name] = SimHost(name=name)
            for key, value in (spec or {}).items():
                if key == "sensors" and isinstance(value, dict):
                    h.sensors = {**h.sensors, **value}
                elif key in SPEC and key != "fail" and value is not None:
                    setattr(h, key, value.lower() if key == "mac" else value)
            return h

    def set_power(self, name: str, action: str) -> None:
        with self.lock:
            h = self.host(name)
            if h.fail == "power_stuck":
                self._note(h, f"injected failure: power {action} ignored")
                return
            if action in ("off", "soft_off"):
                if h.power == "on":
                    self._note(h, "power off")
                h.power, h.booting = "off", None
                h.generation += 1
                return
            if action == "reset" or (action == "on" and h.power == "off"):
                self._note(h, "power on" if action == "on" else "reset")
                h.power = "on"
                h.power_ons += 1
                h.generation += 1
                gen = h.generation
                threading.Thread(target=self._boot, args=(h, gen), daemon=True,
                                 name=f"sim-{name}").start()

    def set_boot(self, name: str, device: str, persistent: bool) -> None:
        with self.lock:
            h = self.host(name)
            if persistent:
                h.boot_persistent, h.boot_once = device, None
            else:
                h.boot_once = device

    # -- the host's behaviour -------------------------------------------------
    def _note(self, h: SimHost, text: str) -> None:
        h.add_log(f"{time.strftime('%H:%M:%S')} {text}")
        log.debug("%s: %s", h.name, text)

    def _alive(self, h: SimHost, gen: int) -> bool:
        return h.power == "on" and h.generation == gen

    def _sleep(self, h: SimHost, gen: int, seconds: float) -> bool:
        start = time.monotonic()
        end = start + seconds
        try:
            while time.monotonic() < end:
                if not self._alive(h, gen):
                    return False
                time.sleep(min(0.05, seconds))
            return self._alive(h, gen)
        finally:
            h.slept += time.monotonic() - start

    def _boot(self, h: SimHost, gen: int, device: str | None = None) -> None:
        try:
            self._boot_inner(h, gen, device)
        except requests.RequestException as exc:
            self._note(h, f"network error: {exc}")
        except Exception:  # a simulated host must never take the process down
            log.exception("sim host %s crashed", h.name)

    def _carry_on(self, h: SimHost, gen: int, script: str) -> None:
        """Run the network boot's script again from where the host keeps it (after a lab restart)."""
        try:
            if self._run_ipxe(h, gen, script) == "disk":
                self._boot_disk(h, gen)
        except requests.RequestException as exc:
            self._note(h, f"network error: {exc}")
        except Exception:  # a simulated host must never take the process down
            log.exception("sim host %s crashed", h.name)

    def _boot_inner(self, h: SimHost, gen: int, device: str | None = None) -> None:
        with self.lock:
            if device is None:
                device = h.boot_once or h.boot_persistent
                h.boot_once = None
            h.booting = "pxe" if device == "pxe" or h.disk_os is None else "disk"
            h.netboot_script = None
            h.boots += 1
        if not self._sleep(h, gen, self._delay(h)):
            return
        if h.fail == "never_boots":
            self._note(h, "injected failure: hangs at POST")
            return
        if device == "pxe" or h.disk_os is None:
            for _ in range(UNKNOWN_RETRIES):
                if not self._alive(h, gen):
                    return
                script = self._get(f"{self.ingot_url}/metal/v1/boot/ipxe", params={"mac": h.mac}).text
                with self.lock:
                    h.ipxe_fetches += 1
                    h.netboot_script, h.netboot_base = script, self.ingot_url
                outcome = self._run_ipxe(h, gen, script)
                if outcome != "retry":
                    break
                self._sleep(h, gen, self._delay(h) * 2)
            else:
                return
            if outcome != "disk":
                return
        self._boot_disk(h, gen)

    def _delay(self, h: SimHost) -> float:
        return self.delay if h.delay is None else h.delay

    def _run_ipxe(self, h: SimHost, gen: int, script: str, depth: int = 0) -> str:
        lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.startswith("#")]
        if any(ln == "exit" for ln in lines):
            self._note(h, "iPXE: exit, boot from disk")
            return "disk"
        kernel = next((ln for ln in lines if ln.startswith("kernel ")), None)
        chain = next((ln for ln in lines if ln.startswith("chain ")), None)
        if kernel:
            args = dict(a.split("=", 1) for a in shlex.split(kernel)[2:] if "=" in a)
            action = args.get("ingot.action")
            metadata = args.get("ingot.metadata", "")
            if action:
                self._agent(h, gen, action, metadata)
            else:
                self._installer(h, gen, kernel, metadata)
            return "done"
        if chain:
            url = next((t for t in chain.split("||")[0].split()[1:] if not t.startswith("-")), "")
            self._note(h, f"iPXE: chain {url}")
            try:
                text = self._get(url).text
            except requests.RequestException as exc:
                self._note(h, f"iPXE: chain failed ({exc}); halting")
                return "done"
            if depth < CHAIN_DEPTH and text.lstrip().startswith("#!ipxe"):
                if not any(ln.strip().startswith(("kernel ", "chain ", "exit")) for ln in text.splitlines()):
                    self._note(h, "iPXE: the chained script boots nothing we know; halting")
                    return "done"
                if any(ln.strip().startswith("kernel ") for ln in text.splitlines()):
                    # the tenant's own installer: what it writes is its business
                    self._note(h, "iPXE: running the tenant's kernel")
                    with self.lock:
                        h.disk_os, h.disk_metadata_url, h.disk_booted = "custom_ipxe", None, True
                        h.disk_phone_home_url = None
                    return "done"
                return self._run_ipxe(h, gen, text, depth + 1)
            return "done"
        if any(ln.startswith("reboot") for ln in lines):
            self._note(h, "iPXE: unknown to Ingot, rebooting later")
            return "retry"
        self._note(h, "iPXE: script not understood; halting")
        return "done"

    def _installer(self, h: SimHost, gen: int, kernel_line: str, metadata: str) -> None:
        self._note(h, "installer: booted")
        m = re.search(r"\bs=(\S+?/)(?:\s|$)", kernel_line) or re.search(r"\burl=(\S+)", kernel_line)
        config_url = (m.group(1) + "user-data") if m and "s=" in m.group(0) else (m.group(1) if m else None)
        config = self._get(config_url or f"{metadata}/install-config").text
        if not config.strip():
            self._post_json(f"{metadata}/events", {"state": "failed", "message": "empty install config"})
            return
        self._post_json(f"{metadata}/events", {"state": "running", "code": 1001, "message": "installer started"})
        if not self._sleep(h, gen, self._delay(h) / 2):
            return
        self._post_json(f"{metadata}/events", {"state": "running", "percentage": 50,
                                               "message": "installing packages"})
        if h.fail == "installer_hangs":
            self._note(h, "injected failure: installer hangs")
            return
        if not self._sleep(h, gen, self._delay(h) / 2):
            return
        if h.fail == "installer_fails":
            self._note(h, "injected failure: installer fails")
            self._post_json(f"{metadata}/events", {"state": "failed", "message": "simulated installer failure: "
                                                   "could not partition /dev/sda"})
            return
        self._post_json(f"{metadata}/events", {"state": "running", "code": 1002, "percentage": 80,
                                               "message": "installation finished, rebooting"})
        # like a real installer, keep what the config says the installed system uses (its metadata
        # URL, its one-time phone-home URL): the boot's own URL stops working with the install
        seed = re.search(r"seedfrom: (\S+?)/nocloud/", config)
        phone = re.search(r"https?://[^\s'\"\\]+?/phone-home", config)
        with self.lock:
            h.disk_os, h.disk_booted = "installed", False
            h.disk_metadata_url = seed.group(1) if seed else metadata
            h.disk_phone_home_url = phone.group(0) if phone else None
        self._reboot_from_disk(h, gen)

    def _agent(self, h: SimHost, gen: int, action: str, metadata: str) -> None:
        self._note(h, f"deploy agent: {action}")
        if action == "rescue":
            self._post_json(f"{metadata}/phone-home", {"rescue": True})
            return
        plan = self._get(f"{metadata}/deploy").json()
        self._post_json(f"{metadata}/events", {"type": "provisioning.agent", "state": "running",
                                               "message": f"agent {plan.get('action')} started"})
        if not self._sleep(h, gen, self._delay(h)):
            return
        if (action, h.fail) in (("deploy", "installer_hangs"), ("wipe", "wipe_hangs")):
            self._note(h, f"injected failure: {action} hangs")
            return
        if (action, h.fail) in (("deploy", "installer_fails"), ("wipe", "wipe_fails")):
            self._post_json(f"{metadata}/deploy/complete", {"status": "failed",
                                                            "message": f"simulated: {action} failed"})
            return
        with self.lock:
            if action == "wipe":
                h.disk_os, h.disk_metadata_url, h.disk_booted = None, None, False
                h.disk_phone_home_url = None
            else:  # the config drive: what the deploy instructions say the installed system uses
                h.disk_os, h.disk_booted = plan.get("image_url") or "image", False
                h.disk_metadata_url = plan.get("metadata_url") or metadata
                h.disk_phone_home_url = plan.get("phone_home_url")
        self._post_json(f"{metadata}/deploy/complete", {"status": "ok", "message": f"{action} done"})
        with self.lock:  # the agent powers the machine off; Ingot takes it from there
            if self._alive(h, gen):
                self.set_power(h.name, "off")

    def _reboot_from_disk(self, h: SimHost, gen: int) -> None:
        with self.lock:
            if not self._alive(h, gen):
                return
            h.generation += 1
            gen = h.generation
            h.boot_once = None if h.boot_persistent == "pxe" else "disk"
            self._note(h, "reboot")
        threading.Thread(target=self._boot, args=(h, gen), daemon=True, name=f"sim-{h.name}").start()

    def _boot_disk(self, h: SimHost, gen: int) -> None:
        if h.disk_os is None:
            self._note(h, "no bootable disk")
            return
        self._note(h, f"booting {h.disk_os} from disk")
        with self.lock:
            h.booting = "disk"
        if h.disk_booted or not h.disk_metadata_url:
            return
        if not self._sleep(h, gen, self._delay(h)):
            return
        self._get(f"{h.disk_metadata_url}/metadata")  # cloud-init reads its metadata
        if h.fail == "no_phone_home":
            self._note(h, "injected failure: never phones home")
            return
        self._post_json(h.disk_phone_home_url or f"{h.disk_metadata_url}/phone-home", {"instance_id": h.name})
        with self.lock:
            h.disk_booted = True
        self._user_state(h, gen, h.disk_metadata_url)

    def _user_state(self, h: SimHost, gen: int, metadata: str) -> None:
        """Like cloud-init's end: "running", then "failed" when the user data has a line ``exit N``
        (N > 0), else "succeeded"."""
        doc = self._get(f"{metadata}/metadata").json()
        url = doc.get("user_state_url")
        if not url:
            return
        self._post_json(url, {"state": "running", "code": 2000, "message": "running the user data"})
        if not self._sleep(h, gen, self._delay(h)):
            return
        userdata = self._get(f"{metadata}/userdata").text
        failing = re.search(r"^\s*exit\s+([1-9]\d*)\s*$", userdata, re.MULTILINE)
        if failing:
            self._note(h, f"user data fails (exit {failing.group(1)})")
            self._post_json(url, {"state": "failed", "code": 2002,
                                  "message": f"user data exited with status {failing.group(1)}"})
        else:
            self._post_json(url, {"state": "succeeded", "code": 2001, "message": "user data finished"})

    def _request(self, method: str, url: str, **kw) -> requests.Response:
        """Like a real host's tools (cloud-init retries phone-home, iPXE
        retries fetches): a 502/503/504 or a refused connection is retried
        with backoff for a while before it counts."""
        for attempt in range(SERVICE_RETRIES):
            try:
                r = self.http.request(method, url, timeout=HTTP_TIMEOUT, **kw)
            except (requests.ConnectionError, requests.Timeout):
                if attempt == SERVICE_RETRIES - 1:
                    raise
            else:
                if r.status_code not in (502, 503, 504) or attempt == SERVICE_RETRIES - 1:
                    return r
            time.sleep(min(2.0, 0.25 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _get(self, url: str, **kw) -> requests.Response:
        r = self._request("GET", url, **kw)
        r.raise_for_status()
        return r

    def _post_json(self, url: str, body: dict) -> None:
        r = self._request("POST", url, json=body)
        if r.status_code >= 400:
            log.info("sim POST %s -> %s", url, r.status_code)


def create_lab_app(lab: SimLab) -> Flask:
    """The lab's HTTP face, which the ``sim`` driver talks to."""
    app = Flask("ingot-simlab")

    def _spec():
        return request.get_json(silent=True) or {}

    @app.get("/hosts")
    def hosts():
        with lab.lock:
            return jsonify({"hosts": [h.public() for h in lab.hosts.values()]})

    @app.get("/hosts/<name>")
    def get_host(name):
        with lab.lock:
            h = lab.hosts.get(name)
            if h is None:
                return jsonify({"errors": ["no such host"]}), 404
            return jsonify(h.public())

    @app.put("/hosts/<name>")
    def put_host(name):
        spec = _spec()
        if spec.get("fail") not in (None, *FAILURES):
            return jsonify({"errors": [f"fail: one of {FAILURES} or null"]}), 422
        h = lab.host(name, spec)
        if "fail" in spec:
            h.fail = spec["fail"]
        if "delay" in spec:
            h.delay = None if spec["delay"] is None else float(spec["delay"])
        return jsonify(h.public())

    @app.get("/hosts/<name>/health")
    def get_health(name):
        return jsonify({"sensors": lab.host(name).sensors})

    @app.get("/hosts/<name>/power")
    def get_power(name):
        return jsonify({"power": lab.host(name).power})

    @app.post("/hosts/<name>/power")
    def post_power(name):
        action = _spec().get("action")
        if action not in ("on", "off", "reset", "soft_off"):
            return jsonify({"errors": ["action: one of on, off, reset, soft_off"]}), 422
        lab.set_power(name, action)
        h = lab.host(name)
        if h.bmc_delay:
            time.sleep(h.bmc_delay)  # a slow BMC: the command took effect, the answer is late
        return jsonify({"power": h.power})

    @app.post("/hosts/<name>/boot")
    def post_boot(name):
        spec = _spec()
        if spec.get("device") not in ("pxe", "disk", "cdrom"):
            return jsonify({"errors": ["device: one of pxe, disk, cdrom"]}), 422
        lab.set_boot(name, spec["device"], bool(spec.get("persistent")))
        return jsonify({"ok": True})

    @app.put("/config")
    def put_config():
        spec = _spec()
        if "delay" in spec:
            lab.delay = float(spec["delay"])
        if "ingot_url" in spec:
            lab.ingot_url = str(spec["ingot_url"]).rstrip("/")
        return jsonify({"delay": lab.delay, "ingot_url": lab.ingot_url})

    return app
