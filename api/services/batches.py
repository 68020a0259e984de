"""Batches: several devices created in one request, stored so clients can look them up
(``GET /batches/{id}``) and delete them with their devices."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import ServiceError
from api.core.secrets import SecretBox
from api.models import Batch, Project
from api.services import devices
from api.services.auth import Principal, find_visible

BATCH_JSON = (selectinload(Batch.devices),)


def project_query(project: Project):
    return (select(Batch).where(Batch.project_id == project.id).options(*BATCH_JSON)
            .order_by(Batch.created_at, Batch.id))


def visible_batch(session: Session, principal: Principal, batch_id: str) -> Batch:
    """Raises NotFound for another project's batch."""
    return find_visible(session, principal, Batch, batch_id, "Batch", options=BATCH_JSON)


def create(session: Session, principal: Principal, project: Project, batches: list[dict],
           box: SecretBox) -> list[Batch]:
    """Create several devices, each batch in its own transaction: a batch's devices are all
    made or none is, and a failed batch is stored with the reasons (``error_messages``).

    A batch of ``quantity`` devices takes its hostnames from ``hostnames``, or
    numbers ``hostname`` (``web-01``, ``web-02``…).
    """
    out = []
    for spec in batches:
        quantity = spec.get("quantity", 1)
        hostnames = spec.get("hostnames") or []
        batch = Batch(project_id=project.id, quantity=quantity, state="completed", error_messages=[])
        session.add(batch)
        try:
            session.flush()
            for i in range(quantity):
                one = dict(spec)
                if i < len(hostnames):
                    one["hostname"] = hostnames[i]
                elif spec.get("hostname") and quantity > 1:
                    one["hostname"] = f"{spec['hostname']}-{i + 1:02d}"
                devices.build(session, principal, project, one, box, batch_id=batch.id)
            events.record(session, "batch.created", f"batch of {quantity} devices created", actor=principal.actor,
                          project_id=project.id, target_type="batch", target_id=batch.id)
            session.commit()
        except ServiceError as exc:
            session.rollback()
            batch = Batch(project_id=project.id, quantity=quantity, state="failed", error_messages=exc.messages)
            session.add(batch)
            session.flush()
            events.record(session, "batch.failed", "; ".join(exc.messages), state="error", outcome="failed",
                          actor=principal.actor, project_id=project.id, target_type="batch", target_id=batch.id)
            session.commit()
        out.append(batch)
    return [session.get(Batch, b.id, options=BATCH_JSON) for b in out]


def delete(session: Session, principal: Principal, batch: Batch, remove_devices: bool) -> None:
    """Forget a batch; with ``remove_devices`` delete its devices too (each as ``DELETE /devices/{id}``
    would); audited and committed.

    Raises:
        Invalid: one of its devices is locked (nothing is deleted then).
    """
    doomed = [d for d in batch.devices if d.deleted_at is None] if remove_devices else []
    for d in doomed:
        devices.start_delete(session, principal, d)
    events.record(session, "batch.deleted", f"batch deleted{f' with its {len(doomed)} devices' if doomed else ''}",
                  actor=principal.actor, project_id=batch.project_id, target_type="batch", target_id=batch.id)
    session.delete(batch)
    session.commit()
