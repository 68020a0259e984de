"""Bulk enrolment from an uploaded inventory file (the file ``ingot admin machines enroll`` reads)."""
from __future__ import annotations

import dataclasses
import os
import tempfile

from sqlalchemy.orm import Session

from api.core import events
from api.core.config import Settings
from api.core.db import Database
from api.core.errors import Invalid
from api.core.secrets import SecretBox
from api.services.enrollment import enroll_from_file


def enroll_upload(session: Session, db: Database, box: SecretBox, filename: str, content: bytes, actor: str, *,
                  settings: Settings, check: bool = True, timeout: float = 10.0) -> dict:
    """Enroll every machine of an uploaded YAML or JSON inventory (JSON when the name ends in
    ``.json``); each machine in its own transaction, as the CLI does, then one audit event
    for the upload. Returns the summary: counts and one outcome per machine (``enrolled``,
    ``exists`` or ``failed`` with the reason).

    Raises:
        Invalid: the file cannot be read or has the wrong shape.
    """
    session.rollback()  # end the request's transaction: each machine commits on its own
    suffix = ".json" if (filename or "").lower().endswith(".json") else ".yaml"
    fd, path = tempfile.mkstemp(prefix="ingot-enroll-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        try:
            summary = enroll_from_file(path, db, box, timeout=timeout, check=check, actor=actor, settings=settings)
        except ValueError as exc:
            raise Invalid("file: " + str(exc).replace(path, filename or "the file")) from None
    finally:
        os.unlink(path)
    events.record(session, "machine.bulk_enroll", f"{filename or 'upload'}: {summary.lines()[0]}", actor=actor,
                  state="warning" if summary.failed else "info", outcome="failed" if summary.failed else "ok",
                  target_type="machine")
    session.commit()
    return {"outcomes": [dataclasses.asdict(o) for o in summary.outcomes], "enrolled": len(summary.enrolled),
            "existing": len(summary.existing), "failed": len(summary.failed), "seconds": round(summary.seconds, 3),
            "summary": summary.lines()}
