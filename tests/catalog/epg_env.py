"""Helpers of the EPG store tests: channels, sources, programmes and whole imports in one call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from headend.catalog.channels import ChannelStore
from headend.catalog.db import Database
from headend.catalog.epg import EpgStore
from headend.catalog.epg_models import EpgImportRow, EpgProgrammeRow
from headend.catalog.epg_records import ChannelMatch, EpgSourceInput, EpgSourceKind, MatchMethod, ProgrammeRecord
from headend.catalog.records import ChannelInput
from headend.epg.entries import Programme

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def url_source(
    name: str = "main", *, priority: int = 100, refresh_hours: int = 24, enabled: bool = True
) -> EpgSourceInput:
    return EpgSourceInput(
        name=name,
        kind=EpgSourceKind.URL,
        location=f"https://guide.example/{name}.xml.gz",
        refresh_hours=refresh_hours,
        priority=priority,
        enabled=enabled,
    )


def programme(title: str, start: datetime, minutes: int = 30, **extra: Any) -> Programme:
    return Programme(channel="guide", start=start, stop=start + timedelta(minutes=minutes), title=title, **extra)


def schedule(prefix: str, count: int, start: datetime = T0, minutes: int = 30) -> list[Programme]:
    """``count`` back-to-back programmes titled ``prefix-0``, ``prefix-1``, ..."""
    return [programme(f"{prefix}-{i}", start + timedelta(minutes=minutes * i), minutes) for i in range(count)]


async def add_channels(store: ChannelStore, count: int) -> list[int]:
    return [(await store.create_channel(ChannelInput(name=f"Channel {i}"))).id for i in range(count)]


async def run_import(
    epg: EpgStore,
    source_id: int,
    guide: dict[int, Sequence[Programme]],
    *,
    method: MatchMethod = MatchMethod.TVG_ID,
    message: str = "ok",
) -> int:
    """A whole successful import: ``guide`` maps our channel ids to their programmes."""
    import_id = await epg.begin_import(source_id)
    rows = [(channel_id, p) for channel_id, programmes in guide.items() for p in programmes]
    for i in range(0, len(rows), 2000):
        await epg.add_programmes(import_id, source_id, rows[i : i + 2000])
    matches = [ChannelMatch(channel_id, source_id, f"guide-{channel_id}", method) for channel_id in guide]
    await epg.finish_import(import_id, source_id, matches, message)
    return import_id


def titles(found: Sequence[ProgrammeRecord]) -> list[str]:
    return [p.title for p in found]


async def stored_programmes(db: Database) -> int:
    async with db.session() as session:
        return await stored_in(session)


async def stored_in(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(EpgProgrammeRow))).scalar_one()


async def stored_imports(db: Database) -> list[tuple[int, str]]:
    async with db.session() as session:
        rows = (await session.execute(select(EpgImportRow.id, EpgImportRow.state).order_by(EpgImportRow.id))).all()
        return [(row.id, row.state) for row in rows]
