"""HLS from the same single ffmpeg: a rolling playlist of GOP-aligned segments held in memory."""

from __future__ import annotations

from pathlib import Path

import httpx

from headend.settings import Settings
from tests.conftest import running_headend
from tests.tsutil import aprobe, ffmpeg_children, open_stream, pid_of, read_for


def segment_uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def test_playlist_segments_each_start_with_a_keyframe(settings: Settings, loop_ts: Path, tmp_path: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        base = f"http://127.0.0.1:{headend.port}/stream/"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            first = await client.get(f"{ids[0]}.m3u8")
            assert first.status_code == 200
            assert first.headers["content-type"] == "application/vnd.apple.mpegurl"
            text = first.text
            assert text.startswith("#EXTM3U")
            assert "#EXT-X-TARGETDURATION:" in text
            uris = segment_uris(text)
            assert uris
            bodies = []
            for uri in uris:
                seg = await client.get(uri)
                assert seg.status_code == 200
                assert seg.headers["content-type"] == "video/mp2t"
                bodies.append(seg.content)
            assert (await client.get(f"{ids[0]}/999999.ts")).status_code == 404
    for index, body in enumerate(bodies):
        assert pid_of(body[:188]) == 0
        path = tmp_path / f"seg{index}.ts"
        path.write_bytes(body)
        probe = await aprobe(path)
        assert probe.errors == "", probe.errors
        assert probe.frames > 0
        assert probe.key_flags[0] == 1


async def test_ts_and_hls_viewers_share_one_ffmpeg(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        _, _, reader, writer = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}/stream/", timeout=30) as client:
            for _ in range(3):
                assert (await client.get(f"{ids[0]}.m3u8")).status_code == 200
        assert len(await read_for(reader, 1.0)) > 0
        assert len(ffmpeg_children()) == 1
        writer.close()


async def test_playlist_advances(settings: Settings, loop_ts: Path) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{headend.port}/stream/", timeout=30) as client:
            before = segment_uris((await client.get(f"{ids[0]}.m3u8")).text)
            _, _, reader, writer = await open_stream(headend.port, f"/stream/{ids[0]}.ts")
            await read_for(reader, 3.0)
            writer.close()
            after = segment_uris((await client.get(f"{ids[0]}.m3u8")).text)
    assert after[-1] != before[-1]
