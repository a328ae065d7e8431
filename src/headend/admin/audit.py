"""The audit log: who changed what, when, from where, with the object before and after.

Every change made through the control plane or the CLI is recorded with :meth:`AuditLog.record`. The
``before``/``after`` mappings are stored as JSON text: datetimes in ISO 8601, enums by value, tuples and
sets as lists, dataclasses as objects, anything else as its ``str``.

Invariants:

* secrets never reach the log: any key whose name contains ``password``, ``token``, ``secret`` or ``hash``
  (case-insensitive, at any depth) has its value replaced by ``***``, and strings are passed through
  :func:`headend.redact.redact` (credentials in URLs);
* entries outlive their actors: ``actor`` keeps the username as it was, and ``actor_id`` is not a foreign key;
* an entry written by the CLI (no principal) has ``actor_id`` None and actor ``cli``;
* a mapping is stored whole up to :data:`VALUE_MAX` bytes of JSON; a larger one is replaced by a note.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final

import orjson
from sqlalchemy import select

from headend.admin.principal import Principal
from headend.admin.records import AuditEntry
from headend.catalog.admin_models import (
    AUDIT_ACTION_MAX,
    AUDIT_ACTOR_MAX,
    AUDIT_OBJECT_ID_MAX,
    AUDIT_OBJECT_TYPE_MAX,
    IP_MAX,
    AuditRow,
)
from headend.catalog.db import Database
from headend.catalog.models import utcnow
from headend.catalog.records import check_int
from headend.catalog.subscriber_rows import ID_MAX
from headend.redact import MASK, redact

SECRET_KEY_PARTS: Final = ("password", "token", "secret", "hash")
VALUE_MAX: Final = 64 * 1024
LIST_LIMIT_MAX: Final = 10_000
CLI_ACTOR: Final = "cli"
_MAX_DEPTH: Final = 20


def is_secret_key(key: object) -> bool:
    """True for a mapping key whose value must never be logged."""
    lowered = str(key).lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def scrub(value: object, depth: int = 0) -> object:
    """``value`` as plain JSON-able data with secrets masked (see the module docstring)."""
    if depth > _MAX_DEPTH:
        return "…"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): MASK if is_secret_key(k) else scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [scrub(item, depth + 1) for item in items]
    if isinstance(value, enum.Enum):
        return scrub(value.value, depth + 1)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _encode(value: Mapping[str, object] | None) -> str | None:
    if value is None:
        return None
    text = orjson.dumps(scrub(value)).decode()
    if len(text) > VALUE_MAX:
        return orjson.dumps({"_truncated": f"{len(text)} bytes of JSON, not kept"}).decode()
    return text


def _decode(text: str | None) -> dict[str, object] | None:
    if text is None:
        return None
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def _clip(value: object, limit: int) -> str:
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


class AuditLog:
    """Append to and read the audit log (see the module docstring for the contract)."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._now = now

    async def record(
        self,
        actor: Principal | None,
        action: str,
        object_type: str,
        object_id: object = None,
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
        ip: str = "",
        actor_name: str = CLI_ACTOR,
    ) -> None:
        """Append one entry. ``actor`` None: a change made outside the control plane, named ``actor_name``
        (``cli`` by default; the server's own actions use ``system``)."""
        if actor is None:
            actor_id, name = None, actor_name
        else:
            actor_id, name = (actor.account_id or None), actor.username
        row = AuditRow(
            at=self._now(), actor_id=actor_id, actor=_clip(name, AUDIT_ACTOR_MAX),
            action=_clip(action, AUDIT_ACTION_MAX), object_type=_clip(object_type, AUDIT_OBJECT_TYPE_MAX),
            object_id=_clip(object_id, AUDIT_OBJECT_ID_MAX), before=_encode(before), after=_encode(after),
            ip=_clip(ip, IP_MAX),
        )  # fmt: skip
        async with self._db.write() as session:
            session.add(row)

    async def list(
        self,
        *,
        actor_id: int | None = None,
        object_type: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
        actor: str | None = None,
    ) -> list[AuditEntry]:
        """Entries, newest first, optionally of one actor (by account id, or by name as recorded), one object
        type or one action."""
        stmt = select(AuditRow)
        filters: dict[str, Any] = {"actor_id": actor_id, "object_type": object_type, "action": action, "actor": actor}
        for column, value in filters.items():
            if value is not None:
                stmt = stmt.where(getattr(AuditRow, column) == value)
        stmt = (
            stmt.order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(check_int(limit, "limit", low=1, high=LIST_LIMIT_MAX))
            .offset(check_int(offset, "offset", low=0, high=ID_MAX))
        )
        async with self._db.session() as session:
            rows = (await session.scalars(stmt)).all()
        return [_entry(row) for row in rows]


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id, at=row.at, actor_id=row.actor_id, actor=row.actor, action=row.action, object_type=row.object_type,
        object_id=row.object_id, before=_decode(row.before), after=_decode(row.after), ip=row.ip,
    )  # fmt: skip


__all__ = ["CLI_ACTOR", "AuditLog", "is_secret_key", "scrub"]
