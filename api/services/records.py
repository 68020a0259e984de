"""Rows read for a JSON with SQLAlchemy Core into plain records, not the ORM's models.

The ORM's loading was most of a read's CPU (its identity map, loader strategies and cache keys:
bench/RESULTS.md, "Where the floor is"). A :class:`Shape` names the models (or only some of their columns)
one SELECT reads, and cuts each of its rows back into a :class:`Record` per model, carrying the models'
attribute names, so the schemas read records as they read models. Nothing read so is written back: writes
load their rows through the ORM. Used by :mod:`api.services.device_reads` and :mod:`api.services.machine_reads`.
"""
from __future__ import annotations

from sqlalchemy import bindparam, inspect
from sqlalchemy.orm import Session

# the ids a load reads, bound at execution (expanding: any number of them); the readers' statements share it
IDS = bindparam("ids", expanding=True)


class Record:
    """A row's columns as attributes named as its model's; the loader sets the relations the JSON shows."""

    def __repr__(self) -> str:
        return f"<Record {getattr(self, 'id', '?')}>"


class Shape:
    """Several models' columns in one SELECT, and how to cut its rows back into a :class:`Record` per model."""

    def __init__(self, **parts):
        """``parts``: a name for each model (or alias of one) in the SELECT, in its order; ``(model, keys)``
        for only those of its columns (a device's machine: its id only, the device's JSON shows no more of it)."""
        self.columns, self._layout = [], []
        for name, part in parts.items():
            source, keys = part if isinstance(part, tuple) else (part, None)
            keys = keys or [a.key for a in inspect(source).mapper.column_attrs]
            self._layout.append((name, keys, len(self.columns), len(self.columns) + keys.index("id")))
            self.columns += [getattr(source, k) for k in keys]

    def cut(self, row, seen: dict) -> dict:
        """The row's records by part name (None for an outer join's missing side); a row met before in this
        load (``seen``) is the same record: a metro or a plan is made once however many devices show it."""
        out = {}
        for name, keys, start, id_at in self._layout:
            ident = row[id_at]
            if ident is None:
                out[name] = None
                continue
            rec = seen.get((name, ident))
            if rec is None:
                rec = seen[(name, ident)] = Record()
                rec.__dict__.update(zip(keys, row[start:start + len(keys)]))
            out[name] = rec
        return out


def rows(session: Session, stmt, **params):
    """``stmt``'s rows, run by Core on the session's connection after what the session holds is flushed.

    The statements are built once, with their parameters bound at execution: SQLAlchemy then computes a
    statement's cache key once, not on every request (a third of a millisecond for the devices' SELECT).
    """
    session.flush()
    return session.connection().execute(stmt, params)
