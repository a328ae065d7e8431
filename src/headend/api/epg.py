"""The guide for clients: ``get_short_epg`` / ``get_simple_data_table`` (contract §1.10) and the XMLTV
document of ``xmltv.php`` (a line's channels, §1.12) and ``/epg.xml`` (every enabled channel, operators).

Windows. A channel's listings run from ``now`` minus its catch-up archive days (``tv_archive_days``; 0 until
catch-up exists, so from ``now``) to ``now`` plus ``epg.future_days``. The short EPG lists the current and
the next ``limit`` programmes. ``has_archive`` comes from an :data:`ArchiveCheck` (default: never, because
nothing is recorded yet); catch-up plugs its own in.

The XMLTV document is streamed: the prolog and every ``<channel>`` first (the DTD's order), then the
programmes of about :data:`BATCH_CHANNELS` channels per store query, rendered chunk by chunk and gzipped
on the fly when the client accepts it, so a 5,000-channel guide is never in memory whole. Channels sharing
an EPG id share one programme list, written once. The document is a function of the entitlement, the
catalog version, the guide version and the minute (its window is computed from the minute), which makes
its (weak) ETag.

Listing bodies are cached per (action, stream, limit, catalog version, guide version) until the first
programme boundary after the time they were computed at (at most a minute), so ``now_playing`` is exact.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from headend.api import xtream_json as xj
from headend.api.cache import Encoded, accepts_gzip, encode, encoded_size
from headend.api.lineup import Lineup, guide_channels
from headend.api.responses import XML_TYPE, encoded_response, json_response
from headend.api.views import LiveStream
from headend.catalog.epg import EpgStore
from headend.catalog.epg_records import ProgrammeRecord
from headend.playlists import xmltv
from headend.playlists.text import chunked
from headend.settings import Settings

if TYPE_CHECKING:
    from headend.api.context import Caller, XtreamContext

BATCH_CHANNELS: Final = 200  # channels per programme query while streaming a guide
SHORT_EPG_LIMIT: Final = 4  # XUI's and Dispatcharr's default (§1.1)
SHORT_EPG_MAX: Final = 100
LISTING_CACHE_ENTRIES: Final = 4096
LISTING_CACHE_BYTES: Final = 64 * 1024 * 1024  # a 14-day data table is ~300 KiB (JSON + gzip): bound by bytes too
LISTING_TTL: Final = timedelta(minutes=1)
VERSION_TTL_S: Final = 1.0  # how stale the guide version may be for an import finished by another process
GZIP_STREAM_LEVEL: Final = 1  # on-the-fly: fast (the guide is big and rendered per request)
_ID_DIGITS: Final = 10
_HEADERS: Final = {"access-control-allow-origin": "*", "cache-control": "private, no-cache"}

ArchiveCheck = Callable[[LiveStream, ProgrammeRecord, datetime], bool]
"""Whether the archive really holds ``programme`` of ``stream`` at ``now`` (``has_archive`` 1)."""

ListingKind = Literal["short", "table"]


def no_archive(stream: LiveStream, programme: ProgrammeRecord, now: datetime) -> bool:
    """Nothing is recorded (no catch-up yet): no programme has an archive."""
    return False


@dataclass(frozen=True, slots=True)
class _Listed:
    body: Encoded
    computed_at: datetime
    valid_until: datetime


class Guide:
    """The EPG store as the client APIs read it: its version (kept for :data:`VERSION_TTL_S`), the listing
    bodies and the programme batches of a guide document."""

    def __init__(
        self,
        store: EpgStore,
        settings: Settings,
        *,
        writes: Callable[[], int],
        has_archive: ArchiveCheck = no_archive,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.future = timedelta(days=settings.epg.future_days)
        self.timezone = settings.subscribers.timezone
        self.has_archive = has_archive
        self._writes = writes
        self._clock = clock if clock is not None else time.monotonic
        self._known: tuple[int, int, float] | None = None  # (version, writes when read, clock when read)
        self._listed: OrderedDict[Hashable, _Listed] = OrderedDict()
        self._listed_bytes = 0

    @property
    def cached_bytes(self) -> int:
        """Bytes of listing bodies (JSON + gzip) kept in memory, at most :data:`LISTING_CACHE_BYTES`."""
        return self._listed_bytes

    async def version(self) -> int:
        """The guide version: re-read after this process wrote to the database, else at most once a second."""
        known = self._known
        if known is not None and known[1] == self._writes() and self._clock() - known[2] < VERSION_TTL_S:
            return known[0]
        writes, at = self._writes(), self._clock()
        version = await self.store.guide_version()
        self._known = (version, writes, at)
        return version

    # -- listings -----------------------------------------------------------------------------------------------

    async def listings(
        self, kind: ListingKind, stream: LiveStream, now: datetime, limit: int, catalog_version: int
    ) -> Encoded:
        """The encoded ``{"epg_listings": [...]}`` of ``stream`` at ``now`` (cached while it cannot change)."""
        key = (kind, stream.stream_id, limit, catalog_version, await self.version())
        found = self._listed.get(key)
        if found is not None and found.computed_at <= now < found.valid_until:
            self._listed.move_to_end(key)
            return found.body
        if kind == "short":
            records = await self.store.upcoming(stream.stream_id, now, limit)
        else:
            start, stop = window(stream, now, self.future)
            records = (await self.store.programmes([stream.stream_id], start, stop)).get(stream.stream_id, [])
        listed = [self._listing(stream, record, now) for record in records]
        body = await encode(xj.epg_listings(listed, self.timezone))
        self._remember(key, _Listed(body, now, _valid_until(stream, records, now)))
        return body

    def _listing(self, stream: LiveStream, record: ProgrammeRecord, now: datetime) -> xj.EpgListing:
        return xj.EpgListing(
            id=record.id,
            source_id=record.source_id,
            title=record.title,
            description=record.description,
            lang=record.lang,
            start=record.start,
            stop=record.stop,
            channel_id=stream.epg_channel_id,
            stream_id=stream.stream_id,
            now_playing=record.start <= now < record.stop,
            has_archive=self.has_archive(stream, record, now),
        )

    def _remember(self, key: Hashable, listed: _Listed) -> None:
        """Keep ``listed`` under ``key``; the least recently used go beyond the count or byte bound."""
        replaced = self._listed.pop(key, None)
        if replaced is not None:
            self._listed_bytes -= encoded_size(replaced.body)
        self._listed[key] = listed
        self._listed_bytes += encoded_size(listed.body)
        while len(self._listed) > LISTING_CACHE_ENTRIES or self._listed_bytes > LISTING_CACHE_BYTES:
            _, dropped = self._listed.popitem(last=False)
            self._listed_bytes -= encoded_size(dropped.body)

    # -- the XMLTV document -------------------------------------------------------------------------------------

    async def programme_batches(
        self, streams: Sequence[LiveStream], now: datetime
    ) -> AsyncIterator[list[tuple[str, list[ProgrammeRecord]]]]:
        """(EPG id, programmes) of every EPG id of ``streams`` in lineup order, one store query per batch.

        Of the channels sharing an id, the first (in lineup order) with programmes in its window speaks for it.
        """
        groups: dict[str, list[LiveStream]] = {}
        for stream in streams:
            if stream.epg_channel_id:
                groups.setdefault(stream.epg_channel_id, []).append(stream)
        for batch in _batches(list(groups.items()), BATCH_CHANNELS):
            members = [stream for _, group in batch for stream in group]
            start = min(window(stream, now, self.future)[0] for stream in members)
            found = await self.store.programmes([s.stream_id for s in members], start, now + self.future)
            yield [(epg_id, _speaker(group, found, now)) for epg_id, group in batch]


def window(stream: LiveStream, now: datetime, future: timedelta) -> tuple[datetime, datetime]:
    """The listing window of ``stream``: back as far as its archive reaches, forward ``future``."""
    return now - timedelta(days=max(stream.tv_archive_days, 0)), now + future


def _speaker(
    group: Sequence[LiveStream], found: dict[int, list[ProgrammeRecord]], now: datetime
) -> list[ProgrammeRecord]:
    for stream in group:
        start = now - timedelta(days=max(stream.tv_archive_days, 0))
        listed = [record for record in found.get(stream.stream_id, ()) if record.stop > start]
        if listed:
            return listed
    return []


def _batches(
    groups: Sequence[tuple[str, list[LiveStream]]], size: int
) -> Iterator[Sequence[tuple[str, list[LiveStream]]]]:
    """Consecutive groups holding about ``size`` channels each (a group is never split)."""
    batch: list[tuple[str, list[LiveStream]]] = []
    count = 0
    for group in groups:
        batch.append(group)
        count += len(group[1])
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def _valid_until(stream: LiveStream, records: Iterable[ProgrammeRecord], now: datetime) -> datetime:
    """The first moment after ``now`` at which the listing could read differently (at most a minute on)."""
    archive = timedelta(days=max(stream.tv_archive_days, 0))
    edges = [now + LISTING_TTL]
    for record in records:
        edges.extend(edge for edge in (record.start, record.stop, record.stop + archive) if edge > now)
    return min(edges)


# -- player_api.php actions ------------------------------------------------------------------------------------


async def short_epg(ctx: XtreamContext, request: Request, caller: Caller, params: dict[str, str]) -> Response:
    """``get_short_epg``: the current and next programmes (``limit``, default 4, 1..100)."""
    return await _listings(ctx, request, caller, params, "short", _limit(params.get("limit", "")))


async def data_table(ctx: XtreamContext, request: Request, caller: Caller, params: dict[str, str]) -> Response:
    """``get_simple_data_table`` (and ``get_simple_date_table``): the whole listing window of the stream."""
    return await _listings(ctx, request, caller, params, "table", 0)


async def _listings(
    ctx: XtreamContext, request: Request, caller: Caller, params: dict[str, str], kind: ListingKind, limit: int
) -> Response:
    stream_id = _stream_id(params.get("stream_id", ""))
    version = await ctx.version()
    stream = None if stream_id is None else await ctx.entitled_stream(caller.entitlement, version, stream_id)
    if stream is None:  # unknown, malformed, disabled or not the line's: nothing (never another line's data)
        return json_response(xj.epg_listings_empty())
    return encoded_response(request, await ctx.guide.listings(kind, stream, ctx.now(), limit, version))


def _stream_id(raw: str) -> int | None:
    value = raw.strip()
    if value.isdecimal() and value.isascii() and len(value) <= _ID_DIGITS:
        return int(value)
    return None


def _limit(raw: str) -> int:
    value = raw.strip()
    if not (value.isdecimal() and value.isascii() and len(value) <= _ID_DIGITS):
        return SHORT_EPG_LIMIT
    return min(max(int(value), 1), SHORT_EPG_MAX)


# -- the XMLTV documents ---------------------------------------------------------------------------------------


async def line_guide(ctx: XtreamContext, request: Request, caller: Caller) -> Response:
    """``xmltv.php`` for a line allowed to have it: its lineup's channels with an EPG id, and their programmes."""
    version = await ctx.version()
    lineup = await ctx.lineup(caller.entitlement, version)
    entitlement = caller.entitlement
    return await _document(ctx, request, lineup, (entitlement.key, hash(entitlement.channel_ids)), version)


