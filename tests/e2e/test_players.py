"""Real players play both delivery formats: mpv and VLC (run as an unprivileged user, as VLC insists)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from headend.settings import Settings
from tests.conftest import running_headend


async def _run(*argv: str, timeout: float = 40) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace")


async def mpv_plays(url: str) -> str:
    code, out = await _run(
        "mpv", "--no-config", "--ytdl=no", "--vo=null", "--ao=null", "--frames=50", "--term-status-msg=",
        "--term-playing-msg=PLAYING ${video-codec} ${width}x${height}", url,
    )  # fmt: skip
    assert code == 0, out
    return out


async def vlc_plays(url: str) -> str:
    prefix = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    _code, out = await _run(
        *prefix, "env", "HOME=/tmp", "cvlc", "-I", "dummy", "--vout=dummy", "--aout=dummy", "--play-and-exit",
        "--run-time=5", "-vv", url,
    )  # fmt: skip
    return out


players = pytest.mark.skipif(not (shutil.which("mpv") and shutil.which("cvlc")), reason="mpv/VLC not installed")


@players
@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".ts", ".m3u8"])
async def test_mpv_plays(settings: Settings, loop_ts: Path, suffix: str) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        out = await mpv_plays(f"http://127.0.0.1:{headend.port}/stream/{ids[0]}{suffix}")
    assert re.search(r"PLAYING h264 .*320x180", out), out[-2000:]


@players
@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".ts", ".m3u8"])
async def test_vlc_plays(settings: Settings, loop_ts: Path, suffix: str) -> None:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        out = await vlc_plays(f"http://127.0.0.1:{headend.port}/stream/{ids[0]}{suffix}")
    assert "Received first picture" in out, out[-2000:]
