"""Admin web sessions: a random cookie, stored only as its SHA-256, bound to an account and a CSRF token.

:meth:`AdminSessions.create` is called after a successful login; :meth:`AdminSessions.resolve` turns the
cookie of every later panel request into a :class:`~headend.admin.principal.Principal` (or None).

Invariants:

* the cookie value (32 random bytes, URL-safe base64) is never stored: the database holds its SHA-256 hex
  digest, and lookups go by that digest, so neither a stolen database nor a timing difference in the
  index lookup reveals a usable cookie;
* a session ends after ``admin.session_hours`` whatever happens, after ``admin.session_idle_minutes``
  without use, when its account is disabled or deleted (ON DELETE CASCADE), and when it is ended
  explicitly (logout, password change);
* the principal carries the account's *current* role, so a role change applies to open sessions at once;
* ``last_used_at`` is written at most once a minute per session (every panel request resolves the cookie).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, or_, select, update

from headend.admin.principal import Principal, Role
from headend.admin.records import AdminAccount
from headend.catalog.admin_models import IP_MAX, SESSION_USER_AGENT_MAX, AdminRow, AdminSessionRow
from headend.catalog.db import Database
from headend.catalog.models import utcnow
from headend.settings import AdminSettings

logger = logging.getLogger(__name__)

COOKIE_NAME: Final = "headend_admin"
COOKIE_BYTES: Final = 32
COOKIE_VALUE_MAX: Final = 100  # longer values cannot be ours: refused without a query
TOUCH_INTERVAL: Final = timedelta(minutes=1)


def token_digest(value: str) -> str:
    """SHA-256 hex digest of a cookie or token value (what the database stores and looks up)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class AdminSessions:
    """Create, resolve and end admin web sessions (see the module docstring for the contract)."""

    def __init__(self, db: Database, settings: AdminSettings, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._lifetime = timedelta(hours=settings.session_hours)
        self._idle = timedelta(minutes=settings.session_idle_minutes)
        self._now = now

    async def create(self, account: AdminAccount, *, ip: str, user_agent: str) -> tuple[str, Principal]:
        """A new session for ``account``: the cookie value (shown to the browser only) and its principal.

        Sessions past their lifetime or idle timeout are purged on the way."""
        cookie = secrets.token_urlsafe(COOKIE_BYTES)
        now = self._now()
        row = AdminSessionRow(
            id=secrets.token_urlsafe(16), token_hash=token_digest(cookie), admin_id=account.id,
            csrf_token=secrets.token_urlsafe(32), created_at=now, last_used_at=now, expires_at=now + self._lifetime,
            ip=_clip(ip, IP_MAX), user_agent=_clip(user_agent, SESSION_USER_AGENT_MAX),
        )  # fmt: skip
        async with self._db.write() as session:
            stale = or_(AdminSessionRow.expires_at <= now, AdminSessionRow.last_used_at <= now - self._idle)
            await session.execute(delete(AdminSessionRow).where(stale))
            session.add(row)
        logger.info("admin %s signed in (session %s)", account.username, row.id[:8])
        principal = Principal(
            account_id=account.id, username=account.username, role=account.role, via="session",
            session_id=row.id, csrf_token=row.csrf_token,
        )  # fmt: skip
        return cookie, principal

    async def resolve(self, cookie_value: str, *, activity: bool = True) -> Principal | None:
        """The principal of a live session, or None (unknown, expired, idle, account disabled or deleted).

        ``activity=False`` for requests a page makes by itself (the dashboard's polling, a preview player's
        playlist refreshes): they are answered but do not keep an unattended session from going idle."""
        if not isinstance(cookie_value, str) or not 0 < len(cookie_value) <= COOKIE_VALUE_MAX:
            return None
        stmt = (
            select(AdminSessionRow, AdminRow)
            .join(AdminRow, AdminRow.id == AdminSessionRow.admin_id)
            .where(AdminSessionRow.token_hash == token_digest(cookie_value))
        )
        async with self._db.session() as session:
            found = (await session.execute(stmt)).first()
        if found is None:
            return None
        row, account = found
        now = self._now()
        if now >= row.expires_at or now - row.last_used_at >= self._idle:
            await self.end(row.id)
            return None
        if not account.enabled:
            return None
        if activity and now - row.last_used_at >= TOUCH_INTERVAL:
            async with self._db.write() as session:
                await session.execute(
                    update(AdminSessionRow).where(AdminSessionRow.id == row.id).values(last_used_at=now)
                )
        return Principal(
            account_id=account.id, username=account.username, role=Role(account.role), via="session",
            session_id=row.id, csrf_token=row.csrf_token,
        )  # fmt: skip

    async def end(self, session_id: str) -> None:
        """End one session (logout). Unknown ids are ignored."""
        async with self._db.write() as session:
            await session.execute(delete(AdminSessionRow).where(AdminSessionRow.id == session_id))

    async def end_for_account(self, account_id: int) -> None:
        """End every session of an account (password changed, account disabled)."""
        async with self._db.write() as session:
            await session.execute(delete(AdminSessionRow).where(AdminSessionRow.admin_id == account_id))


def _clip(value: object, limit: int) -> str:
    text = value if isinstance(value, str) else ""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


__all__ = ["COOKIE_NAME", "AdminSessions", "token_digest"]
