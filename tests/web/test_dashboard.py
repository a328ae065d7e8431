"""The dashboard's live fragment: running channels with their state, active source and viewers, and recent
ingest events (failovers and errors), which stay listed after the channel stops."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.web.conftest import Panel, panel_server, web_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def panel(tmp_path_factory: pytest.TempPathFactory, loop_ts: Path) -> AsyncIterator[Panel]:
    settings = web_settings(tmp_path_factory.mktemp("dashboard") / "data")
    missing = tmp_path_factory.mktemp("nothing") / "missing.ts"
    async with panel_server(settings, [[str(missing), str(loop_ts)]]) as panel:
        yield panel


async def test_dashboard_shows_a_failover_and_keeps_it_after_the_channel_stops(panel: Panel) -> None:
    channel_id = panel.channel_ids[0]
    support = await panel.login("support")
    started = asyncio.Event()

    async def watch() -> None:
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("GET", f"{panel.base_url}/stream/{channel_id}.ts") as response,
        ):
            async for _chunk in response.aiter_raw():
                started.set()

    viewer = asyncio.create_task(watch())
    try:
        await asyncio.wait_for(started.wait(), 30)  # the first source fails, the second plays
        fragment = (await support.get("/admin/dashboard/live")).text
        row = re.search(rf'<tr data-channel-id="{channel_id}">(.*?)</tr>', fragment, re.S)
        assert row is not None
        assert "Loop 1" in row.group(1)
        assert 'class="state state-live"' in row.group(1)
        assert "#2 file" in row.group(1)  # the backup source is the active one
        assert re.search(r'<td class="n viewers">\s*1\s*</td>', row.group(1))
        assert re.search(r"<td>failover</td>", fragment)
        assert 'id="stat-viewers">1<' in fragment
    finally:
        viewer.cancel()
        await asyncio.gather(viewer, return_exceptions=True)
    await panel.services.hub.stop(channel_id)
    after = (await support.get("/admin/dashboard/live")).text
    assert f'data-channel-id="{channel_id}"' not in after  # no longer running
    assert "<td>failover</td>" in after  # its events are still listed
    page = await support.get("/admin")
    assert page.status_code == 200
    assert 'hx-get="/admin/dashboard/live" hx-trigger="every 2s"' in page.text
