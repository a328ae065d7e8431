"""Where a latency tail comes from: slow requests of an open-loop run lined up with Headend's probes.

The client (:mod:`bench.openloop`) keeps each request's due time and latency; ``bench.api_server --diag``
records GC pauses, event-loop lag and the calls it wraps (credential verification = auth-cache misses,
last-seen flushes, catalog-version reads), all on ``time.monotonic()``. Each slow request (> 20 ms) is
charged to every probe event whose interval overlaps its own (due time → last byte); one with none is
*unexplained*. Slow requests closer than 0.3 s form an episode, listed with what overlapped it. Overlap is
not proof of cause: the control runs (:mod:`bench.api_bench`) remove one suspect at a time.
"""

from __future__ import annotations

from typing import Any

from bench.stats import percentile

SLOW_S = 0.020
GAP_S = 0.3
KINDS = ("auth-cache miss herd", "gen-2 GC", "last-seen flush")


def _episodes(slow: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    episodes: list[list[tuple[float, float]]] = []
    for due, lat in sorted(slow):
        if episodes and due - episodes[-1][-1][0] < GAP_S:
            episodes[-1].append((due, lat))
        else:
            episodes.append([(due, lat)])
    return episodes


def _overlapping(events: list[list[float]], start: float, end: float) -> list[list[float]]:
    """Events (start, seconds) whose interval overlaps [start, end]."""
    return [e for e in events if e[0] <= end and e[0] + e[1] >= start]


def _bursts(starts: list[float], gap: float = 0.5) -> list[int]:
    sizes: list[int] = []
    last = None
    for t in sorted(starts):
        if last is not None and t - last < gap:
            sizes[-1] += 1
        else:
            sizes.append(1)
        last = t
    return sizes


def _ms(values: list[float]) -> dict[str, float | None]:
    return {
        "n": float(len(values)),
        "p50_ms": None if not values else 1000 * (percentile(values, 50) or 0.0),
        "max_ms": None if not values else 1000 * max(values),
        "total_ms": 1000 * sum(values),
    }


def attribute(run: dict[str, Any], probes: dict[str, Any]) -> dict[str, Any]:
    """Slow requests charged to the probe events that overlapped them (a request's interval is its due time
    to its last byte), grouped into episodes; and the probes' totals inside the window."""
    w0, w1 = run["window"]
    calls: dict[str, list[list[float]]] = probes.get("calls", {})
    events = {
        KINDS[0]: calls.get("auth_verify", []),
        KINDS[1]: [[t, took] for t, gen, took in probes.get("gc", []) if gen == 2],
        KINDS[2]: calls.get("last_seen_flush", []),
    }
    lag = [[t, late] for t, late in probes.get("lag", [])]
    slow = [(due, lat) for due, lat in run.get("timeline", []) if lat > SLOW_S]
    by_cause = dict.fromkeys([*KINDS, "unexplained"], 0)
    for due, lat in slow:
        found = [kind for kind, evs in events.items() if _overlapping(evs, due, due + lat)]
        for kind in found or ["unexplained"]:
            by_cause[kind] += 1
    episodes = []
    for ep in _episodes(slow):
        start, end = ep[0][0], max(due + lat for due, lat in ep)
        hit = {kind: _overlapping(evs, start, end) for kind, evs in events.items()}
        episodes.append(
            {
                "at_s": start - w0,
                "slow_requests": len(ep),
                "max_latency_s": max(lat for _, lat in ep),
                "verifications": len(hit[KINDS[0]]),
                "verify_wall_max_s": max((x[1] for x in hit[KINDS[0]]), default=0.0),
                "gen2_gc_ms": [round(1000 * x[1], 1) for x in hit[KINDS[1]]],
                "flush_ms": [round(1000 * x[1], 1) for x in hit[KINDS[2]]],
                "max_loop_lag_ms": round(1000 * max((x[1] for x in _overlapping(lag, start, end)), default=0.0), 1),
                "causes": [kind for kind in KINDS if hit[kind]] or ["unexplained"],
            }
        )
    inside = [x for x in events[KINDS[0]] if w0 <= x[0] < w1]
    return {
        "slow_threshold_s": SLOW_S,
        "requests": len(run.get("timeline", [])),
        "slow_requests": len(slow),
        "episodes": episodes,
        "slow_by_cause": by_cause,
        "verify": {**_ms([x[1] for x in inside]), "bursts": _bursts([x[0] for x in inside])},
        "gen2_gc": _ms([x[1] for x in events[KINDS[1]] if w0 <= x[0] < w1]),
        "gc_counts_total": probes.get("gc_counts"),
        "gc_seconds_total": probes.get("gc_total_s"),
        "flush": _ms([x[1] for x in events[KINDS[2]] if w0 <= x[0] < w1]),
        "flush_on_shutdown_ms": None if not events[KINDS[2]] else 1000 * events[KINDS[2]][-1][1],
        "catalog_version_reads": _ms([x[1] for x in calls.get("catalog_version", []) if w0 <= x[0] < w1]),
        "loop_lag": _ms([x[1] for x in lag if w0 <= x[0] < w1]),
    }
