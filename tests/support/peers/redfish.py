"""A real Redfish BMC for tests: ``sushy-emulator`` (PyPI ``sushy-tools``) in fake mode.

``start_sushy_emulator(systems)`` writes a config file, starts the emulator as a
subprocess on 127.0.0.1 and a free port, waits until ``/redfish/v1/`` answers,
and returns a :class:`SushyEmulator` handle (also a context manager).

What the fake driver really serves (sushy-tools 2.x), so tests can assert it:

* ``PowerState`` from the system dict; a reset request only *schedules* the
  change, applied 1-11 s later (random) -- poll with a deadline, never sleep.
  ``ForceRestart`` drops the state to ``Off`` at once, then ``On`` later.
* ``Manufacturer`` is ``"Sushy Emulator"``; no ``SerialNumber``/``Model``;
  ``ProcessorSummary``/``MemorySummary`` carry no count/size (the fake driver
  does not implement them) -- so cpus/memory are honestly unknown (None).
* ``EthernetInterfaces`` list the ``nics`` MACs given here.
* ``Storage`` and its ``Drives`` come from the emulator's static storage config,
  which this module fills from each system's optional ``disks`` list.
* Boot override: the target is stored, ``BootSourceOverrideEnabled`` always
  reads back ``Continuous`` (the emulator ignores Once/Continuous).
* Virtual media (``Cd``, ``Floppy``) works: insert downloads the image URL.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import requests

from tests.support.ports import free_port
from tests.support.waiting import WaitTimeout, wait_for

from ._util import PeerError, Stoppable, popen_peer, stop_process, tail

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "password"


def fake_system(index: int, power_state: str = "Off", nics: int = 1,
                disks: list[dict[str, Any]] | None = None,
                name: str | None = None) -> dict[str, Any]:
    """A fake-driver system dict with a deterministic UUID and MACs.

    ``disks`` is a list of ``{"name": str, "size_bytes": int, "protocol": str}``
    exposed under ``/Systems/<uuid>/Storage/1/Drives``.
    """
    uuid = str(uuidlib.UUID(int=(0x1A907 << 96) | index))
    system: dict[str, Any] = {
        "uuid": uuid,
        "name": name or f"node-{index}",
        "power_state": power_state,
        "external_notifier": False,
        "nics": [
            {"mac": "52:54:%02x:%02x:%02x:%02x" % (n, (index >> 16) & 0xFF,
                                                   (index >> 8) & 0xFF, index & 0xFF),
             "ip": f"10.{n}.{(index >> 8) & 0xFF}.{index & 0xFF}"}
            for n in range(nics)
        ],
    }
    if disks:
        system["disks"] = list(disks)
    return system


def fake_disk(name: str, gib: int, protocol: str = "SATA") -> dict[str, Any]:
    """A disk of ``gib`` GiB for :func:`fake_system`'s ``disks``."""
    return {"name": name, "size_bytes": gib * 1024 ** 3, "protocol": protocol}


def fake_systems(count: int, power_state: str = "Off") -> list[dict[str, Any]]:
    """``count`` fake systems (for load tests and benchmarks)."""
    return [fake_system(i, power_state=power_state) for i in range(count)]


@dataclass
class SushyEmulator(Stoppable):
    """A running sushy-emulator. ``stop()`` is idempotent."""

    url: str
    port: int
    username: str
    password: str
    systems: list[dict[str, Any]]
    workdir: str
    process: subprocess.Popen
    ca_bundle: str | None = None
    log_path: str = ""
    state_dir: str = ""
    _owns_workdir: bool = field(default=True, repr=False)

    @property
    def system_ids(self) -> list[str]:
        return [s["uuid"] for s in self.systems]

    def power_state(self, system_id: str) -> str:
        """The emulator's own view of a system's power (``"On"``/``"Off"``)."""
        r = requests.get(f"{self.url}/redfish/v1/Systems/{system_id}",
                         auth=(self.username, self.password), timeout=30,
                         verify=self.ca_bundle or True)
        r.raise_for_status()
        return r.json()["PowerState"]

    def system_json(self, system_id: str) -> dict[str, Any]:
        r = requests.get(f"{self.url}/redfish/v1/Systems/{system_id}",
                         auth=(self.username, self.password), timeout=30,
                         verify=self.ca_bundle or True)
        r.raise_for_status()
        return r.json()

    def log(self) -> str:
        return tail(self.log_path)

    def set_password(self, password: str) -> None:
        """Change the account's password on the running emulator (it re-reads
        its htpasswd file on every request): credential rotation, lockouts."""
        with open(os.path.join(self.workdir, "htpasswd"), "w") as f:
            f.write(_htpasswd_line(self.username, password))
        self.password = password

    def stop(self) -> None:
        stop_process(self.process)
        if self.state_dir and not self.state_dir.startswith(self.workdir):
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)



