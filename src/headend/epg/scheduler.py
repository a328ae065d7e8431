"""The EPG refresh schedule: while the server runs, import every source that is due, one at a time.

With ``epg.refresh`` on, :meth:`EpgScheduler.start` runs a background task that first deletes download
files a crash left behind, then every :data:`INTERVAL_S` imports
``EpgStore.due_sources`` one after the other. A source is due when its ``refresh_hours`` have passed since its
last import, successful or not, so a broken source is retried on its schedule, not every minute. Failures
are logged (credentials redacted) and recorded on the source by the importer; nothing ends the loop but
:meth:`EpgScheduler.aclose`, which cancels it (and so the import running, whose previous guide stays).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Final

from headend.catalog.epg import EpgStore
from headend.epg.fetch import DOWNLOADS
from headend.epg.importer import EpgImporter, ImportReport, utcnow
from headend.errors import HeadendError
from headend.redact import redact
from headend.settings import Settings

logger = logging.getLogger(__name__)

INTERVAL_S: Final = 60.0
FIRST_DELAY_S: Final = 5.0  # let the server finish starting before the first pass
STALE_DOWNLOAD_S: Final = 24 * 3600.0

Sleep = Callable[[float], Awaitable[None]]


class EpgScheduler:
    """Imports due EPG sources in the background (see the module doc)."""

    def __init__(
        self,
        store: EpgStore,
        importer: EpgImporter,
        settings: Settings,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Sleep = asyncio.sleep,
        interval_s: float = INTERVAL_S,
        first_delay_s: float = FIRST_DELAY_S,
    ) -> None:
        self._store = store
        self._importer = importer
        self._settings = settings
        self._now = now
        self._sleep = sleep
        self._interval_s = interval_s
        self._first_delay_s = first_delay_s
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background loop (nothing happens when ``epg.refresh`` is off)."""
        if self._settings.epg.refresh and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="epg-scheduler")

    async def aclose(self) -> None:
        """Stop the loop, cancelling an import in progress; returns once everything has stopped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_due(self) -> list[ImportReport]:
        """One pass: import every due source, one at a time; returns the reports of the imports that ran."""
        reports = []
        for source in await self._store.due_sources(self._now()):
            try:
                report = await self._importer.run(source.id)
            except HeadendError as exc:  # e.g. the source was deleted meanwhile
                logger.warning("EPG refresh of %r failed: %s", source.name, redact(exc.message))
                continue
            except Exception:
                logger.exception("EPG refresh of %r failed unexpectedly", source.name)
                continue
            if report.ok:
                logger.info("EPG source %r refreshed: %s", report.source, report.message)
            else:
                logger.warning("EPG refresh of %r failed: %s", report.source, redact(report.message))
            reports.append(report)
        return reports

    async def _loop(self) -> None:
        await self._sleep(self._first_delay_s)
        await self._tidy()
        while True:
            try:
                await self.run_due()
            except Exception:  # the database is away, ...: try again next time
                logger.exception("EPG refresh pass failed")
            await self._sleep(self._interval_s)

    async def _tidy(self) -> None:
        # Unfinished imports are removed by Headend.start (EpgStore.cleanup_abandoned), before anything runs.
        await asyncio.to_thread(remove_stale_downloads, self._settings.epg_dir / DOWNLOADS)


def remove_stale_downloads(directory: Path, older_than_s: float = STALE_DOWNLOAD_S) -> int:
    """Delete download files a crash left in ``directory`` (older than ``older_than_s``); returns how many."""
    removed = 0
    cutoff = time.time() - older_than_s
    with contextlib.suppress(FileNotFoundError):
        for path in directory.iterdir():
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
    return removed


__all__ = ["FIRST_DELAY_S", "INTERVAL_S", "EpgScheduler", "remove_stale_downloads"]
