"""Killing the primary source fails over to the backup; viewers stay connected and keep decoding."""

from __future__ import annotations

from pathlib import Path

from headend.settings import Settings
from tests.conftest import running_headend
from tests.fakes.upstream import Upstream
from tests.tsutil import aligned, aprobe, open_stream, pid_of, read_for


async def test_primary_killed_viewer_keeps_decodable_video(settings: Settings, loop_ts: Path, tmp_path: Path) -> None:
    async with Upstream(loop_ts) as primary, running_headend(settings, [[primary.url, str(loop_ts)]]) as (headend, ids):
        status, _, reader, writer = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
        assert status == 200
        before = await read_for(reader, 2.0)
        await primary.stop()
        after = await read_for(reader, 8.0)
        channel = headend.services.hub.get(ids[0]) if headend.services else None
        assert channel is not None
        ingest = channel.status().ingest
        writer.close()
    assert len(before) > 0
    assert ingest is not None
    assert ingest.active_index == 1
    assert ingest.failovers >= 1
    assert aligned(after)
    tail = after[(len(after) // 376) * 188 :]  # the second half, on a packet boundary
    # the tail starts mid-stream: cut the capture at its first PAT
    start = next(i for i in range(0, len(tail), 188) if pid_of(tail[i : i + 188]) == 0)
    capture = tmp_path / "after.ts"
    capture.write_bytes(tail[start:])
    probe = await aprobe(capture)
    assert probe.frames > 25, "the viewer stopped receiving video after the primary died"
