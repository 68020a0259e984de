"""Rotation of the key that encrypts secrets at rest (``INGOT_SECRET_KEY``).

Every column whose name ends in ``_enc`` holds a Fernet token (BMC
passwords, devices' root passwords and metadata tokens, and whatever is
added later under the same naming rule). :func:`rotate_secrets` decrypts
each with the old key(s) and re-encrypts it with the new one, in one
transaction: either every secret is rotated or none is.

Procedure (``ingot admin secrets rotate``): stop the API and workers, run the
rotation with the new key, start them again with ``INGOT_SECRET_KEY`` set to
the new key. API tokens are hashes, not encrypted, and are not affected.
"""
from __future__ import annotations

import dataclasses

from sqlalchemy import Table, select, update

from api.core.db import Database
from api.core.secrets import SecretBox
from api.models import Base  # the package registers every model on Base.metadata

ENCRYPTED_SUFFIX = "_enc"


@dataclasses.dataclass
class RotationReport:
    """How many secrets were re-encrypted, per ``table.column``."""

    rotated: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def encrypted_columns() -> list[tuple[Table, str]]:
    """Every (table, column) that stores a Fernet token."""
    out = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith(ENCRYPTED_SUFFIX):
                out.append((table, column.name))
    return out


def rotate_secrets(database: Database, new_key: str, old_keys: list[str] | tuple[str, ...],
                   *, dry_run: bool = False) -> RotationReport:
    """Re-encrypt every secret at rest with ``new_key``.

    ``old_keys`` are the keys the secrets may currently be encrypted with
    (normally the one in ``INGOT_SECRET_KEY`` now); a secret already under
    ``new_key`` is re-encrypted too, so running it twice is harmless.

    Raises:
        ValueError: an empty key, or a secret that none of the keys decrypts
            (nothing is changed then).
    """
    if not new_key:
        raise ValueError("the new secret key must not be empty")
    keys = [k for k in old_keys if k]
    if not keys:
        raise ValueError("give the current secret key (the one the secrets are encrypted with)")
    box = SecretBox(new_key, *keys)
    rotated: dict[str, int] = {}
    undecryptable: list[str] = []
    with database.transaction() as s:
        for table, name in encrypted_columns():
            column = table.c[name]
            pk = list(table.primary_key.columns)
            rows = s.execute(select(*pk, column).where(column.is_not(None), column != "")).all()
            count = 0
            for row in rows:
                old = row[-1]
                try:
                    new = box.rotate(old)
                except Exception:
                    undecryptable.append(f"{table.name}.{name} {row[0]}")
                    continue
                cond = [c == row[i] for i, c in enumerate(pk)]
                s.execute(update(table).where(*cond).values({name: new}))
                count += 1
            rotated[f"{table.name}.{name}"] = count
        if undecryptable:
            raise ValueError(f"{len(undecryptable)} secret(s) cannot be decrypted with the given key(s), "
                             f"nothing was changed: " + ", ".join(undecryptable[:5]))
        if dry_run:
            s.rollback()
    return RotationReport(rotated=rotated)
