"""BMC discovery: a BMC that takes a DHCP lease is probed and, if it answers, enrolled.

Ingot's dnsmasq configuration runs a lease hook (``dhcp-script``) that posts
each new lease to ``/metal/v1/boot/discovery/<secret>/leases``; the secret
names the metro, whose operators turned BMC discovery on. :func:`lease`
records the BMC by its MAC (a BMC seen again is updated, never enrolled
twice: a new address is written to its machine; a new lease of one that
failed probes it again at once, a renewal after ten minutes). :class:`BmcProber` (a
thread of ``ingot worker`` and ``ingot serve``) then tries Redfish, then
IPMI, with the metro's default credentials; a BMC that answers both its
power state and its inventory is enrolled, in the transaction that records
the discovery, and inspected (plan matched) like any enrolled machine. What
fails is an event, and is tried again a few times, then on its next lease.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.bmc import BMCError, Inventory
from api.bmc.base import error_kind
from api.core import events
from api.core.config import Settings
from api.core.db import Database, Lease
from api.core.errors import NotFound
from api.core.secrets import SecretBox
from api.core.wakeup import BMC_WAKEUP
from api.engine.drivers import build_driver
from api.engine.inspection import normalize_mac
from api.models import BmcDiscovery, Machine, Nic, ProvisioningNetwork, utcnow
from api.schemas.common import HOSTNAME_RE
from api.services import machines as machine_service
from api.services.provisioning_networks import by_lease_hook_token

log = logging.getLogger("ingot.discovery")

PROBE_ATTEMPTS = 3                       # probes per lease before the BMC counts as failed
RETRY_FAILED_AFTER = dt.timedelta(minutes=10)  # a failed BMC's renewed lease tries again after this
LEASE_SECONDS = 120.0
# due: a BMC that took a lease and is not probed yet, or whose next probe has come
_PROBES_LEASE = Lease(BmcDiscovery, lambda now: (BmcDiscovery.state == "pending", BmcDiscovery.next_check_at <= now),
                      order_by=(BmcDiscovery.next_check_at,))


def bmc_host(address: str) -> str:
    """The host of a BMC address: ``https://10.0.0.5:443`` or ``10.0.0.5:623`` -> ``10.0.0.5``."""
    addr = (address or "").strip()
    if "://" in addr:
        return urlsplit(addr).hostname or ""
    if addr.startswith("["):
        return addr[1:addr.find("]")]
    return addr.split(":")[0] if addr.count(":") == 1 else addr


def with_host(address: str, host: str) -> str:
    """``address`` with its host replaced by ``host`` (scheme and port kept)."""
    addr = address.strip()
    if "://" in addr:
        parts = urlsplit(addr)
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    if addr.count(":") == 1:
        return f"{host}:{addr.split(':')[1]}"
    return host


