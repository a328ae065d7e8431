"""Read queries of the EPG part of the catalog, and the conversion of its rows to frozen records.

Which programmes a channel shows: among the sources that are enabled, have an active import and matched
the channel in it, the one with the lowest priority (then the lowest id) wins; the channel shows that
source's active import's programmes and no other. :func:`winners` computes that choice in SQL.

Consistency: PostgreSQL's default isolation gives each statement, not each transaction, its own snapshot,
so the reads made of several statements (:func:`programmes_between`, :func:`upcoming`: the winning import
first, then its programmes, which lets every planner use the (channel, import, start) index) must run in a
REPEATABLE READ session (``epg_rows.snapshot``). SQLite's read transactions are snapshots already.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, Subquery, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.epg_models import EpgImportRow, EpgMatchRow, EpgOverrideRow, EpgProgrammeRow, EpgSourceRow
from headend.catalog.epg_records import (
    ChannelMatch,
    EpgOverride,
    EpgSourceKind,
    EpgSourceRecord,
    ImportState,
    MatchMethod,
    ProgrammeRecord,
)
from headend.catalog.models import ChannelRow

IN_CHUNK: Final = 500  # ids per IN (...) list
ACTIVE: Final = ImportState.ACTIVE.value

_P = EpgProgrammeRow
PROGRAMME_COLUMNS: Final = (
    _P.id,
    _P.source_id,
    _P.channel_id,
    _P.start,
    _P.stop,
    _P.title,
    _P.sub_title,
    _P.description,
    _P.categories,
    _P.episode_num,
    _P.icon,
    _P.rating,
    _P.lang,
)


def chunks(values: Sequence[int], size: int = IN_CHUNK) -> list[Sequence[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


# -- sources --------------------------------------------------------------------------------------


def source_select() -> Select[EpgSourceRow, int, int]:
    """Sources with the counts of their active import (NULL when they have none), by priority then id."""
    active = and_(EpgImportRow.source_id == EpgSourceRow.id, EpgImportRow.state == ACTIVE)
    return (
        select(EpgSourceRow, EpgImportRow.channels_matched, EpgImportRow.programmes)
        .outerjoin(EpgImportRow, active)
        .order_by(EpgSourceRow.priority, EpgSourceRow.id)
    )


def source_record(
    row: EpgSourceRow, channels_matched: int | None = None, programmes: int | None = None
) -> EpgSourceRecord:
    return EpgSourceRecord(
        id=row.id,
        name=row.name,
        kind=EpgSourceKind(row.kind),
        location=row.location,
        refresh_hours=row.refresh_hours,
        priority=row.priority,
        enabled=row.enabled,
        created_at=row.created_at,
        last_import_at=row.last_import_at,
        last_success_at=row.last_success_at,
        last_status=row.last_status,
        last_message=row.last_message,
        channels_matched=channels_matched or 0,
        programmes=programmes or 0,
    )


async def source_records(session: AsyncSession, source_id: int | None = None) -> list[EpgSourceRecord]:
    stmt = source_select()
    if source_id is not None:
        stmt = stmt.where(EpgSourceRow.id == source_id)
    return [source_record(*row) for row in (await session.execute(stmt)).all()]


def override_record(row: EpgOverrideRow) -> EpgOverride:
    return EpgOverride(channel_id=row.channel_id, guide_id=row.guide_id, source_id=row.source_id)


# -- which source feeds which channel -------------------------------------------------------------


def winners(channel_ids: Sequence[int] | None = None) -> Subquery:
    """Every usable match, ranked per channel (``rank`` 1 is the one the channel shows)."""
    rank = func.row_number().over(
        partition_by=EpgMatchRow.channel_id, order_by=(EpgSourceRow.priority, EpgSourceRow.id)
    )
    stmt = (
        select(
            EpgMatchRow.channel_id,
            EpgMatchRow.source_id,
            EpgMatchRow.guide_id,
            EpgMatchRow.method,
            EpgMatchRow.import_id,
            rank.label("rank"),
        )
        .join(EpgSourceRow, EpgSourceRow.id == EpgMatchRow.source_id)
        .join(EpgImportRow, and_(EpgImportRow.id == EpgMatchRow.import_id, EpgImportRow.state == ACTIVE))
        .where(EpgSourceRow.enabled)
    )
    if channel_ids is not None:
        stmt = stmt.where(EpgMatchRow.channel_id.in_(channel_ids))
    return stmt.subquery("winners")


def _match(row: Any) -> ChannelMatch:
    return ChannelMatch(
        channel_id=row.channel_id, source_id=row.source_id, guide_id=row.guide_id, method=MatchMethod(row.method)
    )


async def effective_matches(session: AsyncSession) -> list[ChannelMatch]:
    ranked = winners()
    stmt = select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.channel_id)
    return [_match(row) for row in (await session.execute(stmt)).all()]


async def source_matches(session: AsyncSession, source_id: int) -> list[ChannelMatch]:
    stmt = select(EpgMatchRow).where(EpgMatchRow.source_id == source_id).order_by(EpgMatchRow.channel_id)
    return [_match(row) for row in (await session.scalars(stmt)).all()]


async def unmatched_channel_ids(session: AsyncSession) -> list[int]:
    fed = (
        select(EpgMatchRow.channel_id)
        .join(EpgSourceRow, EpgSourceRow.id == EpgMatchRow.source_id)
        .join(EpgImportRow, and_(EpgImportRow.id == EpgMatchRow.import_id, EpgImportRow.state == ACTIVE))
        .where(EpgSourceRow.enabled, EpgMatchRow.channel_id == ChannelRow.id)
    )
    stmt = select(ChannelRow.id).where(ChannelRow.enabled, ~exists(fed)).order_by(ChannelRow.id)
    return list((await session.scalars(stmt)).all())


# -- programmes -----------------------------------------------------------------------------------


async def programmes_between(
    session: AsyncSession, channel_ids: Sequence[int], start: datetime, stop: datetime
) -> dict[int, list[ProgrammeRecord]]:
    """Programmes overlapping ``[start, stop)`` per channel. Several statements: the caller's session must
    read one snapshot (see ``epg_rows.snapshot``)."""
    found: dict[int, list[ProgrammeRecord]] = {channel_id: [] for channel_id in channel_ids}
    if start >= stop:
        return found
    for chunk in chunks(list(found)):
        # Which import each channel shows first, then the programmes per import: naming the import as a
        # constant lets every planner use the (channel, import, start) index, even before statistics exist.
        ranked = winners(chunk)
        shown: dict[int, list[int]] = {}
        for channel_id, import_id in (
            await session.execute(select(ranked.c.channel_id, ranked.c.import_id).where(ranked.c.rank == 1))
        ).all():
            shown.setdefault(import_id, []).append(channel_id)
        for import_id, shown_ids in shown.items():
            stmt = (
                select(*PROGRAMME_COLUMNS)
                .where(_P.import_id == import_id, _P.channel_id.in_(shown_ids), _P.start < stop, _P.stop > start)
                .order_by(_P.channel_id, _P.start, _P.id)
            )
            for row in (await session.execute(stmt)).all():
                found[row.channel_id].append(programme_record(row))
    return found


async def upcoming(session: AsyncSession, channel_id: int, now: datetime, limit: int) -> list[ProgrammeRecord]:
    """Two statements, like :func:`programmes_between` (the same snapshot rule applies)."""
    ranked = winners([channel_id])
    import_id = await session.scalar(select(ranked.c.import_id).where(ranked.c.rank == 1))
    if import_id is None:
        return []
    stmt = (
        select(*PROGRAMME_COLUMNS)
        .where(_P.channel_id == channel_id, _P.import_id == import_id, _P.stop > now)
        .order_by(_P.start, _P.id)
        .limit(limit)
    )
    return [programme_record(row) for row in (await session.execute(stmt)).all()]


def programme_record(row: Any) -> ProgrammeRecord:
    return ProgrammeRecord(
        id=row.id,
        source_id=row.source_id,
        channel_id=row.channel_id,
        start=row.start,
        stop=row.stop,
        title=row.title,
        sub_title=row.sub_title,
        description=row.description,
        categories=tuple(part for part in row.categories.split("\n") if part),
        episode_num=row.episode_num,
        icon=row.icon,
        rating=row.rating,
        lang=row.lang,
    )


__all__ = [
    "IN_CHUNK",
    "chunks",
    "effective_matches",
    "override_record",
    "programme_record",
    "programmes_between",
    "source_matches",
    "source_record",
    "source_records",
    "unmatched_channel_ids",
    "upcoming",
    "winners",
]
