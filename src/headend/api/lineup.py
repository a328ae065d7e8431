"""A line's channels as the client APIs show them: catalog records + an entitlement → views.

:class:`CatalogSnapshots` keeps the enabled channels and live categories of the current catalog version
(read once per version, shared by every line); :func:`build_lineup` picks a line's channels out of it, in
entitlement (bouquet) order, and numbers them. Only entitled channels ever appear, and only the categories
that hold at least one of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from headend.api.views import UNCATEGORISED_ID, UNCATEGORISED_NAME, LiveCategory, LiveStream
from headend.catalog.channels import ChannelStore
from headend.catalog.records import CategoryKind, CategoryRecord, ChannelRecord
from headend.playlists.m3u import PlaylistChannel
from headend.playlists.text import usable_epg_id
from headend.playlists.xmltv import GuideChannel

VERSION_TTL_S = 1.0  # how stale the catalog version may be for changes made by another process


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    version: int
    channels: Mapping[int, ChannelRecord]  # enabled channels by id
    categories: tuple[CategoryRecord, ...]  # live categories in display order


@dataclass(frozen=True, slots=True)
class Lineup:
    """What one entitlement sees: its live categories and streams, in display order."""

    categories: tuple[LiveCategory, ...]
    streams: tuple[LiveStream, ...]

    def in_category(self, category_id: int) -> tuple[LiveStream, ...]:
        return tuple(stream for stream in self.streams if stream.category_id == category_id)

    def category_names(self) -> dict[int, str]:
        return {category.id: category.name for category in self.categories}


class CatalogSnapshots:
    """The catalog at its current version, read once per version (concurrent readers share the read)."""

    def __init__(self, store: ChannelStore) -> None:
        self._store = store
        self._current: CatalogSnapshot | None = None
        self._loading: asyncio.Task[CatalogSnapshot] | None = None
        self._reading: asyncio.Task[int] | None = None
        self._known: tuple[int, int, float] | None = None  # (version, db writes when read, monotonic time)

    async def version(self) -> int:
        """The catalog version, kept in memory: re-read when this process has written since the last read
        (seen at once) or when the last read is older than :data:`VERSION_TTL_S` (another process's change,
        e.g. the CLI, is seen within that). Concurrent callers share one read."""
        known = self._known
        if known is not None and known[1] == self._writes() and time.monotonic() - known[2] < VERSION_TTL_S:
            return known[0]
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_version())
        return await asyncio.shield(self._reading)

    async def _read_version(self) -> int:
        writes, at = self._writes(), time.monotonic()
        version = await self._store.catalog_version()
        self._known = (version, writes, at)
        return version

    def _writes(self) -> int:
        return self._store.db.writes

    async def at(self, version: int) -> CatalogSnapshot:
        """The snapshot of ``version`` or newer (a load already running for an older version is not enough)."""
        while True:
            current = self._current
            if current is not None and current.version >= version:
                return current
            if self._loading is None or self._loading.done():
                self._loading = asyncio.ensure_future(self._load())
            snapshot = await asyncio.shield(self._loading)
            if self._current is None or snapshot.version > self._current.version:
                self._current = snapshot

    async def _load(self) -> CatalogSnapshot:
        version = await self._store.catalog_version()
        channels = await self._store.list_channels(enabled_only=True)
        categories = await self._store.list_categories(CategoryKind.LIVE)
        return CatalogSnapshot(version, {c.id: c for c in channels}, tuple(categories))


def build_lineup(snapshot: CatalogSnapshot, channel_ids: Sequence[int]) -> Lineup:
    """The entitled, enabled channels in entitlement order; ``num`` is the channel number, and channels
    without one are numbered on from the highest number in the lineup (so ``num`` stays unique)."""
    records = _entitled(snapshot.channels, channel_ids)
    next_num = max((r.number for r in records if r.number is not None), default=0)
    streams: list[LiveStream] = []
    for record in records:
        num = record.number
        if num is None:
            next_num += 1
            num = next_num
        streams.append(_stream(record, num))
    return Lineup(_categories(snapshot.categories, streams), tuple(streams))


def _entitled(channels: Mapping[int, ChannelRecord], channel_ids: Sequence[int]) -> list[ChannelRecord]:
    seen: set[int] = set()
    records = []
    for channel_id in channel_ids:
        record = channels.get(channel_id)
        if record is not None and channel_id not in seen:
            seen.add(channel_id)
            records.append(record)
    return records


def _stream(record: ChannelRecord, num: int) -> LiveStream:
    return LiveStream(
        num=num,
        name=record.name,
        stream_id=record.id,
        icon=record.logo_url,
        epg_channel_id=record.tvg_id if usable_epg_id(record.tvg_id) else "",
        added=int(record.created_at.timestamp()),
        category_id=record.category_id if record.category_id is not None else UNCATEGORISED_ID,
    )


def _categories(categories: Sequence[CategoryRecord], streams: Sequence[LiveStream]) -> tuple[LiveCategory, ...]:
    used = {stream.category_id for stream in streams}
    found = [LiveCategory(id=c.id, name=c.name) for c in categories if c.id in used]
    if UNCATEGORISED_ID in used:
        found.append(LiveCategory(id=UNCATEGORISED_ID, name=UNCATEGORISED_NAME))
    return tuple(found)


def playlist_channels(lineup: Lineup) -> list[PlaylistChannel]:
    names = lineup.category_names()
    return [
        PlaylistChannel(
            stream_id=s.stream_id,
            name=s.name,
            tvg_id=s.epg_channel_id,
            logo=s.icon,
            chno=s.num,
            group=names.get(s.category_id, ""),
        )
        for s in lineup.streams
    ]


def guide_channels(lineup: Lineup) -> list[GuideChannel]:
    """One ``<channel>`` per distinct EPG id (channels sharing an id share its guide)."""
    seen: set[str] = set()
    found = []
    for stream in lineup.streams:
        if stream.epg_channel_id and stream.epg_channel_id not in seen:
            seen.add(stream.epg_channel_id)
            found.append(GuideChannel(id=stream.epg_channel_id, name=stream.name, icon=stream.icon))
    return found


__all__ = [
    "CatalogSnapshot",
    "CatalogSnapshots",
    "Lineup",
    "build_lineup",
    "guide_channels",
    "playlist_channels",
]