def _emulator_command() -> list[str]:
    try:
        import sushy_tools.emulator.main  # noqa: F401
    except ImportError as exc:  # pragma: no cover - environment problem
        raise PeerError("sushy-emulator is not installed; install it with: "
                        "pip install sushy-tools") from exc
    candidate = os.path.join(os.path.dirname(sys.executable), "sushy-emulator")
    if os.path.exists(candidate):
        return [candidate]
    found = shutil.which("sushy-emulator")
    if found:
        return [found]
    return [sys.executable, "-m", "sushy_tools.emulator.main"]


def _htpasswd_line(username: str, password: str) -> str:
    import bcrypt  # a sushy-tools dependency

    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{username}:{digest}\n"


def _self_signed_cert(workdir: str) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1/localhost (it is its own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ingot-test-bmc")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(workdir, "cert.pem")
    key_path = os.path.join(workdir, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def _write_config(path: str, *, port: int, systems: list[dict[str, Any]], auth_file: str,
                  state_dir: str, cert: tuple[str, str] | None, listen: str = "127.0.0.1") -> None:
    fake = []
    storage: dict[str, list[dict[str, Any]]] = {}
    drives: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for system in systems:
        entry = {k: v for k, v in system.items() if k != "disks"}
        fake.append(entry)
        disks = system.get("disks") or []
        if disks:
            ids = [f"disk{n}" for n in range(len(disks))]
            storage[system["uuid"]] = [{
                "Id": "1", "Name": "Local Storage Controller",
                "StorageControllers": [{"MemberId": "0", "Name": "Test RAID", "SpeedGbps": 12}],
                "Drives": ids,
            }]
            drives[(system["uuid"], "1")] = [
                {"Id": drive_id, "Name": d.get("name", drive_id),
                 "CapacityBytes": int(d["size_bytes"]), "Protocol": d.get("protocol", "SATA")}
                for drive_id, d in zip(ids, disks)
            ]
    lines = [
        "# generated by tests/support/peers/redfish.py",
        f"SUSHY_EMULATOR_LISTEN_IP = {listen!r}",
        f"SUSHY_EMULATOR_LISTEN_PORT = {port}",
        "SUSHY_EMULATOR_FAKE_DRIVER = True",
        f"SUSHY_EMULATOR_FAKE_SYSTEMS = {fake!r}",
        f"SUSHY_EMULATOR_AUTH_FILE = {auth_file!r}",
        f"SUSHY_EMULATOR_STATE_DIR = {state_dir!r}",
        f"SUSHY_EMULATOR_STORAGE = {storage!r}",
        f"SUSHY_EMULATOR_DRIVES = {drives!r}",
        # pre-seed the LED state: otherwise the first GET of each system writes
        # it to sqlite, and a burst of first GETs fights over the write lock
        f"SUSHY_EMULATOR_INDICATOR_LEDS = {({s['uuid']: 'Off' for s in systems})!r}",
        "SUSHY_EMULATOR_VMEDIA_VERIFY_SSL = False",
    ]
    if cert:
        lines += [f"SUSHY_EMULATOR_SSL_CERT = {cert[0]!r}", f"SUSHY_EMULATOR_SSL_KEY = {cert[1]!r}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def start_sushy_emulator(systems: Iterable[dict[str, Any]] | None = None, port: int | None = None,
                         *, username: str = DEFAULT_USERNAME, password: str = DEFAULT_PASSWORD,
                         tls: bool = False, startup_timeout: float = 90.0,
                         workdir: str | None = None, listen: str = "127.0.0.1", url_host: str | None = None,
                         prefix: Iterable[str] = ()) -> SushyEmulator:
    """Start sushy-emulator (fake driver) with ``systems`` and basic auth.

    Args:
        systems: fake-driver system dicts (see :func:`fake_system`); one
            powered-off system by default.
        port: TCP port; a free one by default.
        username, password: the only account (bcrypt htpasswd file).
        tls: serve HTTPS with a fresh self-signed certificate; its path is
            ``handle.ca_bundle`` (usable as a CA bundle).
        listen, url_host, prefix: the address it listens on, the host its URL names (default
            ``listen``) and a command prefix (``ip netns exec NS``: a BMC in a network namespace).
    """
    systems = list(systems) if systems is not None else [fake_system(0)]
    owns = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="ingot-sushy-")
    port = port or free_port()
    auth_file = os.path.join(workdir, "htpasswd")
    with open(auth_file, "w") as f:
        f.write(_htpasswd_line(username, password))
    # the emulator keeps its state in sqlite files; RAM-backed storage keeps
    # commits cheap when hundreds of systems are seeded
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        state_dir = tempfile.mkdtemp(prefix="ingot-sushy-state-", dir=shm)
    else:
        state_dir = os.path.join(workdir, "state")
        os.makedirs(state_dir, exist_ok=True)
    cert = _self_signed_cert(workdir) if tls else None
    config = os.path.join(workdir, "emulator.conf")
    _write_config(config, port=port, systems=systems, auth_file=auth_file,
                  state_dir=state_dir, cert=cert, listen=listen)
    log_path = os.path.join(workdir, "emulator.log")
    log = open(log_path, "wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SUSHY_EMULATOR_CONFIG", None)
    try:
        proc = popen_peer(list(prefix) + _emulator_command() + ["--config", config],
                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          cwd=workdir, env=env)
    finally:
        log.close()
    scheme = "https" if tls else "http"
    url = f"{scheme}://{url_host or listen}:{port}"
    handle = SushyEmulator(url=url, port=port, username=username, password=password,
                           systems=systems, workdir=workdir, process=proc,
                           ca_bundle=cert[0] if cert else None, log_path=log_path,
                           state_dir=state_dir, _owns_workdir=owns)

    def ready() -> bool:
        if proc.poll() is not None:
            raise PeerError(f"sushy-emulator exited with {proc.returncode}:\n{tail(log_path)}")
        r = requests.get(f"{url}/redfish/v1/", timeout=10, verify=handle.ca_bundle or True)
        return r.status_code == 200

    def warm_up() -> None:
        # The emulator builds its drivers lazily, and not thread-safely, on the
        # first request that needs them (the fake driver writes every system
        # into its sqlite state then).  Touch them once, alone, before any
        # test sends concurrent requests.
        auth = (username, password)
        verify = handle.ca_bundle or True
        r = requests.get(f"{url}/redfish/v1/Systems", auth=auth, timeout=startup_timeout,
                         verify=verify)
        r.raise_for_status()
        if systems:
            first = systems[0]["uuid"]
            for path in (f"/redfish/v1/Systems/{first}", f"/redfish/v1/Managers/{first}",
                         f"/redfish/v1/Systems/{first}/VirtualMedia"):
                requests.get(f"{url}{path}", auth=auth, timeout=startup_timeout,
                             verify=verify).raise_for_status()

    try:
        wait_for(ready, startup_timeout, interval=0.1, message=f"sushy-emulator on {url}",
                 ignore=(requests.RequestException,))
        warm_up()
    except PeerError:
        handle.stop()
        raise
    except (WaitTimeout, requests.RequestException) as exc:
        log_text = tail(log_path)
        handle.stop()
        raise PeerError(f"sushy-emulator did not come up: {exc}\n{log_text}") from exc
    return handle
