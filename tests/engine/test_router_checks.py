"""Router checks (BGP status and drift reads): one at a time per router, however slow the router is."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from api.engine.network import NetworkWorker
from api.models import Event, NetworkSync, utcnow


def test_a_router_check_in_flight_is_not_started_again(lab, operator, database, settings, box):
    """A router slower to answer than the check interval got a new check every interval beside the ones
    still running. Now the router is due again only once its check has ended; the check's failure (the
    router's vtysh exits 1) ends the check like an answer does."""
    r = operator.post("/routers", {"metro": "lab", "driver": "frr", "address": "local", "asn": 65000,
                                   "options": {"vtysh_command": "false"}})
    assert r.status_code == 201, r.get_json()
    with database.transaction() as s:  # as if its first sync had run: a router whose checks are due
        s.execute(update(NetworkSync).where(NetworkSync.kind == "router").values(state="idle"))
        sync_id = s.scalar(select(NetworkSync.id).where(NetworkSync.kind == "router"))
    settings.network_check_interval = 1e-6  # any later look finds the last check older than the interval
    worker = NetworkWorker(database, settings, box, "test-worker")

    assert worker.check_due() == [sync_id]
    assert worker.check_due() == []      # its check has not ended
    worker.check(sync_id)                # vtysh exits 1: the check ends with the router unread
    assert worker.check_due() == [sync_id]
    with database.Session() as s:  # an unread router is not drift, and asks for no sync
        assert s.get(NetworkSync, sync_id).state == "idle"
        assert s.scalar(select(Event.id).where(Event.type == "router.drift")) is None


def test_network_work_no_commit_announces_is_due_when_the_last_look_says(lab, operator, database, settings, box):
    """The worker's loop looks for network work a commit does not announce when NetworkWorker.next_due says:
    a router's next check (interval after the last), a failed sync's retry, the end of a dead worker's lease."""
    r = operator.post("/routers", {"metro": "lab", "driver": "frr", "address": "local", "asn": 65000,
                                   "options": {"vtysh_command": "false"}})
    assert r.status_code == 201, r.get_json()
    settings.network_check_interval = 60.0
    worker = NetworkWorker(database, settings, box, "test-worker")
    now = utcnow()
    with database.transaction() as s:  # its sync ran and failed: retried in 30 s
        s.execute(update(NetworkSync).where(NetworkSync.kind == "router")
                  .values(next_check_at=now + dt.timedelta(seconds=30)))
    assert worker.next_due(now) == now + dt.timedelta(seconds=30)
    with database.transaction() as s:  # a worker took it and died: due when its lease ends
        s.execute(update(NetworkSync).where(NetworkSync.kind == "router")
                  .values(next_check_at=now, lease_owner="dead", lease_expires_at=now + dt.timedelta(seconds=12)))
    assert worker.next_due(now) == now + dt.timedelta(seconds=12)
    with database.transaction() as s:  # synced; never checked: a check is due now
        s.execute(update(NetworkSync).where(NetworkSync.kind == "router")
                  .values(state="idle", next_check_at=None, lease_owner=None, lease_expires_at=None))
    assert worker.next_due(now) == now
    with database.transaction() as s:  # checked 20 s ago: the next check in 40 s
        s.execute(update(NetworkSync).where(NetworkSync.kind == "router")
                  .values(checked_at=now - dt.timedelta(seconds=20)))
    assert worker.next_due(now) == now + dt.timedelta(seconds=40)
    settings.network_check_interval = 0  # checks off: nothing waits
    assert worker.next_due(now) is None
