"""Admin accounts: create, authenticate, list, change, delete; reseller credits and sellable packages.

:class:`AdminAccounts` is the only way the rest of Headend reads or changes the ``admins`` table. Every method
opens its own transaction and returns frozen :class:`~headend.admin.records.AdminAccount` records (never a
password or hash). Errors: ValidationError for bad input (before anything is written), NotFound for a missing
account, Conflict for a duplicate username or a change that would leave no enabled admin, AuthFailed (one
message for every reason) for a failed login.

Invariants:

* passwords are stored only as argon2id hashes; a password is returned in clear once, when it is set;
* there is always at least one enabled account with role ``admin`` once one exists: disabling, demoting or
  deleting the last one is refused. The check locks every enabled admin row (``FOR UPDATE`` on PostgreSQL;
  SQLite has a single writer), so two concurrent changes cannot both pass it;
* credits never go below zero, also under concurrent changes (a conditional ``UPDATE`` and a CHECK);
* an unknown username costs the same argon2 work as a wrong password, and a disabled account is refused
  only after its password was checked, so timing tells nothing about which accounts exist.

Hashing runs in a worker thread, at most :data:`HASHING_CONCURRENCY` at a time (each takes 19 MiB).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headend.admin.passwords import ADMIN_PASSWORD_MAX, AdminPasswordHasher, generate_admin_password
from headend.admin.principal import Role
from headend.admin.records import (
    CREDITS_MAX,
    AdminAccount,
    AdminInput,
    check_admin_password,
    check_credits,
    check_notes,
    check_role,
)
from headend.catalog.admin_models import ADMIN_USERNAME_MAX, AdminResellerPackageRow, AdminRow
from headend.catalog.db import Database
from headend.catalog.models import utcnow
from headend.catalog.records import SEARCH_MAX, check_bool, check_int, check_text
from headend.catalog.subscriber_models import PackageRow
from headend.catalog.subscriber_records import check_ids
from headend.catalog.subscriber_rows import ID_MAX, check_references, get_row, linked_ids, replace_links
from headend.errors import AuthFailed, Conflict, NotFound, ValidationError

logger = logging.getLogger(__name__)

HASHING_CONCURRENCY: Final = 2
LIST_LIMIT_MAX: Final = 10_000
LOGIN_FAILED: Final = "wrong username or password"
LAST_ADMIN: Final = "this would leave no enabled admin account: enable or create another admin first"


class AdminAccounts:
    """Typed access to admin accounts (see the module docstring for the contract)."""

    def __init__(self, db: Database, hasher: AdminPasswordHasher, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._hasher = hasher
        self._now = now
        self._hashing = asyncio.Semaphore(HASHING_CONCURRENCY)

    # -- hashing off the event loop -----------------------------------------------------------------------

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        async with self._hashing:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)

    async def _dummy_verify(self, password: str) -> None:
        async with self._hashing:
            await asyncio.to_thread(self._hasher.dummy_verify, password)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._db.write() as session:
                yield session
        except IntegrityError as exc:
            raise Conflict(_constraint_message(exc)) from None

    # -- read ---------------------------------------------------------------------------------------------

    async def count(self, *, enabled_admins_only: bool = False) -> int:
        """How many accounts exist; with ``enabled_admins_only``, how many enabled accounts have role admin."""
        stmt = select(func.count()).select_from(AdminRow)
        if enabled_admins_only:
            stmt = stmt.where(AdminRow.role == Role.ADMIN.value, AdminRow.enabled)
        async with self._db.session() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def get(self, account_id: int) -> AdminAccount:
        async with self._db.session() as session:
            return (await _records(session, [await get_row(session, AdminRow, account_id, "admin account")]))[0]

    async def get_by_username(self, username: str) -> AdminAccount:
        async with self._db.session() as session:
            row = await _find(session, username)
            if row is None:
                raise NotFound(f"no admin account named {str(username)[:80]!r}")
            return (await _records(session, [row]))[0]

    async def list(
        self, *, role: Role | None = None, q: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AdminAccount]:
        """Accounts by username; ``q``: case-insensitive substring of the username or the notes."""
        stmt = select(AdminRow)
        if role is not None:
            stmt = stmt.where(AdminRow.role == check_role(role).value)
        if q:
            text = check_text(q, "q", SEARCH_MAX)
            stmt = stmt.where(
                or_(AdminRow.username.icontains(text, autoescape=True), AdminRow.notes.icontains(text, autoescape=True))
            )
        stmt = (
            stmt.order_by(AdminRow.username, AdminRow.id)
            .limit(check_int(limit, "limit", low=1, high=LIST_LIMIT_MAX))
            .offset(check_int(offset, "offset", low=0, high=ID_MAX))
        )
        async with self._db.session() as session:
            return await _records(session, (await session.scalars(stmt)).all())

    # -- create and authenticate --------------------------------------------------------------------------

    async def create(self, data: AdminInput) -> tuple[AdminAccount, str]:
        """Create an account; returns it with its password in clear (generated when not given), the only time
        it is shown."""
        password = data.password if data.password is not None else generate_admin_password()
        password_hash = await self._hash(password)
        async with self._write() as session:
            if await _find(session, data.username) is not None:
                raise Conflict(f"an admin account named {data.username!r} already exists")
            await check_references(session, PackageRow, data.packages, "packages", "package")
            row = AdminRow(
                username=data.username, password_hash=password_hash, role=data.role.value, enabled=data.enabled,
                credits=data.credits, notes=data.notes, created_at=self._now(),
            )  # fmt: skip
            session.add(row)
            await session.flush()
            await replace_links(session, AdminResellerPackageRow, ("admin_id", row.id), "package_id", data.packages)
            account = (await _records(session, [row]))[0]
        logger.info("admin account %s (%s) created", account.username, account.role.value)
        return account, password

    async def authenticate(self, username: str, password: str) -> AdminAccount:
        """The account, if ``password`` is right and it is enabled; AuthFailed (one message) otherwise."""
        password = password[: ADMIN_PASSWORD_MAX + 1]  # bounds the work; longer ones cannot match anyway
        async with self._db.session() as session:
            row = await _find(session, username)
        if row is None:
            await self._dummy_verify(password)
            raise AuthFailed(LOGIN_FAILED)
        if not await self._verify(row.password_hash, password) or not row.enabled:
            raise AuthFailed(LOGIN_FAILED)
        values: dict[str, object] = {"last_login_at": self._now()}
        if self._hasher.needs_rehash(row.password_hash):
            values["password_hash"] = await self._hash(password)
        async with self._write() as session:
            await session.execute(update(AdminRow).where(AdminRow.id == row.id).values(**values))
            return (await _records(session, [await get_row(session, AdminRow, row.id, "admin account")]))[0]

    # -- change -------------------------------------------------------------------------------------------

    async def update(
        self,
        account_id: int,
        *,
        role: Role | None = None,
        enabled: bool | None = None,
        credits: int | None = None,
        packages: Sequence[int] | None = None,
        notes: str | None = None,
    ) -> AdminAccount:
        """Change the given fields (None: left as is). Conflict when it would leave no enabled admin."""
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = check_role(role).value
        if enabled is not None:
            values["enabled"] = check_bool(enabled, "enabled")
        if credits is not None:
            values["credits"] = check_credits(credits)
        if notes is not None:
            values["notes"] = check_notes(notes)
        package_ids = None if packages is None else check_ids(packages, "packages")
        async with self._write() as session:
            row = await get_row(session, AdminRow, account_id, "admin account")
            await _keep_an_admin(
                session, row, role=str(values.get("role", row.role)), enabled=bool(values.get("enabled", row.enabled))
            )
            for name, value in values.items():
                setattr(row, name, value)
            if package_ids is not None:
                await check_references(session, PackageRow, package_ids, "packages", "package")
                await replace_links(session, AdminResellerPackageRow, ("admin_id", row.id), "package_id", package_ids)
            await session.flush()
            return (await _records(session, [row]))[0]

    async def set_password(self, account_id: int, password: str | None = None) -> str:
        """Give the account a new password (generated unless given) and return it in clear, once.

        The account's sessions stay valid: the caller ends them (``AdminSessions.end_for_account``)."""
        new = generate_admin_password() if password is None else check_admin_password(password)
        password_hash = await self._hash(new)
        async with self._write() as session:
            row = await get_row(session, AdminRow, account_id, "admin account")
            row.password_hash = password_hash
        logger.info("admin account %s: password changed", row.username)
        return new

    async def delete(self, account_id: int) -> None:
        """Delete an account (its sessions and tokens go with it; its lines lose their owner).
        Conflict for the last enabled admin."""
        async with self._write() as session:
            row = await get_row(session, AdminRow, account_id, "admin account")
            await _keep_an_admin(session, row, role=None, enabled=False)
            await session.delete(row)
        logger.info("admin account %s deleted", row.username)

    async def add_credits(self, account_id: int, delta: int) -> AdminAccount:
        """Add ``delta`` credits (negative: take some away) atomically; ValidationError if the result < 0."""
        delta = check_int(delta, "delta", low=-CREDITS_MAX, high=CREDITS_MAX)
        stmt = (
            update(AdminRow)
            .where(
                AdminRow.id == account_id,
                AdminRow.credits + delta >= 0,
                AdminRow.credits + delta <= CREDITS_MAX,
            )
            .values(credits=AdminRow.credits + delta)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            row = await get_row(session, AdminRow, account_id, "admin account")
            if cast(CursorResult[Any], await session.execute(stmt)).rowcount != 1:
                raise ValidationError(
                    "not enough credits" if delta < 0 else f"credits cannot exceed {CREDITS_MAX}", field="credits"
                )
            await session.refresh(row)
            return (await _records(session, [row]))[0]


# -- helpers ----------------------------------------------------------------------------------------------


async def _find(session: AsyncSession, username: object) -> AdminRow | None:
    if not isinstance(username, str) or not 0 < len(username) <= ADMIN_USERNAME_MAX:
        return None
    return await session.scalar(select(AdminRow).where(AdminRow.username == username))


async def _records(session: AsyncSession, rows: Sequence[AdminRow]) -> list[AdminAccount]:
    packages = await linked_ids(session, AdminResellerPackageRow, "admin_id", "package_id", [r.id for r in rows])
    return [_record(row, packages.get(row.id, ())) for row in rows]


def _record(row: AdminRow, packages: tuple[int, ...]) -> AdminAccount:
    return AdminAccount(
        id=row.id, username=row.username, role=Role(row.role), enabled=row.enabled, credits=row.credits,
        packages=packages, notes=row.notes, created_at=row.created_at, last_login_at=row.last_login_at,
    )  # fmt: skip


async def _keep_an_admin(session: AsyncSession, row: AdminRow, *, role: str | None, enabled: bool) -> None:
    """Conflict if ``row`` is an enabled admin that would stop being one and no other enabled admin exists.

    Locks every enabled admin row (PostgreSQL), so a concurrent change of another admin waits and then sees
    this one's result."""
    was_admin = row.role == Role.ADMIN.value and row.enabled
    stays_admin = role == Role.ADMIN.value and enabled
    if not was_admin or stays_admin:
        return
    stmt = (
        select(AdminRow.id)
        .where(AdminRow.role == Role.ADMIN.value, AdminRow.enabled)
        .order_by(AdminRow.id)
        .with_for_update()
    )
    admins = set((await session.scalars(stmt)).all())
    if not admins - {row.id}:
        raise Conflict(LAST_ADMIN)


def _constraint_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "username" in text:
        return "an admin account with that username already exists"
    if "credits" in text:
        return "not enough credits"
    return "a referenced object does not exist, or the change conflicts with stored data"


__all__ = ["LAST_ADMIN", "LOGIN_FAILED", "AdminAccounts"]
