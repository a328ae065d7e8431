"""pyxtream (the PyPI Xtream client, GPL-3, a test dependency only) logs in and loads the live catalogue.

It is synchronous (requests), so it runs in a worker thread while the server runs on the test's loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pyxtream import XTream

from tests.api.conftest import PASSWORD, World


def _load(base: str, cache: Path) -> XTream:
    client = XTream("headend", "alice", PASSWORD, base, cache_path=str(cache), reload_time_sec=-1, validate_json=True)
    assert client.state["authenticated"]
    assert client.load_iptv()
    return client


async def test_pyxtream_logs_in_and_loads_live_channels(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await asyncio.to_thread(_load, world.base, tmp_path)
    assert client.auth_data["user_info"]["username"] == "alice"
    assert client.account_expiration.days >= 29  # int(exp_date) worked
    live_groups = {group.name: group.group_id for group in client.groups if group.group_type == 0}
    assert {"News", "Sports", "Uncategorised"} <= set(live_groups)
    names = [channel.name for channel in client.channels]
    assert names[:2] == ["Campus TV", "Sports One"]
    assert len(names) == 3  # only alice's entitled, enabled channels
    campus = client.channels[0]
    assert campus.url == f"{world.base}/live/alice/{PASSWORD}/{world.channels['campus']}.ts"
    assert campus.group_title == "News"
    assert campus.epg_channel_id == "campus.tv"
    assert client.movies == []
    assert client.series == []
    out = capsys.readouterr().out
    assert "Failed validating" not in out  # validate_json=True prints each schema failure


async def test_pyxtream_sees_an_auth_failure(world: World, tmp_path: Path) -> None:
    def attempt() -> XTream:
        return XTream("headend", "alice", "wrong-password", world.base, cache_path=str(tmp_path), reload_time_sec=-1)

    # pyxtream reads exp_date from any 200 answer: the failure body has none, so it raises KeyError, which
    # is how it has always behaved against XC panels that answer {"user_info":{"auth":0}}.
    with pytest.raises(KeyError):
        await asyncio.to_thread(attempt)
