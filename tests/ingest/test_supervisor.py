"""Supervisor policy with real ffmpeg and real sockets: failover, stall, backoff, fail-back, clean shutdown."""

from __future__ import annotations

import asyncio
import itertools
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from headend.ingest.process import FfmpegProcess
from headend.ingest.sources import Profile, SourceKind, SourceSpec
from headend.ingest.supervisor import Backoff, IngestEvent, Supervisor, SupervisorState
from headend.settings import IngestSettings
from tests.fakes.media import ffprobe_frames
from tests.fakes.upstream import Upstream
from tests.ingest.conftest import BOTH_LOOPS, is_running, leftover_children, small_settings

SMALL = Profile(max_height=180, video_bitrate_kbps=300, audio_bitrate_kbps=64, gop_seconds=1.0)
PATTERN = SourceSpec(SourceKind.TESTPATTERN, label="supervisor test")


@dataclass
class Segment:
    index: int
    reason: str
    data: bytearray = field(default_factory=bytearray)


class RecordingSink:
    """Keeps every byte, split by on_source_start calls."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def on_source_start(self, index: int, source: SourceSpec, reason: str) -> None:
        self.segments.append(Segment(index, reason))

    def on_data(self, data: bytes) -> None:
        assert self.segments, "on_data before on_source_start"
        self.segments[-1].data += data

    @property
    def starts(self) -> list[tuple[int, str]]:
        return [(s.index, s.reason) for s in self.segments]

    def bytes_from(self, index: int) -> int:
        return sum(len(s.data) for s in self.segments if s.index == index)


class MaxRandom(random.Random):
    """Jitter that always picks the upper bound, so backoff delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        await asyncio.sleep(0.05)


def kinds(events: tuple[IngestEvent, ...]) -> list[str]:
    return [e.kind for e in events]


def video_dts(data: bytes, tmp: Path) -> list[float]:
    path = tmp / "capture.ts"
    path.write_bytes(data)
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=dts_time", "-of", "csv=p=0",
            str(path)]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout
    values = [v.strip(",") for v in out.split()]
    return [float(v) for v in values if v not in ("", "N/A")]


def supervisor(
    sources: list[SourceSpec], sink: RecordingSink, ffmpeg: str, settings: IngestSettings, **kwargs: object
) -> Supervisor:
    return Supervisor("test", sources, SMALL, settings, sink, ffmpeg=ffmpeg, **kwargs)  # type: ignore[arg-type]


@BOTH_LOOPS
async def test_testpattern_channel_runs_and_closes_cleanly(ffmpeg_bin: str) -> None:
    sink = RecordingSink()
    sup = supervisor([PATTERN], sink, ffmpeg_bin, small_settings())
    assert sup.status().state is SupervisorState.IDLE
    await sup.start()
    await wait_until(lambda: sink.bytes_from(0) > 100_000, 10, "100 kB of test pattern")
    status = sup.status()
    assert status.state is SupervisorState.RUNNING
    assert status.pid is not None
    assert sink.starts == [(0, "start")]
    await sup.aclose()
    await sup.aclose()  # idempotent
    assert sup.status().state is SupervisorState.STOPPED
    assert not is_running(status.pid)
    assert leftover_children() == []
    assert ffprobe_frames(bytes(sink.segments[0].data))[0] == "h264"


@BOTH_LOOPS
async def test_killed_primary_fails_over_to_backup(ffmpeg_bin: str, ts_file: Path, tmp_path: Path) -> None:
    sink = RecordingSink()
    async with Upstream(ts_file, burst_s=2.5) as primary:
        sources = [SourceSpec(SourceKind.HTTP, primary.url), SourceSpec(SourceKind.FILE, str(ts_file))]
        sup = supervisor(sources, sink, ffmpeg_bin, small_settings())
        await sup.start()
        try:
            await wait_until(lambda: sink.bytes_from(0) > 100_000, 10, "primary output")
            await primary.stop()
            await wait_until(lambda: sink.bytes_from(1) > 0, 10, "backup output")
            after_switch = sink.bytes_from(1)
            await asyncio.sleep(1.5)
            assert sink.bytes_from(1) - after_switch > 50_000, "data stopped flowing after the failover"
            status = sup.status()
        finally:
            await sup.aclose()
    assert sink.starts == [(0, "start"), (1, "failover")]
    assert kinds(status.events) == ["start", "exit", "failover"]
    assert status.failovers == 1
    assert status.restarts == 1
    assert status.active_index == 1
    assert ffprobe_frames(bytes(sink.segments[1].data))[1] >= 25
    dts = video_dts(b"".join(s.data for s in sink.segments), tmp_path)
    assert dts == sorted(dts), "timestamps went backwards at the switch"


