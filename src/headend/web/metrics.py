"""CPU use for the dashboard: this process and the whole machine, measured between two polls.

Process CPU comes from ``time.process_time`` (this process's user + system time); machine CPU from
``/proc/stat`` where it exists (ffmpeg's work shows there). Both are percentages of one core's time per
wall second divided by the core count for the machine figure, so 100 % means every core busy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_PROC_STAT: Final = Path("/proc/stat")


@dataclass(frozen=True, slots=True)
class CpuUse:
    process_percent: float  # of one core
    machine_percent: float | None  # of all cores; None where /proc/stat is not available
    cores: int


def _machine_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot, or None."""
    try:
        first = _PROC_STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not first or first[0] != "cpu":
        return None
    values = [int(v) for v in first[1:] if v.isdigit()]
    idle = sum(values[3:5])  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuSampler:
    """Remembers the previous reading; each :meth:`sample` reports the use since then."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = (clock(), time.process_time(), _machine_times())

    def sample(self) -> CpuUse:
        now, cpu, machine = self._clock(), time.process_time(), _machine_times()
        then, then_cpu, then_machine = self._last
        self._last = (now, cpu, machine)
        wall = max(now - then, 1e-6)
        process = max(0.0, (cpu - then_cpu) / wall * 100)
        machine_percent = None
        if machine is not None and then_machine is not None and machine[1] > then_machine[1]:
            machine_percent = 100 * (machine[0] - then_machine[0]) / (machine[1] - then_machine[1])
        return CpuUse(
            round(process, 1), None if machine_percent is None else round(machine_percent, 1), os.cpu_count() or 1
        )


__all__ = ["CpuSampler", "CpuUse"]
