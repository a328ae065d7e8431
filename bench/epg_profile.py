"""Where Headend's time goes under an S8-EPG load: py-spy samples of the server process, folded into shares.

``py-spy record --pid PID --format raw --threads --nonblocking`` (run from CPU1 while the load runs) writes one
line per distinct stack, ``thread (TID): NAME;frame;frame … COUNT``, counting only samples in which the thread
was running (idle threads are not sampled). :func:`summarize` folds those into

* the share of samples per thread kind: the event loop (``MainThread``), the database thread (aiosqlite's
  worker), the ``asyncio.to_thread`` pool (gzip of big bodies), other;
* the top frames of Headend's own code by *inclusive* share (each frame counted once per stack; native code
  such as SQLite, orjson or zlib is charged to the Python frame that called it), its HTTP plumbing
  (``headend/http/``) left out;
* the share per package of the innermost Python frame (*self*: ``sqlalchemy``, ``starlette``, ``headend`` …),
  and the top innermost frames.

py-spy is not a dependency of the project: it is looked up as ``$HEADEND_BENCH_PYSPY``, on ``PATH``, or in
``/tmp/pyspy/bin`` (``pip install --target /tmp/pyspy py-spy``); without it the profile step is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.procs import Proc, Procs
from bench.wrk import CLIENT_CPU

Row = dict[str, Any]
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_OWN = "(headend/"
_PLUMBING = ("(headend/http/", "(headend/app.py", "(headend/runtime.py")


def pyspy() -> str | None:
    """The py-spy executable, or None."""
    for candidate in (os.environ.get("HEADEND_BENCH_PYSPY"), shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def start_record(procs: Procs, exe: str, pid: int, seconds: float, out: Path, rate: int = 200) -> Proc:
    argv = [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", str(rate),
            "--format", "raw", "--output", str(out), "--threads", "--nonblocking"]  # fmt: skip
    return procs.start("py-spy", argv, cpu=CLIENT_CPU, stdout=subprocess.DEVNULL)


def _short(frame: str) -> str:
    """``func (path:line)`` → ``func (package/module.py)`` (site-packages and src/ prefixes dropped)."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def _thread_kind(name: str) -> str:
    if "MainThread" in name:
        return "event loop (MainThread)"
    if "asyncio_" in name or "ThreadPoolExecutor" in name:
        return "to_thread pool"
    if "Thread-" in name:
        return "database thread (aiosqlite)"
    return "other"


def summarize(raw: Path, top: int = 12) -> Row:
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        total += count
        pool = any("concurrent/futures/thread.py" in f for f in frames)  # py-spy may not name pool threads
        threads["to_thread pool" if pool else _thread_kind(thread)] += count
        names = [_short(f) for f in frames]
        for name in set(names):
            if _OWN in name and not any(g in name for g in _PLUMBING):
                inclusive[name] += count
        if names:
            leaf[names[-1]] += count
            packages[_package(names[-1])] += count
    share = 100.0 / total if total else 0.0
    return {
        "samples": total,
        "threads": {k: round(v * share, 1) for k, v in threads.most_common()},
        "inclusive": [[k, round(v * share, 1)] for k, v in inclusive.most_common(top)],
        "self": [[k, round(v * share, 1)] for k, v in leaf.most_common(top)],
        "packages": {k: round(v * share, 1) for k, v in packages.most_common(10)},
    }


def _package(frame: str) -> str:
    """``func (sqlalchemy/engine/base.py)`` → ``sqlalchemy``; the standard library by module (``asyncio``)."""
    inner = frame.rpartition(" (")[2].rstrip(")")
    head = inner.split("/", 1)[0]
    return head.removesuffix(".py") or inner


__all__ = ["pyspy", "start_record", "summarize"]