async def test_stall_detected_and_the_next_source_gets_fresh_health(ffmpeg_bin: str, ts_file: Path) -> None:
    sink = RecordingSink()
    settings = small_settings(stall_bytes_s=1.0, stall_pts_s=10.0, start_timeout_s=5.0)
    # The backup needs 2 s for its first byte: longer than stall_bytes_s, shorter than start_timeout_s.
    async with (
        Upstream(ts_file, burst_s=2.5) as primary,
        Upstream(ts_file, burst_s=2.5, first_byte_delay_s=2.0) as backup,
    ):
        sources = [SourceSpec(SourceKind.HTTP, primary.url), SourceSpec(SourceKind.HTTP, backup.url)]
        sup = supervisor(sources, sink, ffmpeg_bin, settings)
        await sup.start()
        try:
            await wait_until(lambda: sink.bytes_from(0) > 50_000, 10, "primary output")
            primary.stall()
            stalled_at = time.monotonic()
            await wait_until(lambda: "stall" in kinds(sup.status().events), 10, "stall event")
            detected_after = time.monotonic() - stalled_at
            await wait_until(lambda: sink.bytes_from(1) > 50_000, 10, "backup output")
            status = sup.status()
        finally:
            await sup.aclose()
    # lower bound: never before stall_bytes_s; the upper bound is loose (shared CI machines are noisy)
    assert 0.8 <= detected_after <= 6.0
    assert kinds(status.events) == ["start", "stall", "failover"], "the slow backup was judged by stale health"
    assert status.active_index == 1
    assert "no output for" in status.last_error


async def test_404_single_source_backs_off_exponentially(ffmpeg_bin: str, ts_file: Path) -> None:
    sink = RecordingSink()
    settings = small_settings(backoff_initial_s=0.2, backoff_max_s=0.8)
    async with Upstream(ts_file) as up:
        up.mode_404()
        sup = supervisor([SourceSpec(SourceKind.HTTP, up.url)], sink, ffmpeg_bin, settings, rng=MaxRandom())
        await sup.start()
        try:
            await asyncio.sleep(3.0)
            requests = up.requests
            status = sup.status()
        finally:
            await sup.aclose()
    # Without backoff ffmpeg would be restarted ~20 times in 3 s; with 0.2, 0.4, 0.8, 0.8 s waits: about 5.
    assert 2 <= requests <= 8
    events = status.events
    gaps = [b.at - a.at for a, b in itertools.pairwise(events) if (a.kind, b.kind) == ("exit", "restart")]
    # Sleeps never end early, so lower bounds are exact; each wait at least doubles the first step until the cap.
    assert len(gaps) >= 2
    for gap, floor in zip(gaps, (0.2, 0.4, 0.8, 0.8), strict=False):
        assert gap >= floor - 0.02
    assert status.failovers == 0
    assert "404" in status.last_error
    assert sink.segments == []


async def test_backoff_resets_after_healthy_output(ffmpeg_bin: str, ts_file: Path) -> None:
    sink = RecordingSink()
    settings = small_settings(backoff_initial_s=0.2, backoff_max_s=1.6, healthy_reset_s=1.0)
    async with Upstream(ts_file, burst_s=2.5) as up:
        up.mode_404()
        sup = supervisor([SourceSpec(SourceKind.HTTP, up.url)], sink, ffmpeg_bin, settings, rng=MaxRandom())
        await sup.start()
        try:
            await wait_until(lambda: up.requests >= 3, 10, "three failed attempts")  # next wait: 0.8 s
            up.mode_ok()
            await wait_until(lambda: sink.bytes_from(0) > 0, 10, "output")
            await asyncio.sleep(1.5)  # healthy longer than healthy_reset_s
            up.mode_404()  # ends the stream: the next wait must be the first step again
            await wait_until(lambda: sup.status().restarts >= 4, 10, "restart after the healthy period")
            events = sup.status().events
        finally:
            await sup.aclose()
    last_exit = max(i for i, e in enumerate(events) if e.kind == "exit")
    assert events[last_exit + 1].kind == "restart"
    # back to the first step (0.2 s) rather than the next one (1.6 s): a wide margin against a noisy machine
    assert 0.18 <= events[last_exit + 1].at - events[last_exit].at < 1.2


