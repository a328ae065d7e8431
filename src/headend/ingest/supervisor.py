"""One supervising task per channel: keeps exactly one ffmpeg feeding the channel, whatever its sources do.

Policy (reliability.md §3.1-3.4):

* Start source 0. When ffmpeg exits, produces no stdout bytes for ``stall_bytes_s`` (before its first
  byte: ``start_timeout_s``), or its ``-progress`` output time stops advancing for ``stall_pts_s``, switch
  to the next source, in order, wrapping around. Every attempt carries its own health state, so a switch
  always starts from fresh health: a new source is never judged by the last one's silence.
* Once every source has failed in a row, each further attempt waits an exponential delay with full jitter
  (``backoff_initial_s`` doubling up to ``backoff_max_s``). ``healthy_reset_s`` of healthy output clears
  both the failure streak and the backoff.
* While a backup is active, every ``failback_interval_s`` the primary is tried as a *candidate* ffmpeg in
  parallel (make-before-break). Only when it has produced 64 KiB within ``start_timeout_s`` does the sink
  switch to it; otherwise it is stopped quietly.
* Every new ffmpeg gets ``-output_ts_offset`` past the previous one's last output time, so the timestamps
  the sink sees keep increasing across restarts, failovers and failbacks.
* The sink hears ``on_source_start(index, source, reason)`` right before the first bytes of each new
  ffmpeg output, then ``on_data`` for every chunk. Bytes of a replaced ffmpeg never reach the sink.

Callbacks (process output, exits) only record data or enqueue events; one loop decides. That loop
catches unexpected errors in exactly one place, records them, backs off and continues.
:meth:`Supervisor.aclose` stops every ffmpeg (process-group kill) and waits for each to be reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from headend.ingest.ffmpeg import build_argv
from headend.ingest.process import FfmpegProcess, Progress
from headend.ingest.reaper import PidRegistry
from headend.ingest.sources import Profile, SourceSpec
from headend.redact import redact
from headend.settings import IngestSettings
from headend.types import Clock

logger = logging.getLogger(__name__)

FAILBACK_MIN_BYTES = 64 * 1024
EVENTS_KEPT = 50
TIMELINE_GAP_S = 1.0  # margin added to the previous ffmpeg's last output time
MAX_WAIT_S = 1.0  # the loop re-checks at least this often (keeps an injected fake clock responsive)


class IngestSink(Protocol):
    def on_source_start(self, index: int, source: SourceSpec, reason: str) -> None: ...  # first bytes follow
    def on_data(self, data: bytes) -> None: ...


class ArgvBuilder(Protocol):
    def __call__(
        self, ffmpeg: str, source: SourceSpec, profile: Profile, settings: IngestSettings, *, ts_offset_s: float = ...
    ) -> list[str]: ...


class SupervisorState(StrEnum):
    IDLE = "idle"  # constructed, not started
    STARTING = "starting"  # ffmpeg spawned, no output yet
    RUNNING = "running"  # output flowing
    BACKOFF = "backoff"  # waiting before the next attempt
    STOPPED = "stopped"  # closed


@dataclass(frozen=True, slots=True)
class IngestEvent:
    at: float  # supervisor clock
    kind: str  # start, failover, failback, restart, stall, exit
    source_index: int
    detail: str  # redacted


@dataclass(frozen=True, slots=True)
class SupervisorStatus:
    state: SupervisorState
    active_index: int | None
    restarts: int  # ffmpeg launches that replaced a failed one (same or other source)
    failovers: int  # of those, launches on a different source
    last_error: str  # redacted
    bytes_in: int  # bytes handed to the sink
    pid: int | None
    events: tuple[IngestEvent, ...]  # the last 50, oldest first


class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, initial * 2**n))."""

    def __init__(self, initial_s: float, cap_s: float, rng: random.Random) -> None:
        self._initial = initial_s
        self._cap = cap_s
        self._rng = rng
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self._cap, self._initial * 2 ** min(self.attempt, 62))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


@dataclass(eq=False)
class _Attempt:
    """One ffmpeg run of one source, with its own health state (fresh on every switch, by construction)."""

    index: int
    reason: str  # what the sink is told in on_source_start
    offset_s: float  # -output_ts_offset given to this ffmpeg
    started_at: float
    routed: bool  # output goes to the sink (False: a failback candidate still proving itself, or retired)
    proc: FfmpegProcess | None = None
    first_byte_at: float | None = None
    last_byte_at: float = 0.0
    pts_us: int | None = None
    pts_at: float = 0.0
    bytes: int = 0
    announced: bool = False
    ready_sent: bool = False
    pending: bytearray = field(default_factory=bytearray)  # candidate output until it is switched in

    @property
    def timeline_s(self) -> float:
        """Output time this ffmpeg reached on the channel's timeline: its offset, the output time of its last
        progress report, and the (real-time) output it produced after that report."""
        if self.pts_us is None:
            return self.offset_s
        return self.offset_s + self.pts_us / 1_000_000 + max(0.0, self.last_byte_at - self.pts_at)


