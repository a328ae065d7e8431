"""REST: the audit log (admins only), newest first, filtered by actor, object type or action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select

from headend.admin.records import AuditEntry
from headend.catalog.admin_models import AUDIT_ACTION_MAX, AUDIT_OBJECT_TYPE_MAX, AuditRow
from headend.http.policy import Policy
from headend.rest.framework import ID_MAX, ApiRoute, Call, Out, Page, PageQuery, route
from headend.services import Services


class AuditOut(Out):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str


class AuditPage(Page[AuditOut]):
    pass


class AuditQuery(PageQuery):
    actor_id: int | None = Field(None, ge=1, le=ID_MAX)
    object_type: str | None = Field(None, max_length=AUDIT_OBJECT_TYPE_MAX)
    action: str | None = Field(None, max_length=AUDIT_ACTION_MAX)


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        id=entry.id, at=entry.at, actor_id=entry.actor_id, actor=entry.actor, action=entry.action,
        object_type=entry.object_type, object_id=entry.object_id, before=entry.before, after=entry.after,
        ip=entry.ip,
    )  # fmt: skip


async def _count(svc: Services, query: AuditQuery) -> int:
    """How many entries match (AuditLog lists pages only; this one count goes to the ORM model)."""
    stmt = select(func.count()).select_from(AuditRow)
    for column in ("actor_id", "object_type", "action"):
        value = getattr(query, column)
        if value is not None:
            stmt = stmt.where(getattr(AuditRow, column) == value)
    async with svc.db.session() as session:
        return int((await session.execute(stmt)).scalar_one())


async def list_audit(call: Call) -> AuditPage:
    query = call.query(AuditQuery)
    entries = await call.svc.audit.list(
        actor_id=query.actor_id, object_type=query.object_type, action=query.action, limit=query.limit,
        offset=query.offset,
    )  # fmt: skip
    total = await _count(call.svc, query)
    return AuditPage(items=[audit_out(e) for e in entries], total=total, limit=query.limit, offset=query.offset)


def routes() -> list[ApiRoute]:
    return [
        route("GET", "/api/v1/audit", list_audit, policy=Policy.ADMIN, tag="audit",
              summary="Read the audit log, newest first", query=AuditQuery, response=AuditPage),
    ]  # fmt: skip


__all__ = ["routes"]
