"""API tokens: long-lived bearer credentials for the REST API, each acting as one admin account.

A token is ``hdk_`` followed by 40 URL-safe random characters (240 bits). It is shown once, by
:meth:`ApiTokens.create`; the database keeps its SHA-256 hex digest (looked up by digest: nothing about a
token leaks through timing) and its first 8 characters, so an operator can tell tokens apart in a list.

Invariants: a token resolves only while it exists and its account is enabled (revoking deletes it;
deleting the account deletes its tokens); the principal carries the account's current role;
``last_used_at`` is written at most once a minute per token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select, update

from headend.admin.principal import Principal, Role
from headend.admin.records import ApiTokenRecord
from headend.admin.sessions import token_digest
from headend.catalog.admin_models import TOKEN_NAME_MAX, AdminRow, ApiTokenRow
from headend.catalog.db import Database
from headend.catalog.models import utcnow
from headend.catalog.records import check_text
from headend.catalog.subscriber_rows import get_row, lookup_id
from headend.errors import NotFound

logger = logging.getLogger(__name__)

TOKEN_PREFIX: Final = "hdk_"
TOKEN_RANDOM_BYTES: Final = 30  # 40 URL-safe characters
TOKEN_LENGTH: Final = len(TOKEN_PREFIX) + 40
DISPLAY_PREFIX_LEN: Final = 8
TOUCH_INTERVAL: Final = timedelta(minutes=1)


class ApiTokens:
    """Create, resolve, list and revoke API tokens (see the module docstring for the contract)."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._now = now

    async def create(self, account_id: int, name: str) -> tuple[ApiTokenRecord, str]:
        """A new token for the account: its record and the token itself, the only time it is shown."""
        name = check_text(name, "name", TOKEN_NAME_MAX, required=True)
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)
        async with self._db.write() as session:
            account = await get_row(session, AdminRow, account_id, "admin account")
            row = ApiTokenRow(
                admin_id=account.id, name=name, token_hash=token_digest(token),
                prefix=token[:DISPLAY_PREFIX_LEN], created_at=self._now(),
            )  # fmt: skip
            session.add(row)
            await session.flush()
            record = _record(row)
        logger.info("API token %s (%s) created for admin %s", record.id, record.prefix, account.username)
        return record, token

    async def resolve(self, token: str) -> Principal | None:
        """The principal the token acts as, or None (malformed, unknown, revoked, account disabled)."""
        if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
            return None
        stmt = (
            select(ApiTokenRow, AdminRow)
            .join(AdminRow, AdminRow.id == ApiTokenRow.admin_id)
            .where(ApiTokenRow.token_hash == token_digest(token))
        )
        async with self._db.session() as session:
            found = (await session.execute(stmt)).first()
        if found is None:
            return None
        row, account = found
        if not account.enabled:
            return None
        now = self._now()
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
            async with self._db.write() as session:
                await session.execute(update(ApiTokenRow).where(ApiTokenRow.id == row.id).values(last_used_at=now))
        return Principal(account_id=account.id, username=account.username, role=Role(account.role), via="token")

    async def list(self, account_id: int | None = None) -> list[ApiTokenRecord]:
        """Tokens (of one account, or all), oldest first."""
        stmt = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if account_id is not None:
            stmt = stmt.where(ApiTokenRow.admin_id == lookup_id(account_id, "admin account"))
        async with self._db.session() as session:
            return [_record(row) for row in (await session.scalars(stmt)).all()]

    async def get(self, token_id: int) -> ApiTokenRecord:
        async with self._db.session() as session:
            return _record(await get_row(session, ApiTokenRow, token_id, "API token"))

    async def revoke(self, token_id: int) -> None:
        """Delete a token: it stops resolving at once. NotFound if there is no such token."""
        async with self._db.write() as session:
            row = await session.get(ApiTokenRow, lookup_id(token_id, "API token"))
            if row is None:
                raise NotFound(f"API token {token_id} does not exist")
            await session.delete(row)
        logger.info("API token %s (%s) revoked", token_id, row.prefix)


def _record(row: ApiTokenRow) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=row.id, admin_id=row.admin_id, name=row.name, prefix=row.prefix, created_at=row.created_at,
        last_used_at=row.last_used_at,
    )  # fmt: skip


__all__ = ["TOKEN_PREFIX", "ApiTokens"]
