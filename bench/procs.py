"""Every subprocess the bench starts: pinned to a CPU, in its own process group, always stopped.

:class:`Procs` is a context manager. Whatever happens inside it (normal end, an exception, Ctrl-C or SIGTERM,
which :func:`install_sigterm` turns into :class:`KeyboardInterrupt`), every process group it started is sent
SIGTERM, then SIGKILL after a grace period, and reaped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")

StdStream = int | IO[bytes] | None


@dataclass
class Proc:
    """One started process group (the leader's pid is the group id)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def install_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so ``finally`` blocks and ``Procs.__exit__`` run."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def pin_self(cpu: int) -> None:
    """Pin the calling process (and what it starts without its own pinning) to ``cpu`` when it exists."""
    if cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (field 5 of /proc/PID/stat)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Procs:
    """Starts processes in new sessions and stops all of them on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._procs: list[Proc] = []
        self._counter = 0

    def __enter__(self) -> Procs:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        cpu: int | None = None,
        env: dict[str, str] | None = None,
        stdin: StdStream = subprocess.DEVNULL,
        stdout: StdStream = subprocess.DEVNULL,
        cwd: Path | None = None,
    ) -> Proc:
        """Start ``argv`` (behind ``taskset -c cpu`` when given) with stderr in a log file."""
        if cpu is not None and cpu < (os.cpu_count() or 1):
            argv = ["taskset", "-c", str(cpu), *argv]
        self._counter += 1
        log_path = self.log_dir / f"{self._counter:03d}-{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                argv,
                stdin=stdin,
                stdout=stdout,
                stderr=log,
                cwd=cwd or ROOT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        proc = Proc(name, popen, log_path)
        self._procs.append(proc)
        return proc

    def stop(self, proc: Proc, grace: float = 5.0) -> float:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; returns how long the stop took."""
        t0 = time.monotonic()
        if proc.alive():
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The leader may be gone while members of its group (a forked child) are not.
        if group_members(proc.pid):
            _signal_group(proc.pid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.popen.stdout, proc.popen.stdin):
            if stream is not None:
                stream.close()
        if proc in self._procs:
            self._procs.remove(proc)
        return time.monotonic() - t0

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc, grace=3.0)
