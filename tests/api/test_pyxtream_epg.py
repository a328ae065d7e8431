"""pyxtream (the PyPI Xtream client, GPL-3, a test dependency only) loads a channel's short EPG and its whole
listing table from a running Headend (real clock: the programmes are placed around the current time).

pyxtream is synchronous (requests), so it runs in a worker thread while the server runs on the test's loop.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyxtream import XTream

from tests.api.conftest import PASSWORD, World
from tests.api.epg_data import add_guide, schedule


def _load(base: str, cache: Path, stream_id: int) -> tuple[Any, Any, Any]:
    client = XTream("headend", "alice", PASSWORD, base, cache_path=str(cache), reload_time_sec=-1, validate_json=True)
    assert client.state["authenticated"]
    return (
        client.liveEpgByStream(stream_id),
        client.liveEpgByStreamAndLimit(stream_id, 2),
        client.allLiveEpgByStream(stream_id),
    )


def _title(listing: dict[str, Any]) -> str:
    return base64.b64decode(listing["title"], validate=True).decode()


async def test_pyxtream_loads_the_short_epg(world: World, tmp_path: Path) -> None:
    campus = world.channels["campus"]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    listed = schedule(now - timedelta(minutes=20), 8, minutes=30, title="Émission ☃")
    await add_guide(world.services, {campus: listed})
    short, limited, table = await asyncio.to_thread(_load, world.base, tmp_path, campus)
    assert [_title(item) for item in short["epg_listings"]] == [f"Émission ☃ {i}" for i in range(4)]
    assert [_title(item) for item in limited["epg_listings"]] == ["Émission ☃ 0", "Émission ☃ 1"]
    assert len(table["epg_listings"]) == 8
    first = short["epg_listings"][0]
    assert first["now_playing"] == 1
    assert first["channel_id"] == "campus.tv"
    assert first["stream_id"] == str(campus)
    assert int(first["start_timestamp"]) == int(listed[0].start.timestamp())
    assert [item["now_playing"] for item in table["epg_listings"]].count(1) == 1


async def test_pyxtream_gets_nothing_for_another_lines_stream(world: World, tmp_path: Path) -> None:
    other = world.channels["other"]  # bob's
    now = datetime.now(UTC)
    await add_guide(world.services, {other: schedule(now - timedelta(minutes=5), 3)})
    short, limited, table = await asyncio.to_thread(_load, world.base, tmp_path, other)
    assert short == limited == table == {"epg_listings": []}
