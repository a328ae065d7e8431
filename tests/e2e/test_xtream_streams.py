"""Subscriber stream URLs, end to end: ffprobe decodes every URL form, real players play TS and HLS, and the
HLS playlist a subscriber gets carries signed segment tokens instead of the password."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from headend.settings import Settings
from tests.delivery.xtream_env import HLS_URI, Line, XtreamEnv, fetch, segment_uris, xtream_headend
from tests.e2e.test_players import mpv_plays, players, vlc_plays


async def ffprobe_url(url: str, *, packets: int = 120) -> tuple[list[int], set[str], str]:
    """Decode the first ``packets`` packets of ``url``: video key flags, codecs seen, decoder errors."""
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rw_timeout", "15000000", "-probesize", "200000",
        "-analyzeduration", "500000", "-read_intervals", f"%+#{packets}",
        "-show_entries", "frame=media_type,key_frame:stream=codec_name", "-of", "csv=p=0", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    rows = [line.split(",") for line in out.decode().split()]
    flags = [int(row[1]) for row in rows if row[0] == "video" and len(row) > 1]
    codecs = {row[0] for row in rows if len(row) == 1}
    return flags, codecs, err.decode(errors="replace")


@pytest.mark.slow
async def test_ffprobe_decodes_every_ts_url_form(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)]]) as env:
        line = await env.line("alice", max_connections=3)
        cid = env.entitled[0]
        for path in (line.live(cid), line.live(cid, ""), line.short(cid), line.short(cid, "")):
            flags, codecs, errors = await ffprobe_url(env.url(path))
            assert errors == "", (path.replace(line.password, "***"), errors)
            assert len(flags) >= 25
            assert flags[0] == 1, "decoding must start at a keyframe"
            assert {"h264", "aac"} <= codecs
        assert await env.wait_active(line, 0) == 0


async def test_hls_playlist_has_tokens_not_the_password_and_ffprobe_reads_it(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)]]) as env:
        line = await env.line("bob", max_connections=2)
        cid = env.entitled[0]
        status, body = await fetch(env.port, line.live(cid, ".m3u8"))
        assert status == 200
        assert body.startswith(b"#EXTM3U")
        uris = segment_uris(body)
        assert uris
        assert line.password.encode() not in body
        assert line.username.encode() not in body
        for uri in uris:
            match = HLS_URI.fullmatch(uri)
            assert match is not None, uri
            assert int(match["channel"]) == cid
        again = segment_uris((await fetch(env.port, line.short(cid, ".m3u8")))[1])
        assert again
        assert all(HLS_URI.fullmatch(u) for u in again)
        flags, codecs, errors = await ffprobe_url(env.url(line.live(cid, ".m3u8")))
        assert errors == ""
        assert len(flags) >= 25
        assert flags[0] == 1
        assert "h264" in codecs
        assert env.active_count(line) == 2, "one HLS session per device, however often it refreshes"


async def url_from_get_php(env: XtreamEnv, line: Line, ext: str) -> str:
    """The first stream URL of the line's get.php playlist, in the output format ``ext`` asks for."""
    output = "ts" if ext == ".ts" else "m3u8"
    query = f"username={line.username}&password={line.password}&type=m3u_plus&output={output}"
    status, body = await fetch(env.port, f"/get.php?{query}")
    assert status == 200
    urls = [row for row in body.decode().splitlines() if row and not row.startswith("#")]
    assert urls[0].endswith(ext)
    assert "/live/" in urls[0]
    return urls[0]


@players
@pytest.mark.slow
@pytest.mark.parametrize("ext", [".ts", ".m3u8"])
async def test_mpv_plays_a_get_php_url(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture, ext: str
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)]]) as env:
        line = await env.line("carol", max_connections=1)
        out = await mpv_plays(await url_from_get_php(env, line, ext))
    assert re.search(r"PLAYING h264 .*320x180", out), out[-2000:].replace(line.password, "***")


@players
@pytest.mark.slow
@pytest.mark.parametrize("ext", [".ts", ".m3u8"])
async def test_vlc_plays_a_get_php_url(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture, ext: str
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)]]) as env:
        line = await env.line("dave", max_connections=1)
        out = await vlc_plays(await url_from_get_php(env, line, ext))
    assert "Received first picture" in out, out[-2000:].replace(line.password, "***")
