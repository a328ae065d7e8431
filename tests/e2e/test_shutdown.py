"""No ffmpeg outlives the server: not on SIGTERM, not on SIGKILL, and a restart reaps what a crash left."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import psutil
import pytest

from tests.tsutil import open_stream, read_for

HEADEND = [sys.executable, "-m", "headend"]


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADEND_")}
    env.update(
        HEADEND_PATHS_DATA_DIR=str(data_dir), HEADEND_HTTP_PORT=str(port), HEADEND_DELIVERY_TEST_ROUTES="1",
        HEADEND_LOG_LEVEL="warning",
    )  # fmt: skip
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ffmpegs_of(pid: int) -> list[psutil.Process]:
    try:
        return [c for c in psutil.Process(pid).children(recursive=True) if "ffmpeg" in c.name()]
    except psutil.NoSuchProcess:
        return []


async def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, procs, timeout)
    return list(alive)


class Server:
    """``headend serve`` as a real child process, with an always-on channel looping ``loop_ts``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = _free_port()
        self.env = _env(tmp_path / "data", self.port)
        self.log = tmp_path / f"serve-{self.port}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def add_channel(self, loop_ts: Path) -> None:
        add = await asyncio.create_subprocess_exec(
            *HEADEND, "channel", "add", "Shutdown test", "--always-on", "--source", str(loop_ts),
            env=self.env, stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await add.wait() == 0

    async def start(self) -> asyncio.subprocess.Process:
        with self.log.open("wb") as sink:  # the child keeps its own copy of the descriptor
            self.proc = await asyncio.create_subprocess_exec(
                *HEADEND, "serve", env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=sink
            )
        for _ in range(150):
            try:
                status, _, reader, writer = await open_stream(self.port, "/stream/1.ts")
            except OSError:
                await asyncio.sleep(0.1)
                continue
            assert status == 200
            assert await read_for(reader, 0.5)
            writer.close()
            return self.proc
        self.proc.kill()
        await self.proc.wait()
        raise AssertionError("server did not start: " + self.log.read_text())


@pytest.mark.slow
async def test_sigterm_stops_every_ffmpeg(tmp_path: Path, loop_ts: Path) -> None:
    server = Server(tmp_path)
    await server.add_channel(loop_ts)
    proc = await server.start()
    ffmpegs = _ffmpegs_of(proc.pid)
    assert len(ffmpegs) == 1
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 15) == 0
    assert await _wait_gone(ffmpegs, 2) == []


@pytest.mark.slow
async def test_sigkill_leaves_no_orphan_and_restart_is_clean(tmp_path: Path, loop_ts: Path) -> None:
    server = Server(tmp_path)
    await server.add_channel(loop_ts)
    proc = await server.start()
    ffmpegs = _ffmpegs_of(proc.pid)
    assert len(ffmpegs) == 1
    proc.kill()
    await proc.wait()
    assert await _wait_gone(ffmpegs, 5) == [], "ffmpeg outlived a SIGKILLed server"
    again = await Server(tmp_path).start()
    await asyncio.sleep(0.5)
    assert len(_ffmpegs_of(again.pid)) == 1
    again.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(again.wait(), 15) == 0
