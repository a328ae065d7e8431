"""FfmpegProcess with the real ffmpeg: output, progress, redacted logs, group stop, no zombies; both loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from headend.ingest.ffmpeg import build_argv
from headend.ingest.process import FfmpegProcess, Progress, parse_progress
from headend.ingest.sources import Profile, SourceKind, SourceSpec
from tests.fakes.media import ffprobe_frames
from tests.ingest.conftest import BOTH_LOOPS, is_running, small_settings, wait_gone

PATTERN = SourceSpec(SourceKind.TESTPATTERN, label="process test")
SMALL = Profile(max_height=180, video_bitrate_kbps=300, audio_bitrate_kbps=64, gop_seconds=1.0)


def pattern_argv(ffmpeg: str) -> list[str]:
    return build_argv(ffmpeg, PATTERN, SMALL, small_settings())


@BOTH_LOOPS
async def test_testpattern_output_decodes_and_reports_progress(ffmpeg_bin: str) -> None:
    data = bytearray()
    progress: list[Progress] = []
    proc = FfmpegProcess(pattern_argv(ffmpeg_bin), on_stdout=data.extend, on_progress=progress.append, log_name="t")
    await proc.start()
    await asyncio.sleep(2.5)
    code = await proc.stop()
    assert code is not None
    assert proc.returncode == code
    assert data[:1] == b"\x47"
    codec, frames = ffprobe_frames(bytes(data))
    assert codec == "h264"
    assert frames >= 25
    times = [p.out_time_us for p in progress if p.out_time_us]
    assert len(times) >= 2
    assert times == sorted(times)
    assert times[-1] > 1_000_000


@BOTH_LOOPS
async def test_stderr_is_redacted_logged_and_kept(ffmpeg_bin: str, caplog: pytest.LogCaptureFixture) -> None:
    url = "http://alice:Sup3rSecret@127.0.0.1:9/live/alice/Sup3rSecret/1.ts"  # port 9: connection refused
    argv = build_argv(ffmpeg_bin, SourceSpec(SourceKind.HTTP, url), Profile(), small_settings())
    proc = FfmpegProcess(argv, on_stdout=lambda _: None, log_name="ch-redact")
    caplog.set_level(logging.WARNING, logger="headend.ingest.process")
    await proc.start()
    code = await asyncio.wait_for(proc.wait(), 10)
    assert code != 0
    assert proc.recent_lines, "ffmpeg said nothing about a refused connection"
    assert "Sup3rSecret" not in caplog.text
    assert "Sup3rSecret" not in " ".join(proc.recent_lines)
    assert "ch-redact" in caplog.text
    assert "http://***@127.0.0.1:9/live/***/***/1.ts" in caplog.text


@BOTH_LOOPS
async def test_stop_is_idempotent_and_reaps(ffmpeg_bin: str) -> None:
    proc = FfmpegProcess(pattern_argv(ffmpeg_bin), on_stdout=lambda _: None, log_name="t")
    assert await proc.stop() is None  # never started: nothing to do
    await proc.start()
    pid = proc.pid
    assert pid is not None
    assert os.getpgid(pid) == pid  # leads its own process group
    await asyncio.sleep(0.3)
    codes = await asyncio.gather(proc.stop(), proc.stop())
    assert codes[0] == codes[1] == await proc.stop()
    assert not is_running(pid)
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(pid)  # reaped, not a zombie


@BOTH_LOOPS
async def test_sigterm_ignored_escalates_to_sigkill_of_the_whole_group() -> None:
    # sh ignores SIGTERM and so do its children; one of them runs in the background, holding stdout open.
    argv = ["sh", "-c", "trap '' TERM; sleep 30 & echo started; exec sleep 31"]
    out = bytearray()
    proc = FfmpegProcess(argv, on_stdout=out.extend, log_name="stubborn", term_grace_s=0.3)
    await proc.start()
    while b"started" not in out:
        await asyncio.sleep(0.02)
    group = [p.pid for p in psutil.Process().children(recursive=True) if os.getpgid(p.pid) == proc.pid]
    assert len(group) >= 2
    started = time.monotonic()
    code = await asyncio.wait_for(proc.stop(), 5)
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 2.0
    assert all(wait_gone(pid, 2.0) for pid in group)


@BOTH_LOOPS
async def test_a_failing_callback_kills_the_process(ffmpeg_bin: str) -> None:
    def explode(_: bytes) -> None:
        raise RuntimeError("sink broke")

    proc = FfmpegProcess(pattern_argv(ffmpeg_bin), on_stdout=explode, log_name="t")
    await proc.start()
    code = await asyncio.wait_for(proc.wait(), 10)
    assert code == -signal.SIGKILL
    assert isinstance(proc.callback_error, RuntimeError)


@BOTH_LOOPS
async def test_prctl_fallback_spawns_and_stops(ffmpeg_bin: str) -> None:
    data = bytearray()
    proc = FfmpegProcess(pattern_argv(ffmpeg_bin), on_stdout=data.extend, log_name="t", parent_death="prctl")
    await proc.start()
    await asyncio.sleep(1.0)
    await proc.stop()
    assert len(data) > 0


def test_parse_progress() -> None:
    block = {"out_time_us": "1877333", "speed": "0.933x", "progress": "continue"}
    assert parse_progress(block) == Progress(out_time_us=1877333, speed=0.933, ended=False)
    assert parse_progress({"out_time_us": "N/A", "speed": "   0x", "progress": "end"}) == Progress(None, 0.0, True)
    assert parse_progress({"speed": "N/A"}) == Progress(None, None, False)


CHILD = """
import asyncio, sys
from headend.ingest.process import FfmpegProcess

async def main():
    proc = FfmpegProcess(sys.argv[3:], on_stdout=lambda _: None, log_name="child", parent_death=sys.argv[2])
    await proc.start()
    print(proc.pid, flush=True)
    await asyncio.sleep(60)

if sys.argv[1] == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


def spawn_parent(loop: str, parent_death: str, argv: list[str]) -> tuple[subprocess.Popen[str], int]:
    """A python process that starts ``argv`` through FfmpegProcess; returns it and the child's pid."""
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, loop, parent_death, *argv], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 5
    while psutil.Process(pid).name() != "ffmpeg" and time.monotonic() < deadline:
        time.sleep(0.02)  # setpriv execs ffmpeg right after it starts
    return parent, pid


def silent_input_argv(ffmpeg: str, listener: socket.socket) -> list[str]:
    """ffmpeg waiting for an HTTP answer that never comes: it writes nothing, so no broken pipe can kill it."""
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/never.ts"
    return build_argv(ffmpeg, SourceSpec(SourceKind.HTTP, url), Profile(), small_settings(rw_timeout_s=120.0))


@pytest.mark.parametrize("parent_death", ["auto", "prctl"])
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_ffmpeg_dies_with_a_killed_server(
    ffmpeg_bin: str, silent_listener: socket.socket, loop: str, parent_death: str
) -> None:
    parent, pid = spawn_parent(loop, parent_death, silent_input_argv(ffmpeg_bin, silent_listener))
    try:
        assert is_running(pid)
        assert psutil.Process(pid).name() == "ffmpeg"
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        assert wait_gone(pid, 3.0), "ffmpeg outlived its parent"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        parent.kill()
        parent.wait(5)
        if parent.stdout:
            parent.stdout.close()
