"""Row-level helpers of :class:`~headend.catalog.subscribers.SubscriberStore`: lookups, ordered links,
rows to records, and the entitlement query.

Invariants kept here: an id that cannot exist is NotFound without a query; a referenced id that does not
exist is a ValidationError naming the field (before any write); link tables are rewritten whole, so
positions are always 0..n-1 in the given order; records never carry a password hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.models import Base, ChannelRow
from headend.catalog.subscriber_models import (
    BouquetChannelRow,
    BouquetRow,
    LinePackageRow,
    LineRow,
    PackageBouquetRow,
    PackageRow,
)
from headend.catalog.subscriber_records import BouquetRecord, Entitlement, LineRecord, PackageRecord
from headend.errors import NotFound, ValidationError
from headend.types import ChannelId

ID_MAX: Final = 2**31 - 1  # ids are 32-bit INTEGER columns

_Row = TypeVar("_Row", bound=Base)

# Database constraint → what an operator is told when a concurrent change slipped past the checks.
_CONSTRAINT_MESSAGES: Final = (
    (("uq_lines_username", "lines.username"), "a line with that username already exists"),
    (("uq_bouquets_name", "bouquets.name"), "a bouquet with that name already exists"),
    (("uq_packages_name", "packages.name"), "a package with that name already exists"),
    (("pk_bouquet_channels", "pk_package_bouquets", "pk_line_packages"), "the list changed meanwhile; try again"),
    (("foreign key",), "a referenced object does not exist, or the object is still in use"),
)


def constraint_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    for needles, message in _CONSTRAINT_MESSAGES:
        if any(needle in text for needle in needles):
            return message
    return "the change conflicts with the stored subscribers"


def lookup_id(value: object, what: str) -> int:
    """``value`` if it can be an id; NotFound if it cannot exist (0, negative, beyond 32 bits)."""
    if type(value) is not int:
        raise ValidationError(f"{what} id must be an integer", field="id")
    if not 1 <= value <= ID_MAX:
        raise NotFound(f"{what} {value} does not exist")
    return value


async def get_row(session: AsyncSession, model: type[_Row], row_id: int, what: str) -> _Row:
    row = await session.get(model, lookup_id(row_id, what))
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist")
    return row


async def check_references(session: AsyncSession, model: Any, ids: Sequence[int], field: str, what: str) -> None:
    """ValidationError naming the first id in ``ids`` with no row in ``model``."""
    if not ids:
        return
    found = set((await session.scalars(select(model.id).where(model.id.in_(ids)))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(f"{what} {missing[0]} does not exist", field=field)


async def replace_links(
    session: AsyncSession, model: Any, owner: tuple[str, int], other: str, ids: Sequence[int]
) -> None:
    """Make ``model``'s rows for the owner exactly ``ids``, with positions 0..n-1 in that order."""
    owner_column, owner_id = owner
    await session.execute(delete(model).where(getattr(model, owner_column) == owner_id))
    if ids:
        rows = [{owner_column: owner_id, other: item, "position": at} for at, item in enumerate(ids)]
        await session.execute(insert(model), rows)


async def linked_ids(
    session: AsyncSession, model: Any, owner_column: str, other: str, owners: Sequence[int]
) -> dict[int, tuple[int, ...]]:
    """Owner id → the linked ids in position order (owners without links are absent)."""
    if not owners:
        return {}
    owner_col, other_col = getattr(model, owner_column), getattr(model, other)
    stmt = select(owner_col, other_col).where(owner_col.in_(owners)).order_by(owner_col, model.position)
    grouped: dict[int, list[int]] = {}
    for owner_id, item in (await session.execute(stmt)).all():
        grouped.setdefault(owner_id, []).append(item)
    return {owner_id: tuple(items) for owner_id, items in grouped.items()}


# -- rows to records --------------------------------------------------------------------------------


def line_record(row: LineRow, package_ids: tuple[int, ...]) -> LineRecord:
    return LineRecord(
        id=row.id,
        username=row.username,
        exp_at=row.exp_at,
        enabled=row.enabled,
        banned=row.banned,
        ban_reason=row.ban_reason,
        is_trial=row.is_trial,
        max_connections=row.max_connections,
        allowed_outputs=tuple(row.allowed_outputs),
        allowed_ips=tuple(row.allowed_ips),
        allowed_user_agents=tuple(row.allowed_user_agents),
        notes=row.notes,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        package_ids=package_ids,
        owner_id=row.owner_id,
    )