@dataclass(frozen=True, slots=True)
class _Launch:
    index: int
    reason: str
    at: float


_Event = tuple[str, _Attempt | None]  # ("exit", attempt) | ("ready", candidate) | ("close", None)


class Supervisor:
    """Runs a channel's ffmpeg over its ordered sources. ``__init__`` only stores; ``start`` spawns."""

    def __init__(
        self,
        name: str,
        sources: Sequence[SourceSpec],
        profile: Profile,
        settings: IngestSettings,
        sink: IngestSink,
        *,
        ffmpeg: str,
        pid_registry: PidRegistry | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        argv_builder: ArgvBuilder = build_argv,
    ) -> None:
        if not sources:
            raise ValueError("a supervisor needs at least one source")
        self._name = name
        self._sources = tuple(sources)
        self._profile = profile
        self._settings = settings
        self._sink = sink
        self._ffmpeg = ffmpeg
        self._registry = pid_registry
        self._clock = clock
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s, rng or random.Random())
        self._build_argv = argv_builder
        self._events: deque[IngestEvent] = deque(maxlen=EVENTS_KEPT)
        self._queue: asyncio.Queue[_Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[Any]] = set()  # stopping ffmpegs and exit watchers
        self._active: _Attempt | None = None
        self._candidate: _Attempt | None = None
        self._launch: _Launch | None = None
        self._next_failback = 0.0
        self._timeline_s = 0.0
        self._failures = 0  # failed attempts in a row
        self._healthy_since: float | None = None
        self._restarts = 0
        self._failovers = 0
        self._bytes_in = 0
        self._last_error = ""
        self._closing = False

    # -- public API --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start supervising (source 0 first). Returns at once."""
        if self._task is not None or self._closing:
            return
        self._launch = _Launch(0, "start", self._clock())
        self._task = asyncio.create_task(self._run(), name=f"ingest-{self._name}")

    async def aclose(self) -> None:
        """Stop every ffmpeg and the supervising task. Idempotent; completes even if the caller is cancelled."""
        self._closing = True
        if self._task is None:
            return
        if not self._task.done():
            self._queue.put_nowait(("close", None))
            await asyncio.wait([self._task])  # unlike awaiting the task, never cancels it

    def status(self) -> SupervisorStatus:
        active = self._active
        return SupervisorStatus(
            state=self._state(),
            active_index=active.index if active else (self._launch.index if self._launch else None),
            restarts=self._restarts,
            failovers=self._failovers,
            last_error=self._last_error,
            bytes_in=self._bytes_in,
            pid=active.proc.pid if active and active.proc else None,
            events=tuple(self._events),
        )

    def _state(self) -> SupervisorState:
        if self._task is None:
            return SupervisorState.STOPPED if self._closing else SupervisorState.IDLE
        if self._task.done():
            return SupervisorState.STOPPED
        if self._active is not None and self._active.first_byte_at is not None:
            return SupervisorState.RUNNING
        backoff = self._active is None and self._launch is not None and self._launch.reason != "start"
        return SupervisorState.BACKOFF if backoff else SupervisorState.STARTING

    # -- the loop ------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while not self._closing:
                try:
                    await self._step()
                except Exception as exc:  # the ingest layer's one catch-all: record, back off, keep supervising
                    await self._on_loop_error(exc)
        finally:
            await self._stop_everything()

    async def _step(self) -> None:
        event: _Event | None = None
        if not self._queue.empty():
            event = self._queue.get_nowait()
        else:
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(self._queue.get(), self._wait_s(self._clock()))
        if event is not None:
            await self._handle(*event)
        if not self._closing:
            await self._tick(self._clock())

    def _wait_s(self, now: float) -> float:
        deadlines = [now + MAX_WAIT_S]
        if self._launch is not None:
            deadlines.append(self._launch.at)
        if self._active is not None:
            deadlines.append(self._health_deadline(self._active))
        if self._candidate is not None:
            deadlines.append(self._candidate.started_at + self._settings.start_timeout_s)
        elif self._may_fail_back():
            deadlines.append(self._next_failback)
        return max(0.0, min(deadlines) - now)

    async def _handle(self, kind: str, attempt: _Attempt | None) -> None:
        if kind == "exit" and attempt is not None:
            await self._on_exit(attempt)
        elif kind == "ready" and attempt is not None and attempt is self._candidate:
            await self._promote(attempt)

    async def _tick(self, now: float) -> None:
        if self._launch is not None and now >= self._launch.at:
            launch, self._launch = self._launch, None
            await self._start_active(launch.index, launch.reason, now)
        active = self._active
        if active is not None:
            problem = self._health_problem(active, now)
            if problem:
                await self._fail(active, "stall", problem, now)
            else:
                self._note_health(active)
        await self._tick_failback(now)

    async def _on_loop_error(self, exc: Exception) -> None:
        self._last_error = redact(f"{type(exc).__name__}: {exc}")
        logger.error("ingest %s: supervisor error, backing off: %s", self._name, self._last_error, exc_info=exc)
        index = self._active.index if self._active else (self._launch.index if self._launch else 0)
        self._retire_candidate()
        if self._active is not None:
            self._retire(self._active)
            self._active = None
        self._launch = _Launch(index, "restart", self._clock() + self._backoff.next_delay())

    # -- the active ffmpeg ---------------------------------------------------------------------------------
    async def _start_active(self, index: int, reason: str, now: float) -> None:
        attempt = _Attempt(index, reason, self._next_offset(0.0), now, routed=True)
        self._active = attempt
        self._healthy_since = None
        self._next_failback = now + self._settings.failback_interval_s
        if reason != "start":
            self._restarts += 1
            self._failovers += reason == "failover"
        self._record(reason, index, self._describe(index))
        await self._spawn(attempt)

    def _health_deadline(self, attempt: _Attempt) -> float:
        if attempt.first_byte_at is None:
            return attempt.started_at + self._settings.start_timeout_s
        pts_base = max(attempt.pts_at, attempt.first_byte_at)
        return min(attempt.last_byte_at + self._settings.stall_bytes_s, pts_base + self._settings.stall_pts_s)

    def _health_problem(self, attempt: _Attempt, now: float) -> str:
        s = self._settings
        if attempt.first_byte_at is None:
            return f"no output within {s.start_timeout_s:g} s" if now - attempt.started_at >= s.start_timeout_s else ""
        if now - attempt.last_byte_at >= s.stall_bytes_s:
            return f"no output for {now - attempt.last_byte_at:.1f} s"
        if now - max(attempt.pts_at, attempt.first_byte_at) >= s.stall_pts_s:
            return f"output time stuck for {s.stall_pts_s:g} s"
        return ""

    def _note_health(self, attempt: _Attempt) -> None:
        """After ``healthy_reset_s`` of output from one ffmpeg, forget earlier failures and backoff steps."""
        since = self._healthy_since
        if since is not None and attempt.last_byte_at - since >= self._settings.healthy_reset_s:
            self._failures = 0
            self._backoff.reset()

    async def _on_exit(self, attempt: _Attempt) -> None:
        if attempt is self._candidate:
            self._retire_candidate("exited")
            return
        if attempt is not self._active or attempt.proc is None:
            return  # an ffmpeg we already replaced
        if attempt.proc.callback_error is not None:
            raise attempt.proc.callback_error  # the sink failed: a loop error, not the source's fault
        code = attempt.proc.returncode
        last = attempt.proc.last_line
        await self._fail(attempt, "exit", f"ffmpeg exited with status {code}" + (f": {last}" if last else ""), None)

    async def _fail(self, attempt: _Attempt, kind: str, detail: str, now: float | None) -> None:
        now = self._clock() if now is None else now
        self._last_error = redact(detail)
        self._record(kind, attempt.index, detail)
        self._retire_candidate()
        self._retire(attempt)
        self._active = None
        self._note_health(attempt)  # it may have been healthy long enough before it failed
        self._failures += 1
        index = (attempt.index + 1) % len(self._sources)
        reason = "restart" if index == attempt.index else "failover"
        delay = self._backoff.next_delay() if self._failures >= len(self._sources) else 0.0
        self._launch = _Launch(index, reason, now + delay)  # the loop launches it when due (now, if no delay)
        if delay:
            logger.info("ingest %s: every source failed; next attempt in %.2f s", self._name, delay)

    # -- fail-back: make before break ----------------------------------------------------------------------
    async def _tick_failback(self, now: float) -> None:
        candidate = self._candidate
        if candidate is not None:
            if now - candidate.started_at >= self._settings.start_timeout_s:
                self._retire_candidate(f"fewer than {FAILBACK_MIN_BYTES} bytes in time")
        elif self._may_fail_back() and now >= self._next_failback:
            offset = self._next_offset(self._settings.start_timeout_s)
            self._candidate = candidate = _Attempt(0, "failback", offset, now, routed=False)
            await self._spawn(candidate)

    def _may_fail_back(self) -> bool:
        """A backup is active and producing output (so trying the primary can only improve things)."""
        active = self._active
        return active is not None and active.index > 0 and active.first_byte_at is not None

    async def _promote(self, candidate: _Attempt) -> None:
        previous = self._active
        self._candidate = None
        self._active = candidate
        self._healthy_since = self._clock()
        if previous is not None:
            self._retire(previous)
        self._record("failback", 0, self._describe(0))
        candidate.routed = True
        self._announce(candidate)
        data, candidate.pending = bytes(candidate.pending), bytearray()
        self._deliver(data)

    def _retire_candidate(self, why: str = "") -> None:
        """Stop a fail-back candidate (quietly: no event, no error) and schedule the next attempt."""
        if why:
            logger.info("ingest %s: primary not back yet (%s)", self._name, why)
        if self._candidate is not None:
            self._retire(self._candidate)
            self._candidate = None
        self._next_failback = self._clock() + self._settings.failback_interval_s

    # -- spawning and stopping -----------------------------------------------------------------------------
    async def _spawn(self, attempt: _Attempt) -> None:
        source = self._sources[attempt.index]
        argv = self._build_argv(self._ffmpeg, source, self._profile, self._settings, ts_offset_s=attempt.offset_s)
        proc = FfmpegProcess(
            argv,
            on_stdout=lambda data: self._on_stdout(attempt, data),
            on_progress=lambda progress: self._on_progress(attempt, progress),
            log_name=f"{self._name}/{attempt.index}",
            pid_registry=self._registry,
            term_grace_s=self._settings.term_grace_s,
        )
        attempt.proc = proc
        await proc.start()
        self._keep(asyncio.create_task(self._report_exit(attempt, proc)))

    async def _report_exit(self, attempt: _Attempt, proc: FfmpegProcess) -> None:
        await proc.wait()
        self._queue.put_nowait(("exit", attempt))

    def _retire(self, attempt: _Attempt) -> None:
        """Cut ``attempt`` off from the sink and stop its ffmpeg in the background (awaited by aclose)."""
        attempt.routed = False
        self._timeline_s = max(self._timeline_s, attempt.timeline_s)
        if attempt.proc is not None:
            self._keep(asyncio.create_task(attempt.proc.stop()))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _stop_everything(self) -> None:
        self._retire_candidate()
        if self._active is not None:
            self._retire(self._active)
            self._active = None
        self._launch = None
        while self._retiring:
            await asyncio.wait(set(self._retiring))

    # -- callbacks from the ffmpeg readers (no decisions here) ----------------------------------------------
    def _on_stdout(self, attempt: _Attempt, data: bytes) -> None:
        now = self._clock()
        attempt.bytes += len(data)
        attempt.last_byte_at = now
        if attempt.first_byte_at is None:
            attempt.first_byte_at = now
            if attempt is self._active:
                self._healthy_since = now
        if attempt.routed:
            self._announce(attempt)
            self._deliver(data)
        elif attempt is self._candidate:
            attempt.pending += data
            if len(attempt.pending) >= FAILBACK_MIN_BYTES and not attempt.ready_sent:
                attempt.ready_sent = True
                self._queue.put_nowait(("ready", attempt))

    def _on_progress(self, attempt: _Attempt, progress: Progress) -> None:
        out = progress.out_time_us
        if out is not None and (attempt.pts_us is None or out > attempt.pts_us):
            attempt.pts_us = out
            attempt.pts_at = self._clock()

    def _announce(self, attempt: _Attempt) -> None:
        if not attempt.announced:
            attempt.announced = True
            self._sink.on_source_start(attempt.index, self._sources[attempt.index], attempt.reason)

    def _deliver(self, data: bytes) -> None:
        if data:
            self._bytes_in += len(data)
            self._sink.on_data(data)

    # -- helpers -------------------------------------------------------------------------------------------
    def _next_offset(self, extra_s: float) -> float:
        """Where the next ffmpeg's timestamps start: past everything the sink may have seen so far."""
        reached = max([self._timeline_s] + [a.timeline_s for a in (self._active, self._candidate) if a])
        if reached <= 0 and self._bytes_in == 0:
            return 0.0  # nothing reached the sink yet: start at zero
        return reached + extra_s + TIMELINE_GAP_S

    def _describe(self, index: int) -> str:
        source = self._sources[index]
        return redact(f"{source.kind.value} {source.label or source.url}")

    def _record(self, kind: str, index: int, detail: str) -> None:
        detail = redact(detail)
        self._events.append(IngestEvent(self._clock(), kind, index, detail))
        logger.info("ingest %s: %s (source %d): %s", self._name, kind, index, detail)


__all__ = [
    "ArgvBuilder",
    "Backoff",
    "IngestEvent",
    "IngestSink",
    "Supervisor",
    "SupervisorState",
    "SupervisorStatus",
]
