"""A record of every ffmpeg we spawned, so a restarted server can kill what a crashed one left behind.

Promises:

* :meth:`PidRegistry.register` writes one small JSON file per child (pid, process group, and the start
  time from ``/proc/PID/stat``); :meth:`PidRegistry.unregister` removes it once the child was reaped.
* :meth:`PidRegistry.reap_orphans` (call it once at server start, before any channel starts) kills the
  process group of every recorded process that is still alive *and* has the recorded start time, so a
  recycled PID belonging to some other program is never touched; then it clears every record.

Linux only (``/proc``). On other systems records are still written, but nothing is ever killed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

_PREFIX = "ffmpeg-"
_SUFFIX = ".json"
_REAP_WAIT_S = 1.0


@dataclass(frozen=True, slots=True)
class PidRecord:
    pid: int
    pgid: int
    start_time: int  # clock ticks since boot, field 22 of /proc/PID/stat


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a live process, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ')': split after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


class PidRegistry:
    """Pid files of running ffmpeg children under ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self._dir = run_dir

    @property
    def run_dir(self) -> Path:
        return self._dir

    def register(self, pid: int) -> PidRecord | None:
        """Record a freshly spawned child (which must lead its own process group)."""
        stat = proc_stat(pid)
        if stat is None:  # already gone, or no /proc: nothing we could safely kill later
            return None
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return None
        record = PidRecord(pid=pid, pgid=pgid, start_time=stat[1])
        self._write(record)
        return record

    def unregister(self, pid: int) -> None:
        """Forget a child after it was reaped."""
        self._path(pid).unlink(missing_ok=True)

    def records(self) -> list[PidRecord]:
        """Every readable record; unreadable files are deleted."""
        if not self._dir.is_dir():
            return []
        found = []
        for path in sorted(self._dir.glob(f"{_PREFIX}*{_SUFFIX}")):
            record = _read(path)
            if record is None:
                path.unlink(missing_ok=True)
            else:
                found.append(record)
        return found

    def reap_orphans(self) -> int:
        """Kill every recorded process group whose leader is still the process we spawned; clear all records.

        Returns the number of process groups killed.
        """
        killed = [record for record in self.records() if _kill_if_ours(record)]
        for record in self.records():
            self.unregister(record.pid)
        _wait_gone(killed)
        if killed:
            logger.warning("killed %d ffmpeg process(es) left over from a previous run", len(killed))
        return len(killed)

    def _path(self, pid: int) -> Path:
        return self._dir / f"{_PREFIX}{pid}{_SUFFIX}"

    def _write(self, record: PidRecord) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._path(record.pid)
        tmp = path.with_suffix(".tmp")
        data = {"pid": record.pid, "pgid": record.pgid, "start_time": record.start_time}
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)


def _read(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = PidRecord(pid=int(data["pid"]), pgid=int(data["pgid"]), start_time=int(data["start_time"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if record.pid > 1 and record.pgid > 1 else None


def _is_ours(record: PidRecord) -> bool:
    stat = proc_stat(record.pid)
    return stat is not None and stat[0] != "Z" and stat[1] == record.start_time


def _kill_if_ours(record: PidRecord) -> bool:
    if not _is_ours(record) or record.pgid == os.getpgrp():
        return False
    try:
        os.killpg(record.pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _wait_gone(records: list[PidRecord]) -> None:
    """Give killed processes a moment to die, so their ports and files are free when we return."""
    deadline = time.monotonic() + _REAP_WAIT_S
    while records and time.monotonic() < deadline:
        records = [r for r in records if _is_ours(r)]
        if records:
            time.sleep(0.02)


__all__ = ["PidRecord", "PidRegistry", "proc_stat"]
