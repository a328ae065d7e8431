"""Connection limits on the subscriber routes (reliability.md §2.2, T25): refuse or end the oldest, zaps that
never count twice and never leave phantom sessions, HLS refreshes that are one session."""

from __future__ import annotations

from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.settings import Settings
from tests.delivery.xtream_env import Response, XtreamEnv, xtream_headend
from tests.tsutil import read_for


async def _watch(env: XtreamEnv, path: str, ua: str) -> Response:
    response = await env.request(path, ua=ua)
    if response.status == 200:
        assert await read_for(response.reader, 2.0, limit=1), "a granted stream sends media"
    return response


async def test_third_concurrent_stream_is_refused(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)], [str(loop_ts)]], entitled=2) as env:
        line = await env.line("alice", max_connections=2)
        a, b = env.entitled
        first = await _watch(env, line.live(a), "box-1")
        second = await _watch(env, line.short(b), "box-2")
        third = await env.request(line.live(b), ua="box-3")
        third_body = await third.body()
        third.close()
        hls = await env.fetch(line.live(a, ".m3u8"), ua="box-4")
        assert (first.status, second.status, third.status, hls[0]) == (200, 200, 403, 403)
        assert b"TooManyConnections" in third_body
        assert env.active_count(line) == 2
        assert not await first.closed_by_server(0.3), "a refused newcomer must not disturb the others"
        first.close()
        second.close()
        assert await env.wait_active(line, 0) == 0


async def test_end_oldest_disconnects_the_oldest_viewer(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_mod.replace(settings, subscribers={"connection_policy": "end_oldest"})
    async with xtream_headend(settings, caplog, [[str(loop_ts)]]) as env:
        line = await env.line("bob", max_connections=2)
        cid = env.entitled[0]
        oldest = await _watch(env, line.live(cid), "box-1")
        middle = await _watch(env, line.live(cid), "box-2")
        newest = await _watch(env, line.live(cid), "box-3")
        assert (oldest.status, middle.status, newest.status) == (200, 200, 200)
        assert await oldest.closed_by_server(5.0), "the oldest viewer's socket must be closed"
        assert not await middle.closed_by_server(0.3)
        assert env.active_count(line) == 2
        middle.close()
        newest.close()
        assert await env.wait_active(line, 0) == 0


async def test_two_hundred_rapid_zaps_are_never_refused_and_leave_no_phantoms(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Half the zaps close the old stream first, half open the new one first (players do both)."""
    async with xtream_headend(settings, caplog, [[str(loop_ts)], [str(loop_ts)]], entitled=2) as env:
        line = await env.line("carol", max_connections=1)
        previous: Response | None = None
        statuses = []
        for zap in range(200):
            path = line.live(env.entitled[zap % 2], "" if zap % 3 else ".ts")
            if previous is not None and zap % 2:
                previous.close()
            current = await env.request(path, ua="TiviMate/5.0")
            statuses.append(current.status)
            if previous is not None and not zap % 2:
                assert await previous.closed_by_server(5.0), "a zap from the same device replaces the old stream"
                previous.close()
            previous = current
            assert env.active_count(line) == 1
        assert previous is not None
        previous.close()
        assert statuses == [200] * 200
        assert await env.wait_active(line, 0) == 0, "phantom sessions after the last zap"


async def test_hls_refreshes_are_one_session_and_count_against_the_limit(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)], [str(loop_ts)]], entitled=2) as env:
        line = await env.line("dave", max_connections=1)
        cid, other = env.entitled
        refreshes = [(await env.fetch(line.live(cid, ".m3u8"), ua="Kodi/21"))[0] for _ in range(6)]
        assert refreshes == [200] * 6
        assert env.active_count(line) == 1
        zaps = [(await env.fetch(line.live((other, cid)[n % 2], ".m3u8"), ua="Kodi/21"))[0] for n in range(6)]
        assert zaps == [200] * 6, "an HLS zap from the same device replaces its session (no ban)"
        assert env.active_count(line) == 1
        other_device = await env.fetch(line.live(cid), ua="box-2")
        assert other_device[0] == 403
        head = await env.fetch(line.live(cid), ua="box-2", method="HEAD")
        assert head[0] == 200, "a HEAD probe opens no session, so the limit does not apply"
        assert env.active_count(line) == 1
