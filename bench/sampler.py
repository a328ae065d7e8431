"""CPU and memory of processes from /proc, the machine's load, and what else is running.

CPU of a process is ``utime + stime`` of /proc/PID/stat (all its threads, not its children) in clock ticks;
divided by wall-clock time it is "% of one core". A process's ffmpeg child is therefore never counted with it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


@dataclass(frozen=True)
class Stat:
    pid: int
    comm: str
    state: str
    ppid: int
    ticks: int  # utime + stime
    start_time: int  # clock ticks since boot


def read_stat(pid: int) -> Stat | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    close = raw.rfind(")")
    comm = raw[raw.find("(") + 1 : close]
    fields = raw[close + 2 :].split()
    # fields[0] is field 3 (state): utime = field 14, stime = field 15, starttime = field 22
    return Stat(pid, comm, fields[0], int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19]))


def exists(pid: int, start_time: int | None = None) -> bool:
    """True while ``pid`` exists and is not a zombie (and, if given, is still the process started then)."""
    stat = read_stat(pid)
    if stat is None or stat.state == "Z":
        return False
    return start_time is None or stat.start_time == start_time


def rss_kib(pid: int) -> int | None:
    try:
        for line in (_PROC / str(pid) / "status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def all_stats() -> list[Stat]:
    stats = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats.append(stat)
    return stats


def descendants(pid: int, comm: str | None = None) -> list[Stat]:
    """Every live descendant of ``pid`` (optionally only those named ``comm``)."""
    stats = all_stats()
    by_parent: dict[int, list[Stat]] = {}
    for stat in stats:
        by_parent.setdefault(stat.ppid, []).append(stat)
    found: list[Stat] = []
    todo = [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return [s for s in found if comm is None or s.comm == comm]


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            total += stat.ticks
    return total


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]]


def cpu_times() -> dict[str, list[int]]:
    """/proc/stat per CPU: user, nice, system, idle, iowait, irq, softirq, steal."""
    times: dict[str, list[int]] = {}
    for line in Path("/proc/stat").read_text(encoding="ascii").splitlines():
        if line.startswith("cpu"):
            name, *values = line.split()
            times[name] = [int(v) for v in values[:8]]
    return times


def busy_cores(seconds: float = 1.0, exclude: list[int] | None = None) -> float:
    """Cores busy over ``seconds`` (user+nice+system+irq+softirq+steal), minus the ``exclude`` processes."""
    before, ticks0 = cpu_times()["cpu"], cpu_ticks(exclude or [])
    time.sleep(seconds)
    after, ticks1 = cpu_times()["cpu"], cpu_ticks(exclude or [])
    busy = sum(after[i] - before[i] for i in (0, 1, 2, 5, 6, 7)) - (ticks1 - ticks0)
    return max(0.0, busy / CLK_TCK / seconds)


@dataclass
class Meter:
    """CPU of named process groups over one window, plus RSS samples taken while it is open.

    ``groups`` maps a name ("server", "ffmpeg", "client") to the pids it sums. ``rss_of`` names the groups
    whose RSS is sampled (summed over their pids).
    """

    groups: dict[str, list[int]]
    rss_of: tuple[str, ...] = ("server",)
    _t0: float = 0.0
    _ticks0: dict[str, int] = field(default_factory=dict)
    _cpu0: dict[str, list[int]] = field(default_factory=dict)
    rss_samples: dict[str, list[int]] = field(default_factory=dict)

    def begin(self) -> None:
        self._t0 = time.monotonic()
        self._ticks0 = {name: cpu_ticks(pids) for name, pids in self.groups.items()}
        self._cpu0 = cpu_times()
        self.sample_rss()

    def sample_rss(self) -> None:
        for name in self.rss_of:
            values = [rss_kib(pid) for pid in self.groups.get(name, [])]
            self.rss_samples.setdefault(name, []).append(sum(v for v in values if v is not None))

    def end(self) -> dict[str, object]:
        """CPU % of one core per group, RSS first/last/max (MiB), and CPU0 time not spent in the groups."""
        wall = time.monotonic() - self._t0
        self.sample_rss()
        cpu1 = cpu_times()
        pct = {
            name: 100.0 * (cpu_ticks(pids) - self._ticks0[name]) / CLK_TCK / wall for name, pids in self.groups.items()
        }
        result: dict[str, object] = {"wall_s": wall, "cpu_pct": pct}
        rss: dict[str, dict[str, float]] = {}
        for name, samples in self.rss_samples.items():
            if samples:
                rss[name] = {
                    "first_mib": samples[0] / 1024,
                    "last_mib": samples[-1] / 1024,
                    "max_mib": max(samples) / 1024,
                }
        result["rss"] = rss
        if "cpu0" in cpu1 and "cpu0" in self._cpu0:
            d = [a - b for a, b in zip(cpu1["cpu0"], self._cpu0["cpu0"], strict=True)]
            task_pct = 100.0 * (d[0] + d[1] + d[2]) / CLK_TCK / wall
            result["cpu0"] = {
                "task_pct": task_pct,  # user+nice+system on CPU0, every process
                "softirq_pct": 100.0 * d[6] / CLK_TCK / wall,
                "idle_pct": 100.0 * (d[3] + d[4]) / CLK_TCK / wall,
            }
        return result