def lease(session: Session, token: str, data: dict) -> str:
    """Record a DHCP lease the metro's lease hook reports; returns what was done.

    Raises:
        NotFound: no metro's lease hook holds ``token`` (or its BMC discovery is off).
    """
    net = by_lease_hook_token(session, token)
    if net is None:
        raise NotFound("Not found")
    if data["action"] == "del":
        return "ignored: a released lease"
    mac, ip, now = normalize_mac(data["mac"]), data["ip"], utcnow()
    nic = session.scalar(select(Nic).where(Nic.mac == mac))
    if nic is not None:
        return f"ignored: {mac} is a NIC of machine {nic.machine.hostname}, not a BMC"
    row = session.scalar(select(BmcDiscovery).where(BmcDiscovery.mac == mac))
    where = f"BMC {mac} at {ip} (metro {net.metro.code})"
    if row is None:
        known = next((m for m in session.scalars(select(Machine).where(Machine.bmc_address.contains(ip)))
                      if bmc_host(m.bmc_address) == ip), None)
        row = BmcDiscovery(metro_id=net.metro_id, mac=mac, address=ip, hostname=data.get("hostname") or "",
                           seen_at=now, state="enrolled" if known else "pending",
                           machine_id=known.id if known else None, next_check_at=None if known else now,
                           attempts=0, message=f"already enrolled as {known.hostname}" if known else "")
        session.add(row)
        events.record(session, "discovery.bmc.seen", f"{where} took a DHCP lease; " + (
            f"it is machine {known.hostname}'s BMC" if known else "probing it (Redfish, then IPMI)"),
            actor="system:discovery", target_type="bmc", target_id=mac)
        session.commit()
        return row.message or "probing"
    row.seen_at = now
    result = "seen again"
    if row.state != "enrolled" and data["action"] == "add" and row.address == ip:
        # a new lease (the BMC restarted, or its credentials were fixed): probe it now
        row.state, row.attempts, row.next_check_at = "pending", 0, now
        result = "probing again"
    elif row.address != ip:
        old, row.address = row.address, ip
        m = session.get(Machine, row.machine_id) if row.machine_id else None
        if m is not None and bmc_host(m.bmc_address) == old:
            m.bmc_address = with_host(m.bmc_address, ip)
            events.record(session, "machine.bmc.address_changed", f"its BMC ({mac}) took a new DHCP lease: "
                          f"{old} -> {ip}", actor="system:discovery", machine=m)
            result = f"machine {m.hostname}'s BMC address updated to {ip}"
        elif row.state == "failed":
            row.state, row.attempts, row.next_check_at = "pending", 0, now
            result = "probing again at its new address"
    elif row.state == "failed" and row.updated_at is not None and now - row.updated_at > RETRY_FAILED_AFTER:
        row.state, row.attempts, row.next_check_at = "pending", 0, now
        result = "probing again"
    session.commit()
    return result


def probe_bmc(settings: Settings, ip: str, net: ProvisioningNetwork, password: str,
              timeout: float) -> tuple[str, str, Inventory | None, list[str]]:
    """Ask the BMC at ``ip`` for its power state and inventory: Redfish, then IPMI.
    Returns ``(driver, address, inventory, failures)``; ``inventory`` is None when neither answered."""
    failures = []
    for driver, address in (("redfish", net.redfish_url.replace("{ip}", ip)), ("ipmi", f"{ip}:{net.ipmi_port}")):
        try:
            d = build_driver(settings, driver, address, net.bmc_username, password, dict(net.bmc_options or {}),
                             timeout)
        except BMCError as exc:
            failures.append(f"{driver} at {address}: {exc}")
            continue
        try:
            d.power_state()
            return driver, address, d.inventory(), failures
        except BMCError as exc:
            failures.append(f"{driver} at {address}: {error_kind(exc)} ({exc})")
        finally:
            d.close()
    return "", "", None, failures


