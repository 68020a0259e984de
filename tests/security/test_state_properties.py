"""Hypothesis property tests of the state machines, through the real API and
the real engine bookkeeping (the worker's step recording), with step
outcomes chosen by Hypothesis instead of a BMC.

Whatever sequence of creates, deletes, power actions, reinstalls, rescues
and step successes/failures happens:

- no machine is ever bound to two live devices;
- every device (live or deleted) has an event trail that starts with its creation;
- a machine in the pool (available) has no device and no operation;
- a deleted device has no machine and no metadata secret;
- the API never answers 5xx, and every live device stays readable.
"""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, update

from api.app import create_app
from api.core.db import Database
from api.engine.steps import done, fail
from api.engine.worker import Worker
from api.models import Device, Event, Machine
from api.services import demo
from tests.support.clients import make_user
from tests.support.settings import make_settings

DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}
ACTIONS = ("power_on", "power_off", "reboot", "reinstall", "rescue")


@pytest.fixture
def fresh_world(clone_database, tmp_path_factory):
    """A factory of fresh (app, database, tenant) triples, one per Hypothesis example."""
    made = []

    def make():
        data = tmp_path_factory.mktemp("prop")
        st_ = make_settings(data, clone_database(data), secret_key="prop-key", bmc_retries=2)
        db = Database(st_.database_url)
        made.append(db)
        app = create_app(st_, database=db)
        with db.Session() as s:
            demo.seed(s, app.extensions["ingot.secrets"], st_.data_dir, machines=4)
        tenant = make_user(app.test_client(), db, email=f"{uuid.uuid4().hex[:8]}@example.com", project_name="prop")
        return app, db, st_, tenant

    yield make
    for db in made:
        db.dispose()


def test_no_sequence_breaks_the_invariants(fresh_world):
    class Lifecycle(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.app, self.db, self.settings, self.tenant = fresh_world()
            self.worker = Worker(self.db, self.settings, self.app.extensions["ingot.secrets"], threads=1)
            self.devices: list[str] = []
            self.n = 0

        def teardown(self):
            self.worker.pool.shutdown(wait=False)

        def _ok(self, r):
            assert r.status_code < 500, (r.status_code, r.data)
            return r

        @rule()
        def create(self):
            self.n += 1
            r = self._ok(self.tenant.post(f"/projects/{self.tenant.project_id}/devices",
                                          {**DEVICE, "hostname": f"p{self.n}"}))
            assert r.status_code in (201, 503) or r.status_code == 409 or r.status_code == 422, r.data
            if r.status_code == 201:
                self.devices.append(r.json["id"])

        @rule(data=st.data())
        def delete(self, data):
            if self.devices:
                d = data.draw(st.sampled_from(self.devices))
                r = self._ok(self.tenant.delete(f"/devices/{d}"))
                assert r.status_code in (204, 404, 409, 422), r.data

        @rule(data=st.data(), kind=st.sampled_from(ACTIONS))
        def action(self, data, kind):
            if self.devices:
                d = data.draw(st.sampled_from(self.devices))
                r = self._ok(self.tenant.post(f"/devices/{d}/actions", {"type": kind}))
                assert r.status_code in (202, 404, 409, 422), r.data

        @rule(data=st.data(), succeed=st.booleans())
        def engine_step(self, data, succeed):
            with self.db.Session() as s:
                busy = sorted(s.scalars(select(Machine.id).where(Machine.operation.is_not(None))))
            if not busy:
                return
            mid = data.draw(st.sampled_from(busy))
            with self.db.transaction() as s:
                s.execute(update(Machine).where(Machine.id == mid).values(lease_owner=self.worker.name))
            snap, device = self.worker._snapshot(mid)
            if snap is None:
                return
            outcome = done("ok") if succeed else fail("injected failure")
            self.worker._record(mid, (snap, device), snap.step, outcome)

        @invariant()
        def one_device_per_machine(self):
            with self.db.Session() as s:
                rows = s.execute(select(Device.machine_id, func.count()).where(
                    Device.deleted_at.is_(None), Device.machine_id.is_not(None)).group_by(Device.machine_id)).all()
                assert all(n == 1 for _, n in rows), rows
                live_without_machine = s.scalar(select(func.count()).select_from(Device).where(
                    Device.deleted_at.is_(None), Device.machine_id.is_(None)))
                assert live_without_machine == 0

        @invariant()
        def event_trails(self):
            with self.db.Session() as s:
                for d in s.scalars(select(Device)):
                    types = list(s.scalars(select(Event.type).where(Event.device_id == d.id)
                                           .order_by(Event.created_at, Event.id)))
                    assert "device.created" in types, (d.id, d.state, types)
                    if d.state != "queued":
                        assert len(types) >= 2, (d.state, types)

        @invariant()
        def pool_and_deleted_are_clean(self):
            with self.db.Session() as s:
                bound = set(s.scalars(select(Device.machine_id).where(Device.deleted_at.is_(None))))
                for m in s.scalars(select(Machine)):
                    if m.state == "available":
                        assert m.operation is None and m.id not in bound, (m.hostname, m.operation)
                for d in s.scalars(select(Device).where(Device.deleted_at.is_not(None))):
                    assert d.state == "deleted" and d.machine_id is None
                    assert d.metadata_token_hash is None and not d.metadata_token_enc

        @invariant()
        def devices_readable(self):
            for d in self.devices:
                r = self.tenant.get(f"/devices/{d}")
                assert r.status_code in (200, 404), (r.status_code, r.data)

    run_state_machine_as_test(Lifecycle, settings=hsettings(
        max_examples=5, stateful_step_count=20, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck)))