@pytest.mark.slow
async def test_fails_back_to_the_primary_once_it_is_healthy(ffmpeg_bin: str, ts_file: Path, tmp_path: Path) -> None:
    sink = RecordingSink()
    settings = small_settings(failback_interval_s=1.0, start_timeout_s=4.0)
    async with Upstream(ts_file, burst_s=2.5) as primary:
        sources = [SourceSpec(SourceKind.HTTP, primary.url), SourceSpec(SourceKind.FILE, str(ts_file))]
        sup = supervisor(sources, sink, ffmpeg_bin, settings)
        await sup.start()
        try:
            await wait_until(lambda: sink.bytes_from(0) > 50_000, 10, "primary output")
            primary.mode_404()
            await wait_until(lambda: sink.bytes_from(1) > 50_000, 10, "backup output")
            backup_pid = sup.status().pid
            await asyncio.sleep(2.5)  # a few fail-back attempts hit the 404 and are dropped quietly
            assert sup.status().active_index == 1
            requests_while_down = primary.requests
            primary.mode_ok()
            await wait_until(lambda: sup.status().active_index == 0, 10, "fail-back")
            switched = sink.bytes_from(0)
            await asyncio.sleep(1.0)
            status = sup.status()
            assert sink.bytes_from(0) > switched, "no data after the fail-back"
        finally:
            await sup.aclose()
    assert requests_while_down >= 3  # first connection plus fail-back attempts
    assert sink.starts == [(0, "start"), (1, "failover"), (0, "failback")]
    assert kinds(status.events) == ["start", "exit", "failover", "failback"]
    assert backup_pid is not None
    assert not is_running(backup_pid)
    assert len(sink.segments[2].data) >= 64 * 1024
    dts = video_dts(b"".join(s.data for s in sink.segments), tmp_path)
    assert dts == sorted(dts), "timestamps went backwards at a switch"


async def test_silent_primary_candidates_are_dropped_quietly_and_aclose_leaves_nothing(
    ffmpeg_bin: str, silent_url: str
) -> None:
    sink = RecordingSink()
    settings = small_settings(failback_interval_s=0.2, start_timeout_s=1.0)
    sources = [SourceSpec(SourceKind.HTTP, silent_url), PATTERN]
    sup = supervisor(sources, sink, ffmpeg_bin, settings)
    await sup.start()
    await wait_until(lambda: sink.bytes_from(1) > 0, 10, "test pattern output after the silent primary")
    await asyncio.sleep(2.0)  # fail-back candidates connect, say nothing for start_timeout_s, and are dropped
    status = sup.status()
    await wait_until(lambda: len(ffmpeg_children()) == 2, 5, "a fail-back candidate next to the backup")
    pids = [p.pid for p in ffmpeg_children()]
    await sup.aclose()
    assert kinds(status.events) == ["start", "stall", "failover"]
    assert status.active_index == 1
    assert "no output within 1 s" in status.last_error
    assert not any(is_running(pid) for pid in pids)
    assert leftover_children() == []


async def test_sink_error_is_recorded_and_supervision_continues(ffmpeg_bin: str) -> None:
    class FlakySink(RecordingSink):
        failed = False

        def on_data(self, data: bytes) -> None:
            if not self.failed:
                self.failed = True
                raise RuntimeError("sink hiccup")
            super().on_data(data)

    sink = FlakySink()
    sup = supervisor([PATTERN], sink, ffmpeg_bin, small_settings(backoff_initial_s=0.1))
    await sup.start()
    try:
        await wait_until(lambda: sink.bytes_from(0) > 50_000, 10, "output after the sink error")
        status = sup.status()
    finally:
        await sup.aclose()
    assert "RuntimeError: sink hiccup" in status.last_error
    assert status.state is SupervisorState.RUNNING
    assert [reason for _, reason in sink.starts] == ["start", "restart"]


async def test_unusable_ffmpeg_is_an_error_not_a_crash(tmp_path: Path) -> None:
    sink = RecordingSink()
    sup = supervisor([PATTERN], sink, str(tmp_path / "no-ffmpeg"), small_settings(backoff_initial_s=0.05))
    await sup.start()
    try:
        await wait_until(lambda: sup.status().restarts >= 2, 5, "repeated attempts")
        status = sup.status()
    finally:
        await sup.aclose()
    assert "FileNotFoundError" in status.last_error
    assert status.state in (SupervisorState.BACKOFF, SupervisorState.STARTING)


async def test_credentials_never_reach_status_or_events(ffmpeg_bin: str, ts_file: Path) -> None:
    sink = RecordingSink()
    async with Upstream(ts_file) as up:
        up.mode_404()
        url = up.url.replace("http://", "http://alice:Sup3rSecret@").replace("/live/", "/live/alice/Sup3rSecret/")
        sup = supervisor([SourceSpec(SourceKind.HTTP, url)], sink, ffmpeg_bin, small_settings())
        await sup.start()
        try:
            await wait_until(lambda: "exit" in kinds(sup.status().events), 10, "a failed attempt")
            status = sup.status()
        finally:
            await sup.aclose()
    assert "Sup3rSecret" not in repr(status)
    assert "alice" not in repr(status)


def test_backoff_policy() -> None:
    backoff = Backoff(0.5, 30.0, MaxRandom())
    assert [backoff.next_delay() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    jittered = Backoff(0.5, 4.0, random.Random(7))
    delays = [jittered.next_delay() for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) == len(delays)  # full jitter: no two alike


def test_constructor_has_no_side_effects(ffmpeg_bin: str) -> None:
    sup = supervisor([PATTERN], RecordingSink(), ffmpeg_bin, small_settings())  # no running loop needed
    assert sup.status().state is SupervisorState.IDLE
    assert FfmpegProcess(["true"], on_stdout=lambda _: None, log_name="x").pid is None


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"]
