"""Audit entries the HTTP layer asks for: requests it rejected."""
from __future__ import annotations

from sqlalchemy.orm import Session

from api.core import events
from api.models import Project
from api.services.auth import Principal, may_see


def record_rejected(session: Session, principal: Principal, body: str, *, outcome: str, project_id: str | None,
                    target_type: str, target_id: str) -> None:
    """Record a rejected state-changing request in its own small transaction.

    The request's session is rolled back first: an error response keeps none
    of the request's partial work (and on SQLite the write lock is freed).
    The event names ``project_id`` only when it exists and the caller may see it.
    """
    session.rollback()
    if project_id is not None and (not may_see(session, principal, project_id=project_id)
                                   or session.get(Project, project_id) is None):
        project_id = None
    events.record(session, "api.request.rejected", body, state="error", outcome=outcome, actor=principal.actor,
                  project_id=project_id, target_type=target_type, target_id=target_id)
    session.commit()