async def line_records(session: AsyncSession, rows: Sequence[LineRow]) -> list[LineRecord]:
    packages = await linked_ids(session, LinePackageRow, "line_id", "package_id", [r.id for r in rows])
    return [line_record(row, packages.get(row.id, ())) for row in rows]


async def bouquet_records(session: AsyncSession, rows: Sequence[BouquetRow]) -> list[BouquetRecord]:
    channels = await linked_ids(session, BouquetChannelRow, "bouquet_id", "channel_id", [r.id for r in rows])
    return [
        BouquetRecord(
            id=row.id,
            name=row.name,
            position=row.position,
            channel_ids=tuple(ChannelId(c) for c in channels.get(row.id, ())),
        )
        for row in rows
    ]


async def package_records(session: AsyncSession, rows: Sequence[PackageRow]) -> list[PackageRecord]:
    bouquets = await linked_ids(session, PackageBouquetRow, "package_id", "bouquet_id", [r.id for r in rows])
    return [
        PackageRecord(
            id=row.id,
            name=row.name,
            duration_days=row.duration_days,
            max_connections=row.max_connections,
            allowed_outputs=tuple(row.allowed_outputs),
            is_trial=row.is_trial,
            enabled=row.enabled,
            bouquet_ids=bouquets.get(row.id, ()),
            credit_cost=row.credit_cost,
        )
        for row in rows
    ]


# -- entitlement --------------------------------------------------------------------------------------


def entitlement_key(bouquet_ids: Sequence[int]) -> str:
    """A stable fingerprint of an ordered bouquet-id list (128 bits of SHA-256, hex)."""
    text = "bouquets:" + ",".join(str(i) for i in bouquet_ids)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


async def load_entitlement(session: AsyncSession, line_id: int) -> Entitlement:
    """Enabled channels of the line's enabled packages' bouquets; two queries, one more if it has none."""
    bouquet_stmt = (
        select(PackageBouquetRow.bouquet_id)
        .join(LinePackageRow, LinePackageRow.package_id == PackageBouquetRow.package_id)
        .join(PackageRow, PackageRow.id == PackageBouquetRow.package_id)
        .where(LinePackageRow.line_id == lookup_id(line_id, "line"), PackageRow.enabled)
        .order_by(LinePackageRow.position, PackageBouquetRow.position)
    )
    bouquet_ids = tuple(dict.fromkeys((await session.scalars(bouquet_stmt)).all()))
    if not bouquet_ids:
        await get_row(session, LineRow, line_id, "line")
        return Entitlement(line_id=line_id, channel_ids=(), key=entitlement_key(()), bouquet_ids=())
    channel_stmt = (
        select(BouquetChannelRow.bouquet_id, BouquetChannelRow.channel_id)
        .join(ChannelRow, ChannelRow.id == BouquetChannelRow.channel_id)
        .where(BouquetChannelRow.bouquet_id.in_(bouquet_ids), ChannelRow.enabled)
        .order_by(BouquetChannelRow.bouquet_id, BouquetChannelRow.position)
    )
    per_bouquet: dict[int, list[int]] = {}
    for bouquet_id, channel_id in (await session.execute(channel_stmt)).all():
        per_bouquet.setdefault(bouquet_id, []).append(channel_id)
    ordered = dict.fromkeys(ChannelId(c) for b in bouquet_ids for c in per_bouquet.get(b, ()))
    return Entitlement(
        line_id=line_id, channel_ids=tuple(ordered), key=entitlement_key(bouquet_ids), bouquet_ids=bouquet_ids
    )


__all__ = [
    "ID_MAX",
    "bouquet_records",
    "check_references",
    "constraint_message",
    "entitlement_key",
    "get_row",
    "line_record",
    "line_records",
    "linked_ids",
    "load_entitlement",
    "lookup_id",
    "package_records",
    "replace_links",
]
