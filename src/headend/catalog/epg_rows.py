"""Row-level helpers of :class:`~headend.catalog.epg.EpgStore`: lookups, state changes and column values.

Invariants kept here: an id that cannot exist is NotFound without a query; programme and match text is cut
to its column size (PostgreSQL refuses longer values; the XMLTV reader already trims); an import only
accepts programmes and finishes while it is ``running``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.epg_models import EpgImportRow, EpgSourceRow
from headend.catalog.epg_queries import chunks
from headend.catalog.epg_records import EPG_MESSAGE_MAX, ChannelMatch, EpgSourceKind, ImportState
from headend.catalog.models import ChannelRow
from headend.epg.entries import (
    EPISODE_MAX,
    GUIDE_ID_MAX,
    ICON_MAX,
    LANG_MAX,
    RATING_MAX,
    SUB_TITLE_MAX,
    TITLE_MAX,
    Programme,
)
from headend.errors import Conflict, NotFound, ValidationError

_ID_MAX: Final = 2**31 - 1

_CONSTRAINT_MESSAGES: Final = (
    (("uq_epg_sources_name", "epg_sources.name"), "an EPG source with that name already exists"),
    (("ux_epg_imports_one_active",), "another import of this source finished meanwhile"),
    (("foreign key",), "a referenced channel, EPG source or import does not exist (deleted meanwhile?)"),
)


def lookup_id(value: int, what: str) -> int:
    """``value`` if it can be an id; NotFound if it cannot exist (0, negative, beyond 32 bits)."""
    if type(value) is not int:
        raise ValidationError(f"{what} id must be an integer", field="id")
    if not 1 <= value <= _ID_MAX:
        raise NotFound(f"{what} {value} does not exist")
    return value


def source_kind(value: str) -> EpgSourceKind:
    try:
        return EpgSourceKind(value)
    except ValueError:
        raise ValidationError(f"unknown EPG source kind {str(value)[:40]!r}", field="kind") from None


async def snapshot(session: AsyncSession) -> None:
    """PostgreSQL: let every statement of this read session see one snapshot (SQLite's read
    transactions already do), so a guide read in several chunks is never half old, half new."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def source_row(session: AsyncSession, source_id: int) -> EpgSourceRow:
    row = await session.get(EpgSourceRow, lookup_id(source_id, "EPG source"))
    if row is None:
        raise NotFound(f"EPG source {source_id} does not exist")
    return row


async def check_name_free(session: AsyncSession, name: str, *, exclude: int | None) -> None:
    holder = await session.scalar(select(EpgSourceRow.id).where(EpgSourceRow.name == name))
    if holder is not None and holder != exclude:
        raise Conflict(f"an EPG source named {name!r} already exists")


async def running_import(session: AsyncSession, import_id: int, source_id: int) -> EpgImportRow:
    row = await session.get(EpgImportRow, lookup_id(import_id, "import"))
    if row is None or row.source_id != source_id:
        raise NotFound(f"import {import_id} of EPG source {source_id} does not exist")
    if row.state != ImportState.RUNNING.value:
        raise Conflict(f"import {import_id} is no longer running (it is {row.state})")
    return row


async def existing_channels(session: AsyncSession, channel_ids: set[int]) -> set[int]:
    existing: set[int] = set()
    for chunk in chunks(sorted(channel_ids)):
        existing.update((await session.scalars(select(ChannelRow.id).where(ChannelRow.id.in_(chunk)))).all())
    return existing


async def set_state(
    session: AsyncSession, import_ids: Sequence[int], state: ImportState, now: datetime, **values: int
) -> None:
    for chunk in chunks(list(import_ids)):
        stmt = update(EpgImportRow).where(EpgImportRow.id.in_(chunk))
        stmt = stmt.values(state=state.value, finished_at=now, **values)
        await session.execute(stmt.execution_options(synchronize_session=False))


async def set_source_status(session: AsyncSession, source_id: int, now: datetime, *, ok: bool, message: str) -> None:
    values: dict[str, Any] = {
        "last_import_at": now,
        "last_status": "ok" if ok else "failed",
        "last_message": message[:EPG_MESSAGE_MAX],
    }
    if ok:
        values["last_success_at"] = now
    stmt = update(EpgSourceRow).where(EpgSourceRow.id == source_id).values(**values)
    await session.execute(stmt.execution_options(synchronize_session=False))


def unique_matches(matches: Sequence[ChannelMatch], source_id: int) -> dict[int, ChannelMatch]:
    unique: dict[int, ChannelMatch] = {}
    for match in matches:
        if match.source_id != source_id:
            raise ValidationError(f"a match of source {match.source_id} given for source {source_id}", field="matches")
        unique.setdefault(match.channel_id, match)
    return unique


def match_values(match: ChannelMatch, import_id: int) -> dict[str, Any]:
    return {
        "source_id": match.source_id,
        "channel_id": match.channel_id,
        "guide_id": match.guide_id[:GUIDE_ID_MAX],
        "method": match.method.value,
        "import_id": import_id,
    }


def programme_values(import_id: int, source_id: int, channel_id: int, programme: Programme) -> dict[str, Any]:
    """A programme as column values; text is cut to the column sizes (the reader already should have)."""
    return {
        "import_id": import_id,
        "source_id": source_id,
        "channel_id": channel_id,
        "start": programme.start,
        "stop": programme.stop,
        "title": programme.title[:TITLE_MAX],
        "sub_title": programme.sub_title[:SUB_TITLE_MAX],
        "description": programme.description,
        "categories": "\n".join(c.replace("\n", " ") for c in programme.categories if c),
        "episode_num": programme.episode_num[:EPISODE_MAX],
        "icon": programme.icon[:ICON_MAX],
        "rating": programme.rating[:RATING_MAX],
        "lang": programme.lang[:LANG_MAX],
    }


def constraint_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    for needles, message in _CONSTRAINT_MESSAGES:
        if any(needle in text for needle in needles):
            return message
    return "the change conflicts with the stored EPG data"


__all__ = [
    "check_name_free",
    "constraint_message",
    "existing_channels",
    "lookup_id",
    "match_values",
    "programme_values",
    "running_import",
    "set_source_status",
    "set_state",
    "snapshot",
    "source_kind",
    "source_row",
    "unique_matches",
]
