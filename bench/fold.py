"""Fold the runs of one (N, system) into medians with min-max; failed and discarded runs are left out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.stats import spread

Row = dict[str, Any]
LABELS = {"headend": "Headend", "vlc": "VLC", "asgi": "uvicorn+Starlette", "nginx": "nginx"}


def valid(runs: Iterable[Row]) -> list[Row]:
    return [r for r in runs if "error" not in r and not r.get("discarded") and r.get("measure")]


def dig(row: Row, *path: str, default: Any = None) -> Any:
    cur: Any = row
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    return cur


def group_runs(runs: list[Row]) -> dict[str, dict[str, list[Row]]]:
    groups: dict[str, dict[str, list[Row]]] = {}
    for r in valid(runs):
        groups.setdefault(str(r["n"]), {}).setdefault(r["system"], []).append(r)
    return groups


def common(rs: list[Row]) -> Row:
    return {
        "runs": len(rs),
        "server_cpu": spread([dig(r, "measure", "cpu_pct", "server", default=0.0) for r in rs]),
        "source_cpu": spread(
            [dig(r, "measure", "cpu_pct", "source", default=0.0) for r in rs if dig(r, "pids", "source") != []]
        ),
        "client_cpu": spread([dig(r, "measure", "cpu_pct", "client", default=0.0) for r in rs]),
        "cpu_per_gbps": spread(
            [
                dig(r, "measure", "cpu_pct", "server", default=0.0) / (r["client"]["aggregate_bps"] / 1e9)
                for r in rs
                if dig(r, "client", "aggregate_bps")
            ]
        ),
        "rss_max_mib": spread([dig(r, "measure", "rss", "server", "max_mib", default=0.0) for r in rs]),
        "rss_growth_mib": max(
            dig(r, "measure", "rss", "server", "last_mib", default=0.0)
            - dig(r, "measure", "rss", "server", "first_mib", default=0.0)
            for r in rs
        ),
        "rss_idle_mib": spread([r.get("rss_idle_mib", 0.0) for r in rs]),
        "foreign_cpu0_max": max(r.get("foreign_cpu0_pct", 0.0) for r in rs),
        "loadavg_before_max": max(r["loadavg_before"][0] for r in rs),
    }


def summarize_s1(runs: list[Row]) -> dict[str, dict[str, Row]]:
    out: dict[str, dict[str, Row]] = {}
    for n, systems in group_runs(runs).items():
        for system, rs in systems.items():
            c = [r["client"] for r in rs]
            out.setdefault(n, {})[system] = {
                **common(rs),
                "goodput_min": min(dig(x, "ratio_to_ingest", "min", default=0.0) or 0.0 for x in c),
                "goodput_p50": spread([dig(x, "ratio_to_ingest", "p50", default=0.0) or 0.0 for x in c])["median"],
                "below_95pct": sum(x["below_95pct"] for x in c),
                "stalls": sum(x["stalls"] for x in c),
                "max_gap_s": max(x["max_gap_s"] for x in c),
                "dropped": sum(x["dropped"] for x in c),
                "connect_errors": sum(x["connect_errors"] + x["http_errors"] for x in c),
                "connected": min(x["connected"] for x in c),
                "first_sync_all": all(x["first_byte_sync"] == x["connected"] for x in c),
                "first_pat_all": all(x["first_packet_pat"] == x["connected"] for x in c),
                "aggregate_gbps": spread([x["aggregate_bps"] / 1e9 for x in c])["median"],
            }
    return out


def summarize_s3(runs: list[Row]) -> dict[str, dict[str, Row]]:
    out: dict[str, dict[str, Row]] = {}
    for n, systems in group_runs(runs).items():
        for system, rs in systems.items():
            c = [r["client"] for r in rs]
            out.setdefault(n, {})[system] = {
                **common(rs),
                "ttfb_p95": spread([dig(x, "segment_ttfb_s", "p95", default=0.0) or 0.0 for x in c]),
                "ttfb_p99": spread([dig(x, "segment_ttfb_s", "p99", default=0.0) or 0.0 for x in c]),
                "download_p99": spread([dig(x, "segment_download_s", "p99", default=0.0) or 0.0 for x in c]),
                "playlist_p99": spread([dig(x, "playlist_ttfb_s", "p99", default=0.0) or 0.0 for x in c]),
                "segments_per_s": spread([x["segments_per_s"] for x in c])["median"],
                "late": sum(x["late"] for x in c),
                "stale": sum(x["stale"] for x in c),
                "skipped": sum(x["skipped"] for x in c),
                "errors": sum(x["errors"] + x["players_failed"] for x in c),
                "bad_first_byte": sum(x["bad_first_byte"] for x in c),
                "aggregate_gbps": spread([x["aggregate_bps"] / 1e9 for x in c])["median"],
            }
    return out
