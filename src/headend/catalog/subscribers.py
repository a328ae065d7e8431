"""Subscribers: lines (accounts), the packages they hold, the bouquets of channels packages are made of.

:class:`SubscriberStore` is the only way the rest of Headend reads or changes these tables. Same contract
as :class:`~headend.catalog.channels.ChannelStore`: every method opens its own session, returns frozen
records (:mod:`headend.catalog.subscriber_records`), and raises ValidationError for bad input (before
anything is written), NotFound for a missing id, Conflict for a duplicate or an object in use. Every
change bumps ``catalog_state.version`` in the same transaction (the Xtream API caches on it) and
:attr:`SubscriberStore.generation` after the commit (the in-process auth cache drops on it).

The one write that bumps neither is ``last_seen_at``: it is written in batches, at most once per
``last_seen_flush_s``, because it changes on every stream request.

Passwords: the store never sees a stored password in clear. It generates one (or takes the operator's),
hands it back once, and keeps what the injected hasher makes of it.

Resellers: a line may have an ``owner_id`` (the admin account that sold it). :meth:`SubscriberStore.create_line`
and :meth:`SubscriberStore.renew` take an ``in_transaction`` hook that runs inside their write transaction,
before the line is written: ``headend.admin.resellers`` spends the reseller's credits there, so a line is
never created or renewed without its payment, nor a payment taken without the line.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeAlias

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.admin_models import AdminRow
from headend.catalog.db import Database
from headend.catalog.models import CatalogState, utcnow
from headend.catalog.packages import PackageMethods
from headend.catalog.records import SEARCH_MAX, check_int, check_text
from headend.catalog.subscriber_models import LinePackageRow, LineRow, PackageRow
from headend.catalog.subscriber_records import (
    BAN_REASON_MAX,
    OUTPUT_FORMATS,
    Entitlement,
    LineInput,
    LinePatch,
    LineRecord,
    check_ids,
    check_password,
    check_username,
)
from headend.catalog.subscriber_rows import (
    ID_MAX,
    check_references,
    constraint_message,
    get_row,
    line_records,
    linked_ids,
    load_entitlement,
    replace_links,
)
from headend.errors import Conflict, DatabaseError, NotFound, ValidationError

logger = logging.getLogger(__name__)

PASSWORD_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
"""No 0/O, 1/l/I, o: a generated password survives being read aloud or typed on a TV remote."""
PASSWORD_LENGTH: Final = 12
LIST_LIMIT_MAX: Final = 10_000

TransactionHook: TypeAlias = Callable[[AsyncSession], Awaitable[None]]
"""Runs inside a line write transaction, before the line is written; raising rolls the whole change back."""


class PasswordHashing(Protocol):
    """What the store needs from :class:`headend.auth.passwords.PasswordHasher` (catalog cannot import auth)."""

    def hash(self, password: str) -> str: ...


def generate_password() -> str:
    """12 characters of :data:`PASSWORD_ALPHABET` from the system CSPRNG (about 70 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


class SubscriberStore(PackageMethods):
    """Typed access to lines, packages and bouquets (see the module docstring for the contract)."""

    def __init__(
        self,
        db: Database,
        hasher: PasswordHashing,
        *,
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.monotonic,
        last_seen_flush_s: float = 60.0,
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._now = now
        self._clock = clock
        self._generation = 0
        self._last_seen_flush_s = last_seen_flush_s
        self._last_seen: dict[int, datetime] = {}
        self._last_flush = clock()

    @property
    def generation(self) -> int:
        """Grows after every change committed through this store (an in-process cache key)."""
        return self._generation

    @contextlib.asynccontextmanager
    async def _change(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that first bumps the catalog version (and its row lock: one writer)."""
        try:
            async with self._db.write() as session:
                bump = update(CatalogState).where(CatalogState.id == 1).values(version=CatalogState.version + 1)
                await session.execute(bump.execution_options(synchronize_session=False))
                yield session
        except IntegrityError as exc:
            raise Conflict(constraint_message(exc)) from None
        self._generation += 1

    async def catalog_version(self) -> int:
        """The shared catalog version (channels and subscribers): grows with every change."""
        async with self._db.session() as session:
            return (await session.execute(select(CatalogState.version).where(CatalogState.id == 1))).scalar_one()

    # -- lines: create and read -----------------------------------------------------------------------

    async def create_line(
        self, data: LineInput, *, in_transaction: TransactionHook | None = None
    ) -> tuple[LineRecord, str]:
        """Create a line; returns it with its password in clear, the only time it is ever shown.

        ``in_transaction`` runs in the same write transaction, after the input is checked and before the line
        is inserted (see the module docstring)."""
        password = data.password if data.password is not None else generate_password()
        password_hash = self._hasher.hash(password)
        async with self._change() as session:
            await _check_username_free(session, data.username, exclude=None)
            await check_references(session, PackageRow, data.package_ids, "package_ids", "package")
            await _check_owner(session, data.owner_id)
            if in_transaction is not None:
                await in_transaction(session)
            packages = await _packages(session, data.package_ids)
            row = LineRow(
                username=data.username, password_hash=password_hash, created_at=self._now(), owner_id=data.owner_id
            )
            _apply_defaults(row, data, packages, self._now())
            session.add(row)
            await session.flush()
            await replace_links(session, LinePackageRow, ("line_id", row.id), "package_id", data.package_ids)
            record = (await line_records(session, [row]))[0]
        logger.info("line %s created", record.id, extra={"line_id": record.id})
        return record, password

    async def get_line(self, line_id: int) -> LineRecord:
        async with self._db.session() as session:
            return (await line_records(session, [await get_row(session, LineRow, line_id, "line")]))[0]

    async def get_line_by_username(self, username: str) -> LineRecord:
        found = await self.find_credentials(username)
        if found is None:
            raise NotFound(f"no line named {username[:80]!r}")
        return found[0]

    async def find_credentials(self, username: str) -> tuple[LineRecord, str] | None:
        """The line and its stored password hash, or None (also for a username that cannot exist)."""
        if not isinstance(username, str) or len(username) > 64:
            return None
        async with self._db.session() as session:
            row = await session.scalar(select(LineRow).where(LineRow.username == username))
            if row is None:
                return None
            return (await line_records(session, [row]))[0], row.password_hash

    async def list_lines(
        self, search: str | None = None, limit: int | None = None, offset: int = 0, owner_id: int | None = None
    ) -> list[LineRecord]:
        """Lines by username. ``search``: case-insensitive substring of the username or the notes;
        ``owner_id``: only the lines of that (reseller) account."""
        stmt = select(LineRow)
        if owner_id is not None:
            stmt = stmt.where(LineRow.owner_id == check_int(owner_id, "owner_id", low=0, high=ID_MAX))
        if search:
            text = check_text(search, "search", SEARCH_MAX)
            stmt = stmt.where(
                or_(LineRow.username.icontains(text, autoescape=True), LineRow.notes.icontains(text, autoescape=True))
            )
        if limit is not None:
            stmt = stmt.limit(check_int(limit, "limit", low=1, high=LIST_LIMIT_MAX))
        stmt = stmt.offset(check_int(offset, "offset", low=0, high=ID_MAX)).order_by(LineRow.username, LineRow.id)
        async with self._db.session() as session:
            return await line_records(session, (await session.scalars(stmt)).all())

    async def entitlement(self, line_id: int) -> Entitlement:
        """What the line may watch (whatever its status: the caller decides whether it may watch now)."""
        async with self._db.session() as session:
            return await load_entitlement(session, line_id)

    # -- lines: change --------------------------------------------------------------------------------

    async def update_line(self, line_id: int, patch: LinePatch) -> LineRecord:
        changes = patch.changes()
        if not changes:
            return await self.get_line(line_id)
        async with self._change() as session:
            row = await get_row(session, LineRow, line_id, "line")
            if "username" in changes:
                await _check_username_free(session, str(changes["username"]), exclude=row.id)
            if "owner_id" in changes:
                await _check_owner(session, changes["owner_id"])
            for name, value in changes.items():
                setattr(row, name, list(value) if isinstance(value, tuple) else value)
            await session.flush()
            return (await line_records(session, [row]))[0]

    async def renew(
        self,
        line_id: int,
        *,
        days: int | None = None,
        package_id: int | None = None,
        in_transaction: TransactionHook | None = None,
    ) -> LineRecord:
        """Extend the expiry from max(now, exp_at) by ``days``, or by a package's duration (and assign the
        package if the line lacks it), or by default by the longest duration of the line's packages.
        A line that never expires stays so. ``in_transaction`` runs in the same write transaction, once the
        line and the package are known to exist, before anything is changed."""
        if days is not None and package_id is not None:
            raise ValidationError("give days or a package, not both", field="days")
        if days is not None:
            check_int(days, "days", low=1, high=36_500)
        async with self._change() as session:
            row = await get_row(session, LineRow, line_id, "line")
            held = (await linked_ids(session, LinePackageRow, "line_id", "package_id", [row.id])).get(row.id, ())
            if package_id is not None:
                await check_references(session, PackageRow, [package_id], "package_id", "package")
            if in_transaction is not None:
                await in_transaction(session)
            if package_id is not None:
                if package_id not in held:
                    await replace_links(session, LinePackageRow, ("line_id", row.id), "package_id", [*held, package_id])
            days = days or await _renewal_days(session, [package_id] if package_id is not None else list(held))
            if row.exp_at is not None:
                row.exp_at = _add_days(max(self._now(), row.exp_at), days)
            await session.flush()
            return (await line_records(session, [row]))[0]

    async def set_enabled(self, line_id: int, enabled: bool) -> LineRecord:
        return await self._set_line(line_id, enabled=bool(enabled))

    async def ban(self, line_id: int, reason: str = "") -> LineRecord:
        """Ban a line (it keeps its other settings; :meth:`unban` lifts it)."""
        return await self._set_line(line_id, banned=True, ban_reason=check_text(reason, "reason", BAN_REASON_MAX))

    async def unban(self, line_id: int) -> LineRecord:
        return await self._set_line(line_id, banned=False, ban_reason="")

    async def reset_password(self, line_id: int, password: str | None = None) -> str:
        """Give the line a new password (generated unless given) and return it in clear, once."""
        new = generate_password() if password is None else check_password(password)
        await self._set_line(line_id, password_hash=self._hasher.hash(new))
        logger.info("line %s: password reset", line_id, extra={"line_id": line_id})
        return new

    async def assign_packages(self, line_id: int, package_ids: Sequence[int]) -> LineRecord:
        """Make the line hold exactly these packages, in this order (limits and expiry are not changed)."""
        ids = check_ids(package_ids, "package_ids")
        async with self._change() as session:
            row = await get_row(session, LineRow, line_id, "line")
            await check_references(session, PackageRow, ids, "package_ids", "package")
            await replace_links(session, LinePackageRow, ("line_id", row.id), "package_id", ids)
            return (await line_records(session, [row]))[0]

    async def delete_line(self, line_id: int) -> None:
        async with self._change() as session:
            await session.delete(await get_row(session, LineRow, line_id, "line"))
        self._last_seen.pop(line_id, None)
        logger.info("line %s deleted", line_id, extra={"line_id": line_id})

    async def _set_line(self, line_id: int, **values: object) -> LineRecord:
        async with self._change() as session:
            row = await get_row(session, LineRow, line_id, "line")
            for name, value in values.items():
                setattr(row, name, value)
            await session.flush()
            return (await line_records(session, [row]))[0]

    # -- last seen --------------------------------------------------------------------------------------

    async def touch_last_seen(self, line_id: int) -> None:
        """Note that the line was just used. Cheap: written with others at most every ``last_seen_flush_s``."""
        self._last_seen[line_id] = self._now()
        if self._clock() - self._last_flush >= self._last_seen_flush_s:
            await self.flush_last_seen()

    async def flush_last_seen(self) -> None:
        """Write the pending last-seen times in one transaction (no catalog version bump). A database
        error is logged and the times are kept for the next flush: a stream must not fail on this."""
        self._last_flush = self._clock()
        pending, self._last_seen = self._last_seen, {}
        if not pending:
            return
        table = LineRow.__table__
        assert isinstance(table, Table)
        stmt = update(table).where(table.c.id == bindparam("line_id")).values(last_seen_at=bindparam("seen"))
        try:
            async with self._db.write() as session:
                await session.execute(stmt, [{"line_id": i, "seen": t} for i, t in sorted(pending.items())])
        except DatabaseError as exc:
            logger.warning("could not record when %d line(s) were last seen: %s", len(pending), exc.message)
            self._last_seen = pending | self._last_seen


# -- helpers --------------------------------------------------------------------------------------------


async def _check_username_free(session: AsyncSession, username: str, *, exclude: int | None) -> None:
    holder = await session.scalar(select(LineRow.id).where(LineRow.username == check_username(username)))
    if holder is not None and holder != exclude:
        raise Conflict(f"a line named {username!r} already exists")


async def _check_owner(session: AsyncSession, owner_id: object) -> None:
    if isinstance(owner_id, int):  # already checked by LineInput / LinePatch
        await check_references(session, AdminRow, [owner_id], "owner_id", "admin account")


async def _packages(session: AsyncSession, package_ids: Sequence[int]) -> list[PackageRow]:
    if not package_ids:
        return []
    return list((await session.scalars(select(PackageRow).where(PackageRow.id.in_(package_ids)))).all())


def _apply_defaults(row: LineRow, data: LineInput, packages: Sequence[PackageRow], now: datetime) -> None:
    """Fill the settings left at None from the packages (see :class:`LineInput`)."""
    row.enabled = data.enabled
    row.notes = data.notes
    row.allowed_ips = list(data.allowed_ips)
    row.allowed_user_agents = list(data.allowed_user_agents)
    row.max_connections = data.max_connections or max((p.max_connections for p in packages), default=1)
    if data.allowed_outputs is not None:
        row.allowed_outputs = list(data.allowed_outputs)
    else:
        union = {fmt for p in packages for fmt in p.allowed_outputs}
        row.allowed_outputs = [fmt for fmt in OUTPUT_FORMATS if fmt in union] if packages else list(OUTPUT_FORMATS)
    row.is_trial = data.is_trial if data.is_trial is not None else any(p.is_trial for p in packages)
    if data.exp_at is not None:
        row.exp_at = data.exp_at
    elif data.days is not None or packages:
        row.exp_at = _add_days(now, data.days or max(p.duration_days for p in packages))
    else:
        row.exp_at = None


async def _renewal_days(session: AsyncSession, package_ids: Sequence[int]) -> int:
    if package_ids:
        longest = await session.scalar(select(func.max(PackageRow.duration_days)).where(PackageRow.id.in_(package_ids)))
        if longest is not None:
            return int(longest)
    raise ValidationError("the line holds no package: give the number of days", field="days")


def _add_days(start: datetime, days: int) -> datetime:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise ValidationError("the expiry date would be out of range", field="days") from None


__all__ = [
    "PASSWORD_ALPHABET",
    "PASSWORD_LENGTH",
    "PasswordHashing",
    "SubscriberStore",
    "TransactionHook",
    "generate_password",
]
