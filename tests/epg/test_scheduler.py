"""The refresh schedule with an injected clock and sleep: due sources are imported one at a time, a failing
source is recorded and retried on its own schedule, and closing the scheduler cancels cleanly."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from headend import settings as settings_mod
from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind
from headend.epg.fetch import DOWNLOADS
from headend.epg.scheduler import EpgScheduler, remove_stale_downloads
from tests.epg.guide_server import GuideServer
from tests.epg.importer_env import NOW, Env, env, epg_settings, good_guide, server

__all__ = ["env", "epg_settings", "server"]  # fixtures


class Ticks:
    """An injected ``sleep``: records every wait and returns only when the test lets it."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._go: asyncio.Queue[None] = asyncio.Queue()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self._go.get()

    def tick(self) -> None:
        self._go.put_nowait(None)


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_due_sources_are_imported_and_a_failing_one_does_not_stop_the_loop(env: Env) -> None:
    good = await env.file_source("good.xml", good_guide())
    broken = await env.file_source("broken.xml", b"<tv><programme")
    manual = await env.store.create_source(
        EpgSourceInput(name="manual", kind=EpgSourceKind.FILE, location="good.xml", refresh_hours=0)
    )
    ticks = Ticks()
    scheduler = EpgScheduler(env.store, env.importer, env.settings, now=env.clock, sleep=ticks)
    scheduler.start()
    try:
        await until(lambda: len(ticks.waits) == 1)
        assert ticks.waits == [5.0], "the first pass waits for the server to finish starting"
        ticks.tick()
        await until(lambda: len(ticks.waits) == 2)
        assert ticks.waits[1] == 60.0
        sources = {s.id: s for s in await env.store.list_sources()}
        assert sources[good].last_status == "ok"
        assert sources[good].programmes == 12
        assert sources[broken].last_status == "failed"
        assert "syntax error" in sources[broken].last_message
        assert sources[manual.id].last_status == "", "refresh_hours = 0: only on demand"
        assert scheduler.running

        ticks.tick()  # a minute later nothing is due: nothing is imported again
        await until(lambda: len(ticks.waits) == 3)
        again = {s.id: s for s in await env.store.list_sources()}
        assert again[good].last_import_at == sources[good].last_import_at
        assert again[broken].last_import_at == sources[broken].last_import_at

        env.clock.value = NOW + timedelta(hours=24)  # the default refresh period later both are due again
        env.write("broken.xml", good_guide("fixed "))
        ticks.tick()
        await until(lambda: len(ticks.waits) == 4)
        later = {s.id: s for s in await env.store.list_sources()}
        assert later[good].last_import_at == NOW + timedelta(hours=24)
        assert later[broken].last_status == "ok"
    finally:
        await scheduler.aclose()
    assert not scheduler.running


async def test_run_due_reports_each_import(env: Env) -> None:
    await env.file_source("one.xml", good_guide())
    await env.file_source("two.xml", b"not xml at all")
    scheduler = EpgScheduler(env.store, env.importer, env.settings, now=env.clock)
    reports = await scheduler.run_due()
    assert [(r.source, r.ok) for r in reports] == [("one.xml", True), ("two.xml", False)]
    assert await scheduler.run_due() == []


async def test_aclose_cancels_an_import_in_progress(env: Env, server: GuideServer) -> None:
    server.route("/slow.xml", body=good_guide(), stall_after=100)
    source = await env.store.create_source(
        EpgSourceInput(name="slow", kind=EpgSourceKind.URL, location=server.url("/slow.xml"))
    )
    ticks = Ticks()
    scheduler = EpgScheduler(env.store, env.importer, env.settings, now=env.clock, sleep=ticks)
    scheduler.start()
    await until(lambda: len(ticks.waits) == 1)
    ticks.tick()
    await until(lambda: env.importer.running(source.id))
    await until(lambda: server.requests["/slow.xml"] == 1)
    await scheduler.aclose()
    assert not env.importer.running(source.id)
    recorded = await env.store.get_source(source.id)
    assert (recorded.last_status, recorded.last_message) == ("failed", "cancelled")
    assert list((env.settings.epg_dir / DOWNLOADS).iterdir()) == []


async def test_refresh_off_starts_nothing(env: Env) -> None:
    await env.file_source("one.xml", good_guide())
    settings = settings_mod.replace(env.settings, epg={"refresh": False})
    ticks = Ticks()
    scheduler = EpgScheduler(env.store, env.importer, settings, now=env.clock, sleep=ticks)
    scheduler.start()
    await asyncio.sleep(0.05)
    assert not scheduler.running
    assert ticks.waits == []
    await scheduler.aclose()


def test_stale_downloads_are_removed(tmp_path: Path) -> None:
    old, new = tmp_path / "download-old.part", tmp_path / "download-new"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    assert remove_stale_downloads(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["download-new"]
    assert remove_stale_downloads(tmp_path / "missing") == 0