async def operator_guide(ctx: XtreamContext, request: Request) -> Response:
    """``/epg.xml``: the same document for every enabled channel (the route checks the operator)."""
    version = await ctx.version()
    return await _document(ctx, request, await ctx.all_channels(version), "every enabled channel", version)


async def _document(ctx: XtreamContext, request: Request, lineup: Lineup, who: Hashable, version: int) -> Response:
    now = ctx.now().replace(second=0, microsecond=0)
    guide = ctx.guide
    tag = repr((who, version, await guide.version(), now.isoformat(), guide.future.total_seconds()))
    digest = hashlib.blake2b(tag.encode(), digest_size=12).hexdigest()
    headers = _HEADERS | {"etag": f'W/"{digest}"', "vary": "Accept-Encoding"}
    if f'"{digest}"' in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
    if gzip:
        headers["content-encoding"] = "gzip"
    if request.method == "HEAD":
        return Response(None, media_type=XML_TYPE, headers=headers)
    chunks = _render(guide, lineup, now)
    return StreamingResponse(_gzipped(chunks) if gzip else chunks, media_type=XML_TYPE, headers=headers)


async def _render(guide: Guide, lineup: Lineup, now: datetime) -> AsyncIterator[bytes]:
    yield xmltv.prolog().encode()
    for chunk in chunked(map(xmltv.channel_element, guide_channels(lineup))):
        yield chunk.encode()
    async for batch in guide.programme_batches(lineup.streams, now):
        elements = (element for epg_id, listed in batch for element in xmltv.programme_elements(epg_id, listed))
        for chunk in chunked(elements):
            yield chunk.encode()
    yield xmltv.EPILOGUE.encode()


async def _gzipped(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    compressor = zlib.compressobj(GZIP_STREAM_LEVEL, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    async for chunk in chunks:
        packed = compressor.compress(chunk)
        if packed:
            yield packed
    yield compressor.flush()


def _etags(value: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in value.split(",") if tag.strip()}


__all__ = [
    "BATCH_CHANNELS",
    "SHORT_EPG_LIMIT",
    "SHORT_EPG_MAX",
    "ArchiveCheck",
    "Guide",
    "data_table",
    "line_guide",
    "no_archive",
    "operator_guide",
    "short_epg",
    "window",
]
