"""Import one EPG source: fetch (or find) the document, read it on a worker thread, store what we carry.

The flow of :meth:`EpgImporter.run`:

1. ``begin_import`` records a running import; the previous guide keeps serving throughout.
2. The document: a URL is downloaded into ``<epg_dir>/.downloads`` (:func:`~headend.epg.fetch.fetch_to_file`),
   a file source is read in place from the managed directory.
3. The XMLTV reader runs on **one dedicated thread** per import (lxml objects never cross threads); the
   event loop pulls batches of :data:`BATCH` entries from it and, while the thread reads the next batch,
   writes the current one through ``EpgStore.add_programmes`` (one short transaction per batch).
4. Guide channels come first in XMLTV, so the channel mapping (:mod:`headend.epg.mapping`) is built when the
   first programme arrives (or at the end of a document without programmes). Only programmes of matched
   channels inside the retention window (``now - epg.past_days`` … ``now + epg.future_days``) are kept.
5. ``finish_import`` swaps the new guide in atomically; then old programmes are pruned.

Any failure — a refused document (bomb, syntax error, caps), a dead URL, a database error, cancellation —
calls ``fail_import``: the previous guide stays. Headend errors give a failed :class:`ImportReport`;
cancellation and unexpected errors are re-raised after that. One import per source runs at a time: a second
:meth:`~EpgImporter.run` for the same source joins the running one and gets its report.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final

from headend.catalog.channels import ChannelStore
from headend.catalog.epg import EpgStore
from headend.catalog.epg_records import EpgSourceKind, EpgSourceRecord
from headend.epg.entries import GuideChannel, Problem, Programme, ReadLimits, ReadStats
from headend.epg.fetch import DOWNLOADS, MIB, fetch_to_file, source_path
from headend.epg.mapping import MappingResult, build_matches
from headend.epg.reader import open_document, read_xmltv
from headend.errors import HeadendError
from headend.redact import redact
from headend.settings import Settings

logger = logging.getLogger(__name__)

BATCH: Final = 2000  # entries per worker hand-off, rows per add_programmes call
PROBLEMS_KEPT: Final = 100  # problems carried in a report (the total is counted on)

Entry = GuideChannel | Programme | Problem


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where a running import is; handed to the ``progress`` callback after every batch and download chunk."""

    source: str
    phase: str  # "download", "read", "done"
    bytes: int  # downloaded so far (download), or document bytes read before decompression (read)
    xml_bytes: int  # decompressed XML bytes read
    programmes_read: int
    programmes_stored: int


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of one import (``ok`` False: the previous guide is still the one served)."""

    source: str
    source_id: int
    ok: bool
    message: str
    guide_channels: int = 0
    channels_matched: int = 0
    unmatched_channel_ids: tuple[int, ...] = ()
    programmes_read: int = 0
    programmes_stored: int = 0  # rows: a programme feeding two of our channels counts twice
    skipped_unmatched: int = 0  # programmes of guide channels we do not carry
    skipped_window: int = 0  # programmes outside the retention window
    problems: tuple[Problem, ...] = ()  # the first PROBLEMS_KEPT, with line numbers
    problems_total: int = 0
    bytes: int = 0  # the document as downloaded or stored (before decompression)
    xml_bytes: int = 0
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return self.skipped_unmatched + self.skipped_window


@dataclass(slots=True)
class _Tally:
    """The mutable counters of one running import."""

    source: EpgSourceRecord
    started: float
    stats: ReadStats = field(default_factory=ReadStats)
    downloaded: int = 0
    guide: list[GuideChannel] = field(default_factory=list)
    mapping: MappingResult | None = None
    read: int = 0
    stored: int = 0
    skipped_unmatched: int = 0
    skipped_window: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    late_channels: int = 0

    def report(self, ok: bool, message: str) -> ImportReport:
        mapping = self.mapping
        return ImportReport(
            source=self.source.name,
            source_id=self.source.id,
            ok=ok,
            message=message,
            guide_channels=len(self.guide) + self.late_channels,
            channels_matched=len(mapping.matches) if mapping else 0,
            unmatched_channel_ids=mapping.unmatched if mapping else (),
            programmes_read=self.read,
            programmes_stored=self.stored,
            skipped_unmatched=self.skipped_unmatched,
            skipped_window=self.skipped_window,
            problems=tuple(self.problems),
            problems_total=max(self.problems_total, self.stats.problems),
            bytes=max(self.downloaded, self.stats.compressed_bytes),
            xml_bytes=self.stats.xml_bytes,
            seconds=time.monotonic() - self.started,
        )

    def progress(self, phase: str) -> ImportProgress:
        size = self.downloaded if phase == "download" else self.stats.compressed_bytes
        return ImportProgress(self.source.name, phase, size, self.stats.xml_bytes, self.read, self.stored)

    def problem(self, problem: Problem) -> None:
        self.problems_total += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(problem)


class _ThreadReader:
    """The XMLTV reader on its own thread: opened, advanced and closed only there."""

    def __init__(self, path: Path, limits: ReadLimits, stats: ReadStats) -> None:
        self._path = path
        self._limits = limits
        self._stats = stats
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epg-read")
        self._stream: BinaryIO | None = None
        self._items: Iterator[Entry] | None = None

    def next_batch(self) -> asyncio.Future[list[Entry]]:
        """Start reading the next batch on the worker thread (an empty list at the end of the document)."""
        return asyncio.get_running_loop().run_in_executor(self._executor, self._batch)

    def _batch(self) -> list[Entry]:
        if self._items is None:
            self._stream = open_document(self._path, self._limits, self._stats)
            self._items = read_xmltv(self._stream, self._limits, self._stats)
        return list(itertools.islice(self._items, BATCH))

    def _close(self) -> None:
        close: Callable[[], Any] | None = getattr(self._items, "close", None)
        try:
            if close is not None:
                close()
        finally:
            if self._stream is not None:
                self._stream.close()

    async def aclose(self) -> None:
        """Close the reader on its thread (after any batch still being read), then let the thread go."""
        done = asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.shield(done)


def _forget(future: asyncio.Future[Any]) -> None:
    """A batch nobody will read: retrieve its outcome so it is never reported as unretrieved."""
    if not future.done():
        future.cancel()
    future.add_done_callback(lambda f: None if f.cancelled() else f.exception())


ProgressFn = Callable[[ImportProgress], None]


@dataclass(slots=True)
class _Running:
    task: asyncio.Task[ImportReport]
    listeners: list[ProgressFn]
    waiters: int = 0  # callers waiting on the task


def _notifier(listeners: list[ProgressFn]) -> ProgressFn:
    def notify(progress: ImportProgress) -> None:
        for listener in list(listeners):
            try:
                listener(progress)
            except Exception:  # a progress display must not break an import
                logger.exception("EPG import progress callback failed")

    return notify


class EpgImporter:
    """Runs imports of EPG sources (see the module doc); one at a time per source."""

    def __init__(
        self, store: EpgStore, channels: ChannelStore, settings: Settings, *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self._now = now
        self._running: dict[int, _Running] = {}

    def limits(self) -> ReadLimits:
        epg = self._settings.epg
        return ReadLimits(
            max_compressed_bytes=epg.max_download_mib * MIB,
            max_xml_bytes=epg.max_xml_mib * MIB,
            max_compression_ratio=epg.max_compression_ratio,
            max_programmes=epg.max_programmes,
        )

    def running(self, source_id: int) -> bool:
        return source_id in self._running

    async def run(self, source_id: int, progress: ProgressFn | None = None) -> ImportReport:
        """Import ``source_id`` now, or join its import already running; return the report.

        Cancelling the last caller waiting on an import cancels the import (the previous guide stays)."""
        entry = self._running.get(source_id) or await self._start(source_id)
        if progress is not None:
            entry.listeners.append(progress)
        entry.waiters += 1
        try:
            await asyncio.wait({entry.task})
        except asyncio.CancelledError:
            entry.waiters -= 1
            if entry.waiters == 0:
                entry.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({entry.task})
            raise
        finally:
            if progress is not None:
                entry.listeners.remove(progress)
        if entry.task.cancelled():
            raise HeadendError(f"the import of EPG source {entry.task.get_name()!r} was cancelled")
        return entry.task.result()

    async def refresh(self, source_id: int) -> None:
        """:meth:`run` for background work (the panel's and the API's "refresh now"): the outcome is logged and
        recorded on the source, a Headend error (the source vanished, a cancelled import) is not raised."""
        try:
            report = await self.run(source_id)
        except HeadendError as exc:
            logger.warning("EPG refresh of source %s did not run: %s", source_id, exc.message)
            return
        logger.info("EPG refresh of source %s: %s", source_id, "ok" if report.ok else "failed")

    async def _start(self, source_id: int) -> _Running:
        source = await self._store.get_source(source_id)  # NotFound before anything starts
        entry = self._running.get(source_id)  # another caller may have started it meanwhile
        if entry is not None:
            return entry
        listeners: list[ProgressFn] = []
        task = asyncio.create_task(self._import(source, _notifier(listeners)), name=source.name)
        entry = _Running(task, listeners)
        self._running[source_id] = entry

        def finished(_: asyncio.Task[ImportReport]) -> None:
            if self._running.get(source_id) is entry:
                del self._running[source_id]

        task.add_done_callback(finished)
        return entry

    async def aclose(self) -> None:
        """Cancel every running import (each records its failure; previous guides stay) and wait for them."""
        tasks = [entry.task for entry in self._running.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _import(self, source: EpgSourceRecord, notify: ProgressFn) -> ImportReport:
        tally = _Tally(source=source, started=time.monotonic())
        now = self._now()
        import_id = await self._store.begin_import(source.id)
        try:
            report = await self._import_into(import_id, tally, now, notify)
        except HeadendError as exc:
            message = redact(exc.message)
            await self._fail(import_id, source, message)
            logger.info("EPG import of %r failed: %s", source.name, message)
            return tally.report(False, message)
        except BaseException as exc:
            reason = "cancelled" if isinstance(exc, asyncio.CancelledError) else f"internal error: {type(exc).__name__}"
            await self._fail(import_id, source, reason)
            raise
        notify(tally.progress("done"))
        await self._prune(now)
        return report

    async def _fail(self, import_id: int, source: EpgSourceRecord, message: str) -> None:
        try:
            await asyncio.shield(self._store.fail_import(import_id, source.id, message))
        except (HeadendError, asyncio.CancelledError) as exc:
            logger.error("could not record the failed EPG import of %r: %r", source.name, exc)

    async def _prune(self, now: datetime) -> None:
        try:
            await self._store.prune(now - timedelta(days=self._settings.epg.past_days))
        except HeadendError as exc:
            logger.warning("pruning old EPG programmes failed: %s", exc.message)

    async def _import_into(self, import_id: int, tally: _Tally, now: datetime, notify: ProgressFn) -> ImportReport:
        source = tally.source
        channels = await self._channels.list_channels(enabled_only=True)
        overrides = await self._store.list_overrides()
        path, downloaded = await self._document(source, tally, notify)
        try:
            window = (
                now - timedelta(days=self._settings.epg.past_days),
                now + timedelta(days=self._settings.epg.future_days),
            )
            await self._read(
                path,
                import_id,
                tally,
                window,
                lambda guide: build_matches(source.id, guide, channels, overrides),
                notify,
            )
        finally:
            if downloaded:
                path.unlink(missing_ok=True)
        mapping = tally.mapping or build_matches(source.id, tally.guide, channels, overrides)
        tally.mapping = mapping
        message = _summary(tally)
        await self._store.finish_import(import_id, source.id, mapping.matches, message)
        return tally.report(True, message)

    async def _document(self, source: EpgSourceRecord, tally: _Tally, notify: ProgressFn) -> tuple[Path, bool]:
        if source.kind is EpgSourceKind.FILE:
            return source_path(self._settings, source.location), False

        def downloaded(size: int) -> None:
            tally.downloaded = size
            notify(tally.progress("download"))

        epg = self._settings.epg
        path = await fetch_to_file(
            source.location,
            self._settings.epg_dir / DOWNLOADS,
            max_bytes=epg.max_download_mib * MIB,
            timeout_s=epg.fetch_timeout_s,
            progress=downloaded,
        )
        return path, True

    async def _read(
        self,
        path: Path,
        import_id: int,
        tally: _Tally,
        window: tuple[datetime, datetime],
        match: Callable[[Sequence[GuideChannel]], MappingResult],
        notify: ProgressFn,
    ) -> None:
        reader = _ThreadReader(path, self.limits(), tally.stats)
        pending = reader.next_batch()
        rows: list[tuple[int, Programme]] = []
        try:
            while items := await pending:
                pending = reader.next_batch()  # the thread reads on while this batch is written
                for item in items:
                    if isinstance(item, Programme):
                        if tally.mapping is None:
                            tally.mapping = match(tally.guide)
                        _keep(item, tally, tally.mapping, window, rows)
                    elif isinstance(item, GuideChannel):
                        _guide_channel(item, tally)
                    else:
                        tally.problem(item)
                if len(rows) >= BATCH:
                    await self._write(import_id, tally, rows)
                    rows = []
                notify(tally.progress("read"))
            if rows:
                await self._write(import_id, tally, rows)
        finally:
            _forget(pending)
            await reader.aclose()

    async def _write(self, import_id: int, tally: _Tally, rows: list[tuple[int, Programme]]) -> None:
        await self._store.add_programmes(import_id, tally.source.id, rows)
        tally.stored += len(rows)


def _keep(
    programme: Programme,
    tally: _Tally,
    mapping: MappingResult,
    window: tuple[datetime, datetime],
    rows: list[tuple[int, Programme]],
) -> None:
    tally.read += 1
    ours = mapping.channels_for(programme.channel)
    if not ours:
        tally.skipped_unmatched += 1
    elif programme.stop <= window[0] or programme.start >= window[1]:
        tally.skipped_window += 1
    else:
        rows.extend((channel_id, programme) for channel_id in ours)


def _guide_channel(channel: GuideChannel, tally: _Tally) -> None:
    if tally.mapping is None:
        tally.guide.append(channel)
        return
    tally.late_channels += 1
    tally.problem(Problem(channel.line, f"channel {channel.id!r} comes after the first programme: not matched"))


def _summary(tally: _Tally) -> str:
    matched = len(tally.mapping.matches) if tally.mapping else 0
    text = f"{matched} channels matched, {tally.stored} programmes stored of {tally.read} read"
    problems = max(tally.problems_total, tally.stats.problems)
    return text + (f", {problems} problem{'s' if problems != 1 else ''}" if problems else "")


__all__ = ["BATCH", "EpgImporter", "ImportProgress", "ImportReport", "utcnow"]
