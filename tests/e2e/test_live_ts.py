"""One viewer's path, end to end: real ffmpeg, real sockets, bytes an independent decoder accepts."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from headend import settings as settings_mod
from headend.settings import Settings
from tests.conftest import running_headend
from tests.tsutil import aligned, aprobe, continuity_errors, ffmpeg_children, open_stream, pid_of, read_for


async def test_ts_viewer_starts_with_psi_and_keyframe_and_decodes(
    settings: Settings, loop_ts: Path, tmp_path: Path
) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        status, headers, reader, writer = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
        assert status == 200
        assert headers["content-type"] == "video/mp2t"
        data = await read_for(reader, 3.0)
        writer.close()
    assert len(data) > 50_000
    assert aligned(data)
    assert pid_of(data[:188]) == 0, "the first packet must be the PAT"
    capture = tmp_path / "viewer.ts"
    capture.write_bytes(data[: len(data) // 188 * 188])
    probe = await aprobe(capture)
    assert probe.errors == "", probe.errors
    assert probe.frames > 25
    assert probe.key_flags[0] == 1, "the first decoded frame must be a keyframe"
    assert {"h264", "aac"} <= probe.codecs


async def test_warm_channel_zap_gets_gop_burst_at_once(settings: Settings, loop_ts: Path, tmp_path: Path) -> None:
    """A second viewer of a running channel starts at the cached keyframe: its first bytes decode at once."""
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        first = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
        await read_for(first[2], 2.5)
        status, _, reader, writer = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
        burst = await read_for(reader, 0.3)
        writer.close()
        first[3].close()
    assert status == 200
    assert pid_of(burst[:188]) == 0
    capture = tmp_path / "zap.ts"
    capture.write_bytes(burst[: len(burst) // 188 * 188])
    probe = await aprobe(capture)
    assert probe.frames >= 1
    assert probe.key_flags[0] == 1


async def test_fifty_viewers_share_one_ffmpeg(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        streams = await asyncio.gather(*(open_stream(headend.port, f"/stream/{ids[0]}.ts") for _ in range(50)))
        assert all(s[0] == 200 for s in streams)
        received = await asyncio.gather(*(read_for(s[2], 2.0) for s in streams))
        assert len(ffmpeg_children()) == 1
        for s in streams:
            s[3].close()
    assert all(len(r) > 20_000 and aligned(r) and pid_of(r[:188]) == 0 for r in received)


async def test_stuck_viewer_is_cut_while_others_play_on(settings: Settings, loop_ts: Path) -> None:
    """A viewer that stops reading is disconnected once it falls out of the buffer; the others see no gap."""
    settings = settings_mod.replace(settings, relay={"buffer_seconds": 3.0, "viewer_max_queue_bytes": 65536})
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        path = f"/stream/{ids[0]}.ts"
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", headend.port))
        stuck.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        healthy = [await open_stream(headend.port, path) for _ in range(3)]
        channel = headend.services.hub.get(ids[0]) if headend.services else None
        assert channel is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        reads = [asyncio.create_task(read_for(h[2], 14.0)) for h in healthy]
        while channel.status().viewers > 3 and loop.time() - started < 14:
            await asyncio.sleep(0.2)
        dropped_after = loop.time() - started
        received = await asyncio.gather(*reads)
        stuck.close()
        for h in healthy:
            h[3].close()
        assert channel.status().dropped_viewers == 1
    assert dropped_after < 14, "the stuck viewer was never disconnected"
    for data in received:
        assert len(data) > 300_000
        assert continuity_errors(data) == 0


async def test_on_demand_channel_stops_after_grace(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        _, _, reader, writer = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
        await read_for(reader, 1.0)
        procs = ffmpeg_children()
        assert len(procs) == 1
        writer.close()
        loop = asyncio.get_running_loop()
        left = loop.time()
        while ffmpeg_children() and loop.time() - left < settings.relay.idle_grace_s + 5:
            await asyncio.sleep(0.1)
        gone_after = loop.time() - left
        assert not ffmpeg_children()
        assert gone_after <= settings.relay.idle_grace_s + 2
        assert not procs[0].is_running()


async def test_unknown_channel_is_404_and_bad_ids_never_reach_the_relay(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, _ids):
        for path in (
            "/stream/999.ts",
            "/stream/0.ts",
            "/stream/99999999999.ts",
            "/stream/..%2f1.ts",
            "/stream/1.ts.bak",
        ):
            status, _, _, writer = await open_stream(headend.port, path)
            writer.close()
            assert status == 404, path
        assert not ffmpeg_children()