class BmcProber:
    """Probes the BMCs :func:`lease` recorded and enrols those that answer (see module docs).

    Several processes may run one each: a BMC is claimed with a lease (``FOR
    UPDATE SKIP LOCKED`` on PostgreSQL), like the engine's machines.
    """

    def __init__(self, db: Database, settings: Settings, box: SecretBox, stop: threading.Event | None = None,
                 interval: float | None = None):
        self.db = db
        self.settings = settings
        self.box = box
        self.stop = stop or threading.Event()
        self.interval = max(0.2, settings.worker_poll_interval if interval is None else interval)
        self.name = f"{socket.gethostname()}:{os.getpid()}:probe-{uuid.uuid4().hex[:6]}"

    def start_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.run_forever, name="ingot-bmc-prober", daemon=True)
        t.start()
        return t

    def run_forever(self) -> None:
        wakeup = BMC_WAKEUP.child()  # a DHCP lease of a new BMC (next_check_at = now) wakes it (api/core/wakeup.py)
        while not self.stop.is_set():
            seen = wakeup.mark()
            try:
                if self.run_once():
                    continue
            except Exception as exc:  # noqa: BLE001 - try again next time
                if not self.db.outage.failed(exc):  # an outage is one line for the whole process
                    log.exception("BMC discovery: probing failed")
            wakeup.wait(seen, self.interval)

    def claim(self) -> list[str]:
        now = utcnow()
        return self.db.claim(_PROBES_LEASE, limit=8, owner=self.name,
                             until=now + dt.timedelta(seconds=LEASE_SECONDS), now=now)

    def run_once(self) -> int:
        """Probe the BMCs due now; returns how many."""
        ids = self.claim()
        for row_id in ids:
            self.probe(row_id)
        return len(ids)

    def probe(self, row_id: str) -> None:
        with self.db.Session() as s:
            row = s.get(BmcDiscovery, row_id)
            if row is None or row.lease_owner != self.name:
                return
            net = s.scalar(select(ProvisioningNetwork).where(ProvisioningNetwork.metro_id == row.metro_id))
            if net is None:
                return
            s.expunge(net)
            ip = row.address
        password = self.box.decrypt(net.bmc_password_enc)
        driver, address, inventory, failures = probe_bmc(self.settings, ip, net, password,
                                                         self.settings.bmc_timeout)
        if inventory is not None:
            try:
                self._enrol(row_id, net, driver, address, password, inventory)
                return
            except Exception as exc:  # noqa: BLE001 - recorded as a failure below; nothing was written
                log.exception("BMC discovery: enrolling %s failed", ip)
                failures.append(f"enrolling failed: {exc}")
        self._failed(row_id, failures)

    def _enrol(self, row_id: str, net: ProvisioningNetwork, driver: str, address: str, password: str,
               inventory: Inventory) -> None:
        """Enrol the machine and record the discovery in one transaction."""
        with self.db.Session() as s:
            row = s.get(BmcDiscovery, row_id)
            hostname = row.hostname if row.hostname and HOSTNAME_RE.match(row.hostname) else ""
            if not hostname or s.scalar(select(Machine.id).where(Machine.hostname == hostname)):
                hostname = f"bmc-{row.mac.replace(':', '')}"
            macs = [normalize_mac(n["mac"]) for n in inventory.nics if n.get("mac")]
            known = set(s.scalars(select(Nic.mac).where(Nic.mac.in_(macs)))) if macs else set()
            nics = [{"mac": mac, "name": n.get("name") or f"eth{i}"}
                    for i, (mac, n) in enumerate(zip(macs, inventory.nics)) if mac not in known]
            data = {"hostname": hostname, "metro": row.metro.code, "plan": None, "inspect": True, "nics": nics,
                    "bmc": {"driver": driver, "address": address, "username": net.bmc_username,
                            "password": password, "options": dict(net.bmc_options or {})}}
            m = machine_service.add(s, data, self.box, "system:discovery")
            row.state, row.machine_id, row.attempts = "enrolled", m.id, row.attempts + 1
            row.message = f"enrolled as {m.hostname} ({driver} at {address})"
            row.lease_owner = row.lease_expires_at = row.next_check_at = None
            events.record(s, "discovery.bmc.enrolled", f"BMC {row.mac} at {row.address} answered {driver}: "
                          f"enrolled as machine {m.hostname}, inspecting it", actor="system:discovery", machine=m)
            s.commit()

    def _failed(self, row_id: str, failures: list[str]) -> None:
        with self.db.transaction() as s:
            row = s.get(BmcDiscovery, row_id)
            if row is None:
                return
            row.attempts += 1
            row.message = "; ".join(failures) or "no answer"
            row.lease_owner = row.lease_expires_at = None
            if row.attempts < PROBE_ATTEMPTS:
                delay = self.settings.discovery_retry_seconds * row.attempts
                row.next_check_at = utcnow() + dt.timedelta(seconds=delay)
                then = f"trying again in {delay:g} s"
            else:
                row.state, row.next_check_at = "failed", None
                then = "giving up until its next DHCP lease"
            events.record(s, "discovery.bmc.failed", f"BMC {row.mac} at {row.address} (metro {row.metro.code}): "
                          f"{row.message}; {then}", state="warning" if row.state == "pending" else "error",
                          outcome="failed", actor="system:discovery", target_type="bmc", target_id=row.mac)
