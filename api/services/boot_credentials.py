"""One-time boot credentials (the agent-token pattern Ironic adopted for the same problem).

The callbacks that move the engine — an installer's or deploy agent's result,
a wipe's completion, the rescue environment coming up, the installed system's
phone-home — need a credential that belongs to one step of one operation:

- ``agent``: minted when the boot the engine started first asks for its iPXE
  script, and put in that script only (a second request for the same step gets
  no credential and revokes the first: see :func:`api.services.callbacks.boot_script`
  — unless it is the machine asking again, from the same address and MAC, before
  anyone used the first: then the first is superseded (:func:`supersede`), and
  its use afterwards is the contest);
- ``phone_home``: minted when that agent first reads its instructions (deploy
  instructions or install config), which hand it on; the agent writes it to the
  disk for the installed system, so it is never served after the install.

A credential is valid while its operation has not passed its step; it reports
a result once (:func:`consume`). Tokens are 256-bit random values stored as
SHA-256 hashes; a phone-home token is also kept encrypted, to be handed again
to the same agent if it asks twice within its step.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.core.errors import Conflict
from api.core.secrets import SecretBox, hash_token, new_token
from api.models import BootCredential, Device, Machine, as_utc, utcnow

AGENT, PHONE_HOME = "agent", "phone_home"
MAX_TOKEN = 256
# the problem of a superseded credential presented while its step runs: its holder is not the machine
SUPERSEDED = "the machine asked for its boot script again and was given a new one"


def _op(m: Machine) -> tuple[str | None, int, list[str]]:
    args = m.operation_args or {}
    return (args.get("op_id") if m.operation else None), int(args.get("pos", 0)), list(args.get("steps") or [])


@dataclasses.dataclass
class Presented:
    """A boot credential someone presented: its row, its machine and device, and
    ``problem`` — why it no longer counts ("" while it does)."""

    credential: BootCredential
    machine: Machine
    device: Device | None
    problem: str

    @property
    def step(self) -> str:
        return self.credential.step


def issued(session: Session, m: Machine, purpose: str, step_pos: int) -> BootCredential | None:
    """The newest credential of ``purpose`` minted for step ``step_pos`` of the running operation."""
    op_id, _, _ = _op(m)
    return session.scalar(select(BootCredential).where(
        BootCredential.machine_id == m.id, BootCredential.op_id == (op_id or ""),
        BootCredential.step_pos == step_pos, BootCredential.purpose == purpose)
        .order_by(BootCredential.generation.desc()).limit(1))


def mint(session: Session, m: Machine, purpose: str, step_pos: int, source: str,
         box: SecretBox | None = None, generation: int = 0, asked_at: dt.datetime | None = None) -> str:
    """A new credential for step ``step_pos`` of the running operation; returns the token
    (the caller commits). ``box`` keeps an encrypted copy (phone-home credentials).

    Raises:
        sqlalchemy.exc.IntegrityError: one was minted for that step (and generation) already (at flush).
    """
    op_id, _, steps = _op(m)
    token = new_token()
    session.add(BootCredential(machine_id=m.id, purpose=purpose, token_hash=hash_token(token),
                               token_enc=box.encrypt(token) if box else "", op_id=op_id or "",
                               step_pos=step_pos, step=steps[step_pos], issued_to=source[:64],
                               generation=generation, asked_at=asked_at))
    session.flush()
    return token


def asked_again(cred: BootCredential, source: str) -> bool:
    """Whether a new ask for ``cred``'s boot script from ``source`` is its machine asking again: the
    same address and MAC (``issued_to``), and nobody has used ``cred`` for anything yet (a boot
    whose answer was lost: its client timed out and retried, as iPXE and the lab's hosts do)."""
    return cred.revoked_at is None and cred.presented_at is None and cred.issued_to == source[:64]


def overtaken(cred: BootCredential, source: str, asked_at: dt.datetime | None) -> bool:
    """Whether an ask from ``source`` that arrived at ``asked_at`` is older than the ask that got
    ``cred`` from the same source: the request its client gave up on, answered after its retry (see
    :func:`api.services.callbacks.boot_script`). Its client is gone; it is not a second asker."""
    return (asked_at is not None and cred.asked_at is not None and cred.issued_to == source[:64]
            and as_utc(cred.asked_at) > as_utc(asked_at))


def supersede(session: Session, m: Machine, cred: BootCredential, source: str,
              asked_at: dt.datetime | None = None) -> str:
    """Replace the unused ``cred`` with a new credential for its step (see :func:`asked_again`);
    returns the new token (the caller commits). ``cred`` counts for nothing from now on, and
    whoever presents it later holds it beside the machine: :func:`find` says so.

    Raises:
        sqlalchemy.exc.IntegrityError: another request replaced it at the same moment (at flush).
    """
    cred.revoked_at = cred.superseded_at = utcnow()
    return mint(session, m, cred.purpose, cred.step_pos, source, generation=cred.generation + 1, asked_at=asked_at)


# every report of a boot runs these (find): built once, their values bound. The machine's row lock (found through
# the credential: its machine never changes), then the credential, read after the lock: a revocation being
# committed (a contested boot, which takes the same lock first) is seen, never overwritten by the report
_NAMED = select(BootCredential).where(BootCredential.token_hash == bindparam("token_hash"))
_MACHINE_OF_NAMED = select(Machine).where(
    Machine.id == _NAMED.with_only_columns(BootCredential.machine_id).scalar_subquery()).with_for_update() \
    .execution_options(populate_existing=True)
_NAMED_AGAIN = _NAMED.execution_options(populate_existing=True)
_DEVICE_OF = select(Device).where(Device.machine_id == bindparam("machine_id"))


def find(session: Session, token: str) -> Presented | None:
    """The credential ``token`` names, valid or not; None when it names none."""
    if not token or len(token) > MAX_TOKEN:
        return None
    named = {"token_hash": hash_token(token)}
    m = session.scalar(_MACHINE_OF_NAMED, named)
    if m is None:
        return None
    cred = session.scalar(_NAMED_AGAIN, named)
    if cred is None:  # deleted with its machine's operation in between
        return None
    op_id, pos, _ = _op(m)
    if cred.superseded_at is not None and op_id == cred.op_id and pos <= cred.step_pos:
        problem = SUPERSEDED
    elif cred.revoked_at is not None:
        problem = "it was revoked"
    elif op_id != cred.op_id:
        problem = "its operation is over"
    elif pos > cred.step_pos:
        problem = f"its step ({cred.step}) is over"
    else:
        problem = ""
    return Presented(cred, m, device_of(session, m), problem)


def device_of(session: Session, m: Machine) -> Device | None:
    """The device on ``m``, if any, read now (not ``m.device``, which a session may hold from before)."""
    return session.scalar(_DEVICE_OF, {"machine_id": m.id})


def consume(presented: Presented) -> None:
    """Spend the credential on its one result report (the caller commits).

    Raises:
        Conflict: it has reported its result already.
    """
    if presented.credential.used_at is not None:
        raise Conflict(f"this boot credential has reported the result of step {presented.step} already")
    presented.credential.used_at = utcnow()


def phone_home_token(session: Session, box: SecretBox, agent: Presented, source: str) -> str | None:
    """The phone-home credential the agent ``agent`` hands to the installed system: the first
    ``wait_phone_home`` after the agent's step, minted on the first ask, the same one after.
    None when the operation waits for no phone-home after the agent."""
    _, _, steps = _op(agent.machine)
    later = [i for i, name in enumerate(steps) if i > agent.credential.step_pos and name == "wait_phone_home"]
    if not later:
        return None
    existing = issued(session, agent.machine, PHONE_HOME, later[0])
    if existing is not None:
        return box.decrypt(existing.token_enc) if existing.revoked_at is None else None
    return mint(session, agent.machine, PHONE_HOME, later[0], source, box)


def revoke_all(session: Session, m: Machine) -> None:
    """Revoke every credential of the running operation (the caller commits)."""
    op_id, _, _ = _op(m)
    now = utcnow()
    for cred in session.scalars(select(BootCredential).where(
            BootCredential.machine_id == m.id, BootCredential.op_id == (op_id or ""),
            BootCredential.revoked_at.is_(None))):
        cred.revoked_at = now
