"""Background work the panel starts: M3U imports and EPG refreshes, kept in memory while the server runs.

A job is an asyncio task; its page polls its progress. The registry keeps the latest :data:`KEEP` imports
(older finished ones are forgotten) and at most one refresh per EPG source. A job that fails unexpectedly is
logged with its traceback and shown as failed (never the traceback).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.requests import Request

from headend.importing import ImportReport

logger = logging.getLogger(__name__)

KEEP: Final = 20


@dataclass(slots=True)
class ImportJob:
    """One M3U import: its live report (updated in place by the importer) and how it ended."""

    id: str
    filename: str
    size: int
    dry_run: bool
    started: float = field(default_factory=time.monotonic)
    report: ImportReport = field(default_factory=ImportReport)
    progress_calls: int = 0
    done: bool = False
    error: str = ""
    task: asyncio.Task[None] | None = None


class WebJobs:
    def __init__(self, tracked: set[asyncio.Task[None]]) -> None:
        """``tracked``: the app's background tasks, which the server cancels and awaits when it stops."""
        self.imports: OrderedDict[str, ImportJob] = OrderedDict()
        self.epg: dict[int, asyncio.Task[None]] = {}
        self._tracked = tracked

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tracked.add(task)
        task.add_done_callback(self._tracked.discard)

    def start_import(
        self, filename: str, size: int, dry_run: bool, work: Callable[[ImportJob], Coroutine[Any, Any, None]]
    ) -> ImportJob:
        job = ImportJob(id=secrets.token_urlsafe(9), filename=filename, size=size, dry_run=dry_run)
        self.imports[job.id] = job
        self._forget_old()
        job.task = asyncio.get_running_loop().create_task(work(job))
        job.task.add_done_callback(lambda task: _finished(job, task))
        self._track(job.task)
        return job

    def start_epg(self, source_id: int, work: Coroutine[Any, Any, None]) -> bool:
        """Start a refresh of ``source_id`` unless one started here is still running (False then)."""
        running = self.epg.get(source_id)
        if running is not None and not running.done():
            work.close()
            return False
        task = asyncio.get_running_loop().create_task(work)
        task.add_done_callback(_log_failure)
        self._track(task)
        self.epg[source_id] = task
        return True

    def epg_running(self, source_id: int) -> bool:
        task = self.epg.get(source_id)
        return task is not None and not task.done()

    def _forget_old(self) -> None:
        for job_id in [j.id for j in self.imports.values() if j.done][: max(0, len(self.imports) - KEEP)]:
            del self.imports[job_id]


def _finished(job: ImportJob, task: asyncio.Task[None]) -> None:
    job.done = True
    if task.cancelled():
        job.error = job.error or "the import was cancelled (the server is stopping)"
    elif task.exception() is not None:
        logger.error("M3U import %s failed", job.id, exc_info=task.exception())
        job.error = job.error or "the import failed unexpectedly; the server log has the details"


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("EPG refresh failed", exc_info=task.exception())


def web_jobs(request: Request) -> WebJobs:
    """The application's job registry (made on first use)."""
    jobs = getattr(request.app.state, "web_jobs", None)
    if not isinstance(jobs, WebJobs):
        jobs = WebJobs(request.app.state.background_tasks)
        request.app.state.web_jobs = jobs
    return jobs


__all__ = ["ImportJob", "WebJobs", "web_jobs"]
