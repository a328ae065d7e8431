"""PidRegistry: records live children, and a restarted server reaps what a killed one left behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from headend.ingest.process import FfmpegProcess
from headend.ingest.reaper import PidRegistry, proc_stat
from tests.ingest.conftest import is_running, wait_gone
from tests.ingest.test_process import silent_input_argv

CHILD = """
import asyncio, sys
from pathlib import Path
from headend.ingest.process import FfmpegProcess
from headend.ingest.reaper import PidRegistry

async def main():
    registry = PidRegistry(Path(sys.argv[1]))
    proc = FfmpegProcess(sys.argv[2:], on_stdout=lambda _: None, log_name="child", pid_registry=registry,
                         parent_death="off")
    await proc.start()
    print(proc.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_reap_orphans_after_the_server_was_killed(
    tmp_path: Path, ffmpeg_bin: str, silent_listener: socket.socket
) -> None:
    run_dir = tmp_path / "run"
    argv = silent_input_argv(ffmpeg_bin, silent_listener)
    server = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir), *argv], stdout=subprocess.PIPE, text=True)
    pid = 0
    try:
        assert server.stdout is not None
        pid = int(server.stdout.readline())
        server.send_signal(signal.SIGKILL)  # the server dies without cleaning up
        server.wait(5)
        time.sleep(0.3)
        assert is_running(pid), "without a death signal the orphan should still run"
        registry = PidRegistry(run_dir)  # the next server start
        assert [r.pid for r in registry.records()] == [pid]
        assert registry.reap_orphans() == 1
        assert wait_gone(pid, 2.0)
        assert registry.records() == []
        assert registry.reap_orphans() == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        server.kill()
        server.wait(5)
        if server.stdout:
            server.stdout.close()


def test_a_recycled_pid_is_never_killed(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        registry = PidRegistry(tmp_path)
        record = registry.register(bystander.pid)
        assert record is not None
        stat = proc_stat(bystander.pid)
        assert stat is not None
        assert record.start_time == stat[1]
        path = tmp_path / f"ffmpeg-{bystander.pid}.json"
        data = json.loads(path.read_text())
        data["start_time"] += 1  # same pid, different process: as if the pid had been reused
        path.write_text(json.dumps(data))
        assert registry.reap_orphans() == 0
        assert is_running(bystander.pid)
        assert registry.records() == []
    finally:
        bystander.kill()
        bystander.wait(5)


def test_unreadable_records_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "ffmpeg-123.json").write_text("{not json")
    (tmp_path / "ffmpeg-1.json").write_text('{"pid": 1, "pgid": 1, "start_time": 0}')  # never init
    registry = PidRegistry(tmp_path)
    assert registry.records() == []
    assert list(tmp_path.iterdir()) == []
    assert PidRegistry(tmp_path / "missing").reap_orphans() == 0


async def test_records_exist_exactly_while_ffmpeg_runs(
    tmp_path: Path, ffmpeg_bin: str, silent_listener: socket.socket
) -> None:
    registry = PidRegistry(tmp_path)
    proc = FfmpegProcess(
        silent_input_argv(ffmpeg_bin, silent_listener),
        on_stdout=lambda _: None,
        log_name="t",
        pid_registry=registry,
        term_grace_s=1.0,
    )
    await proc.start()
    assert [r.pid for r in registry.records()] == [proc.pid]
    assert registry.records()[0].pgid == proc.pid
    await asyncio.wait_for(proc.stop(), 5)
    assert registry.records() == []
    assert proc.pid is not None
    assert not psutil.pid_exists(proc.pid)
