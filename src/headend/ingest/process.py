"""One ffmpeg child process: spawned safely, read continuously, and always reaped.

Promises:

* The constructor has no side effects; :meth:`FfmpegProcess.start` spawns ffmpeg with
  ``asyncio.create_subprocess_exec`` (never a shell), stdin from /dev/null, in its own session and
  process group, and with a parent-death signal (SIGKILL) so it dies with the server. The death signal
  is set by ``setpriv --pdeathsig KILL`` when available (it survives the exec into ffmpeg), otherwise
  by ``prctl(PR_SET_PDEATHSIG)`` in the child before exec. Both work on uvloop and on asyncio's loop.
* stdout is read in chunks of up to 64 KiB and handed to ``on_stdout``; stderr is split into lines:
  ``-progress`` lines become one :class:`Progress` per block, every other line is redacted, logged at
  WARNING under the process's ``log_name`` and kept (the last 20) for status and error messages.
* :meth:`FfmpegProcess.stop` sends SIGTERM to the process group, waits ``term_grace_s``, then sends
  SIGKILL to the group, and always waits for the real exit (no zombie). It is idempotent and keeps
  going even when the caller is cancelled.
* If a callback raises, the process is killed and the exception is kept in ``callback_error``.

The death signal fires when the *thread* that spawned the child exits: spawn from the event loop's
thread, which lives as long as the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from headend.ingest.reaper import PidRegistry
from headend.redact import redact

logger = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
KEEP_LINES = 20
_PR_SET_PDEATHSIG = 1
ParentDeath = Literal["auto", "prctl", "off"]
"""How the child is tied to this process: "auto" uses setpriv if it can, else prctl; "off" only for tests."""
_PROGRESS_LINE = re.compile(
    r"(?P<key>frame|fps|bitrate|total_size|out_time_us|out_time_ms|out_time|dup_frames|drop_frames|speed"
    r"|progress|stream_\d+_\d+_q)=(?P<value>.*)"
)


@dataclass(frozen=True, slots=True)
class Progress:
    """One ``-progress`` block: output time in microseconds and speed (1.0 = real time), when known."""

    out_time_us: int | None
    speed: float | None
    ended: bool = False


class FfmpegProcess:
    """An ffmpeg child process and the tasks that read its output."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        on_stdout: Callable[[bytes], None],
        on_progress: Callable[[Progress], None] | None = None,
        log_name: str,
        pid_registry: PidRegistry | None = None,
        term_grace_s: float = 3.0,
        parent_death: ParentDeath = "auto",
    ) -> None:
        self._argv = list(argv)
        self._on_stdout = on_stdout
        self._on_progress = on_progress
        self._log_name = log_name
        self._registry = pid_registry
        self._term_grace_s = term_grace_s
        self._parent_death = parent_death
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: asyncio.Task[int] | None = None
        self._stop_task: asyncio.Task[int] | None = None
        self._lines: deque[str] = deque(maxlen=KEEP_LINES)
        self._block: dict[str, str] = {}
        self.callback_error: BaseException | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """The exit status once ffmpeg was reaped and its output fully read; None before."""
        if self._watch is None or not self._watch.done() or self._watch.cancelled():
            return None
        return None if self._watch.exception() is not None else self._watch.result()

    @property
    def recent_lines(self) -> tuple[str, ...]:
        """The last log lines ffmpeg wrote (redacted), oldest first."""
        return tuple(self._lines)

    @property
    def last_line(self) -> str:
        return self._lines[-1] if self._lines else ""

    async def start(self) -> None:
        """Spawn ffmpeg and start reading its output. Raises OSError if it cannot be spawned."""
        if self._proc is not None:
            raise RuntimeError("FfmpegProcess.start() called twice")
        if not self._argv or shutil.which(self._argv[0]) is None:
            # Checked here so a missing binary fails the same way with or without the setpriv wrapper.
            raise FileNotFoundError(errno.ENOENT, "no such executable", self._argv[0] if self._argv else "")
        argv, preexec = self._argv, None
        prefix = await pdeathsig_prefix() if self._parent_death == "auto" else []
        if prefix:
            argv = prefix + argv
        elif self._parent_death != "off" and sys.platform == "linux":
            preexec = _pdeathsig_preexec()
        self._proc = proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._tasks = [
            asyncio.create_task(self._pump_stdout(proc.stdout), name=f"ffmpeg-out-{self._log_name}"),
            asyncio.create_task(self._pump_stderr(proc.stderr), name=f"ffmpeg-err-{self._log_name}"),
        ]
        self._watch = asyncio.create_task(self._watch_exit(proc), name=f"ffmpeg-wait-{self._log_name}")
        logger.debug("ffmpeg %s started, pid %d", self._log_name, proc.pid)
        if self._registry is not None:
            try:
                self._registry.register(proc.pid)
            except OSError as exc:  # best effort: the death signal still covers a crash of this server
                logger.warning("ffmpeg %s: cannot record pid %d: %s", self._log_name, proc.pid, exc)

    async def wait(self) -> int:
        """Wait until ffmpeg exited and its output was read; return its exit status."""
        if self._watch is None:
            raise RuntimeError("FfmpegProcess.wait() before start()")
        return await asyncio.shield(self._watch)

    async def stop(self) -> int | None:
        """Terminate the process group (SIGTERM, then SIGKILL after the grace time) and reap it.

        Returns the exit status, or None if the process was never started. Safe to call many times.
        """
        if self._watch is None:
            return None
        if self._stop_task is None:
            self._stop_task = asyncio.create_task(self._terminate(), name=f"ffmpeg-stop-{self._log_name}")
        return await asyncio.shield(self._stop_task)

    async def _terminate(self) -> int:
        assert self._watch is not None
        if not self._watch.done():
            self._signal(signal.SIGTERM)
            await asyncio.wait([self._watch], timeout=self._term_grace_s)
        if not self._watch.done():
            logger.warning("ffmpeg %s ignored SIGTERM for %.1f s; killing it", self._log_name, self._term_grace_s)
            self._signal(signal.SIGKILL)
        return await self._watch

    def _signal(self, sig: signal.Signals) -> None:
        # Only while the child is not reaped: its pid (= its process group id) cannot have been reused yet.
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, sig)

    async def _watch_exit(self, proc: asyncio.subprocess.Process) -> int:
        await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in self._tasks if t.done() and not t.cancelled() and t.exception() is not None]
        if failed:
            self.callback_error = failed[0].exception()
            logger.error("ffmpeg %s: output callback failed: %r; killing it", self._log_name, self.callback_error)
            self._signal(signal.SIGKILL)
        code = await proc.wait()
        await asyncio.wait(self._tasks)
        if self._registry is not None:
            with contextlib.suppress(OSError):  # a stale record is harmless: its start time will not match
                self._registry.unregister(proc.pid)
        logger.debug("ffmpeg %s (pid %d) exited with %d", self._log_name, proc.pid, code)
        return code

    async def _pump_stdout(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(READ_SIZE):
            self._on_stdout(chunk)

    async def _pump_stderr(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await reader.readline()
            except ValueError:  # a line longer than the stream limit was dropped; keep reading
                continue
            if not raw:
                return
            self._on_stderr_line(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def _on_stderr_line(self, line: str) -> None:
        match = _PROGRESS_LINE.fullmatch(line)
        if match is None:
            if line.strip():
                text = redact(line)
                self._lines.append(text)
                logger.warning("ffmpeg %s: %s", self._log_name, text)
            return
        self._block[match["key"]] = match["value"].strip()
        if match["key"] == "progress":
            block, self._block = self._block, {}
            if self._on_progress is not None:
                self._on_progress(parse_progress(block))


def parse_progress(block: dict[str, str]) -> Progress:
    """A :class:`Progress` from the key/value pairs of one ``-progress`` block."""
    out_time: int | None = None
    with contextlib.suppress(ValueError):
        out_time = int(block.get("out_time_us", ""))
    speed: float | None = None
    with contextlib.suppress(ValueError):
        speed = float(block.get("speed", "").removesuffix("x"))
    return Progress(out_time_us=out_time, speed=speed, ended=block.get("progress") == "end")


_pdeathsig: list[list[str]] = []  # cache of the setpriv prefix ([] when setpriv cannot do it)


async def pdeathsig_prefix() -> list[str]:
    """``[setpriv, --pdeathsig, KILL, --]`` if this system's setpriv supports it, else ``[]`` (cached)."""
    if not _pdeathsig:
        _pdeathsig.append(await _probe_setpriv())
    return list(_pdeathsig[0])


async def _probe_setpriv() -> list[str]:
    path = shutil.which("setpriv")
    if path is None:
        return []
    try:
        proc = await asyncio.create_subprocess_exec(
            path, "--help", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
    except OSError:
        return []
    return [path, "--pdeathsig", "KILL", "--"] if b"--pdeathsig" in out else []


def _pdeathsig_preexec() -> Callable[[], None]:
    """A preexec_fn that asks the kernel to SIGKILL the child when its parent dies (libc bound here,
    in the parent, so the child only makes two system calls between fork and exec)."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


__all__ = ["KEEP_LINES", "READ_SIZE", "FfmpegProcess", "ParentDeath", "Progress", "parse_progress", "pdeathsig_prefix"]
