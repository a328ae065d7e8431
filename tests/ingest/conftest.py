"""Fixtures for the ingest tests: test media, small settings, and a check that no child process survives."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
import pytest
import uvloop

from headend.ingest.ffmpeg import locate_ffmpeg
from headend.settings import IngestSettings
from tests.fakes.media import make_test_ts

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
LOOPS: dict[str, LoopFactory] = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
BOTH_LOOPS = pytest.mark.asyncio(loop_factories=list(LOOPS))
"""Run an async test once on asyncio's default loop and once on uvloop."""


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory]:
    marker = item.get_closest_marker("asyncio")
    if marker is not None and "loop_factories" in marker.kwargs:
        return LOOPS
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    return locate_ffmpeg("")


@pytest.fixture(scope="session")
def ts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of 320x180 H.264 + AAC, 1 s GOP, ~470 kbit/s."""
    return make_test_ts(tmp_path_factory.mktemp("ingest-media") / "src.ts", seconds=6)


def small_settings(**changes: Any) -> IngestSettings:
    """Ingest settings scaled down so failure tests take seconds, not minutes."""
    values: dict[str, Any] = {
        "stall_bytes_s": 2.0,
        "stall_pts_s": 4.0,
        "start_timeout_s": 5.0,
        "rw_timeout_s": 10.0,
        "backoff_initial_s": 0.2,
        "backoff_max_s": 1.0,
        "healthy_reset_s": 30.0,
        "failback_interval_s": 30.0,
        "term_grace_s": 1.0,
    }
    values.update(changes)
    return IngestSettings(**values)


def leftover_children() -> list[psutil.Process]:
    """Children of this test process that still run or were never reaped."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE or child.name() in ("ffmpeg", "setpriv", "sleep", "sh"):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (orphans may stay zombies if init does not reap them)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A TCP port that accepts connections (in the kernel backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener


@pytest.fixture
def silent_url(silent_listener: socket.socket) -> str:
    return f"http://127.0.0.1:{silent_listener.getsockname()[1]}/never.ts"


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Every ingest test must end with no ffmpeg child running and no zombie child."""
    yield
    leftovers = leftover_children()
    for child in leftovers:  # clean up so one failure does not cascade
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    assert not leftovers, f"test left child processes behind: {leftovers}"
