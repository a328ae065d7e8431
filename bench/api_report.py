"""docs/benchmarks.md sections for S8 (``player_api.php``) and S9 (``get.php``), their targets and oddities.

Runs are folded here, at render time, from the raw records :mod:`bench.api_bench` saved: per measurement
(``gzip``, ``identity``, ``login``, ``rate``, ``ttfb``, ``m3u``) and system, the median of the runs with
min-max. Failed and discarded (noisy, repeated) runs are left out and listed under *What was odd*.
"""

from __future__ import annotations

from typing import Any

from bench.fold import LABELS, dig
from bench.stats import spread
from bench.tables import fmt_ratio, ms, table, verdict

Row = dict[str, Any]


def fold(runs: list[Row]) -> dict[str, dict[str, Row]]:
    """(measurement → system → folded numbers)."""
    groups: dict[str, dict[str, list[Row]]] = {}
    for r in runs:
        if "error" in r or r.get("discarded") or r.get("what") in (None, "stop"):
            continue
        groups.setdefault(r["what"], {}).setdefault(r["system"], []).append(r)
    out: dict[str, dict[str, Row]] = {}
    for what, systems in groups.items():
        for name, rs in systems.items():

            def s(*path: str, rs: list[Row] = rs) -> Row:
                return spread([v for v in (dig(r, *path) for r in rs) if v is not None])

            out.setdefault(what, {})[name] = {
                "runs": len(rs),
                "rps": s("rps"),
                "cpu": s("server_cpu_pct"),
                "cpu_ms": s("cpu_ms_per_request"),
                "p50": s("latency_s", "p50"),
                "p95": s("latency_s", "p95"),
                "p99": s("latency_s", "p99"),
                "p99_runs": [dig(r, "latency_s", "p99") for r in rs],
                "ttfb_p99_runs": [dig(r, "ttfb_s", "p99") for r in rs],
                "p999": s("p999_s") if what == "rate" else s("latency_s", "p999"),
                "max": s("latency_s", "max"),
                "ttfb_p50": s("ttfb_s", "p50"),
                "ttfb_p95": s("ttfb_s", "p95"),
                "ttfb_p99": s("ttfb_s", "p99"),
                "total_p50": s("total_s", "p50"),
                "total_p99": s("total_s", "p99"),
                "bytes": s("bytes_per_request"),
                "errors": sum(int(r.get("errors") or 0) for r in rs),
                "requests": sum(int(r.get("requests") or 0) for r in rs),
                "rss_mib": s("rss_mib"),
            }
    return out


def _num(s: Row | None, fmt: str = "{:.0f}", unit: str = "") -> str:
    if not s or s.get("median") is None:
        return "-"
    if s["min"] == s["max"]:
        return fmt.format(s["median"]) + unit
    return f"{fmt.format(s['median'])}{unit} ({fmt.format(s['min'])}-{fmt.format(s['max'])})"


def _ms(s: Row | None) -> str:
    return "-" if not s or s.get("median") is None else ms(s["median"])


def _ratio(a: Row | None, b: Row | None, key: str) -> float | None:
    x, y = dig(a or {}, key, "median"), dig(b or {}, key, "median")
    return None if x is None or not y else float(x) / float(y)


def _per_core(x: Row | None) -> float | None:
    rps, cpu = dig(x or {}, "rps", "median"), dig(x or {}, "cpu", "median")
    return None if rps is None or not cpu else float(rps) / (float(cpu) / 100.0)


def targets(sc: Row) -> list[list[str]]:
    rows: list[list[str]] = []
    s8 = fold(dig(sc, "s8", "runs", default=[]) or []) if "s8" in sc else {}
    s9 = fold(dig(sc, "s9", "runs", default=[]) or []) if "s9" in sc else {}
    for what, label in (("gzip", "gzip"), ("identity", "no gzip")):
        h = dig(s8, what, "headend")
        v = dig(h or {}, "rps", "median")
        rows.append([f"S8 `get_live_streams`, 5,000 channels ({label}), c=64: ≥ 1,000 req/s",
                     _num(h and h["rps"], unit=" req/s"), verdict(None if v is None else v >= 1000)])  # fmt: skip
    h = dig(s8, "rate", "headend")
    shown, ok = _every_run(h, "p99_runs", 0.05)
    rows.append(["S8 `get_live_streams` at a fixed 200 req/s (gzip): p99 < 50 ms in every run",
                 f"{shown}; max {_ms(h and h['max'])}", verdict(ok)])  # fmt: skip
    h = dig(s8, "login", "headend")
    v = dig(h or {}, "rps", "median")
    rows.append(["S8 auth-only call (login, no action), c=64: ≥ 5,000 req/s (paper target)",
                 _num(h and h["rps"], unit=" req/s"), verdict(None if v is None else v >= 5000)])  # fmt: skip
    h = dig(s9, "ttfb", "headend")
    shown, ok = _every_run(h, "ttfb_p99_runs", 0.02)
    rows.append(["S9 `get.php` m3u_plus, 10,000 channels: time to first byte p99 < 20 ms in every run",
                 f"{shown}; p50 {_ms(h and h['ttfb_p50'])}, p95 {_ms(h and h['ttfb_p95'])}", verdict(ok)])  # fmt: skip
    h = dig(s9, "m3u", "headend")
    core = _per_core(h)
    at = f"{_med(h, 'rps', '{:.0f}')} playlists/s at {_med(h, 'cpu', '{:.0f}')} % of a core"
    shown = "-" if core is None else f"{core:.0f} per core ({at})"
    rows.append(["S9 `get.php`, 10,000 channels, c=16: ≥ 100 playlists/s per core", shown,
                 verdict(None if core is None else core >= 100)])  # fmt: skip
    return rows


def _med(x: Row | None, key: str, fmt: str) -> str:
    v = dig(x or {}, key, "median")
    return "-" if v is None else fmt.format(v)


def _every_run(x: Row | None, key: str, bar: float) -> tuple[str, bool | None]:
    """'median (runs a, b, c: k of n over)' and whether every run stayed under ``bar`` seconds."""
    values = sorted(v for v in (x or {}).get(key, []) if v is not None)
    if not values:
        return "-", None
    over = sum(1 for v in values if v >= bar)
    runs = ", ".join(ms(v) for v in values)
    tail = f": {over} of {len(values)} over {ms(bar)}" if over else ""
    return f"{ms(values[len(values) // 2])} median (runs {runs}{tail})", over == 0


def _provenance(rec: Row) -> str:
    src = rec.get("provenance")
    if not src:
        return ""
    return (f" Measured in a separate run (`python -m bench.run --scenario {src.get('scenarios', '?')}`) on "
            f"{src.get('date', '?')}, git {src.get('git', '?')}; raw results `{src.get('json', '?')}`.")  # fmt: skip


def s8_section(s8: Row) -> list[str]:
    p, b = s8.get("params", {}), s8.get("bodies", {})
    f = fold(s8.get("runs", []))
    lines = ["## S8 — Xtream API: `player_api.php` with 5,000 channels", ""]
    lines.append(
        f"One line entitled to {b.get('streams', p.get('s8_channels', '?')):,} channels (`tests/api/bulk.py`). "
        f"`get_live_streams` is {b.get('json_bytes', 0) / 2**20:.2f} MiB of JSON, {b.get('gzip_bytes', 0) / 1024:.0f} "
        f"KiB gzipped (both cached by Headend); the login answer is {b.get('login_bytes', 0)} B. nginx serves the very "
        "bytes Headend answered, from files (`gzip_static` for the gzip variant), 1 worker, sendfile, "
        f"open_file_cache. Throughput: `wrk -t1 -c{p.get('connections')}` for {p.get('seconds', 0):g} s after a "
        f"{p.get('warmup', 0):g} s warm-up; fixed rate: `bench/openloop.py`, {p.get('rate', 0):g} req/s over "
        f"{p.get('rate_connections')} keep-alive connections for {p.get('rate_seconds', 0):g} s (after 3 s), latency "
        "from each request's *scheduled* time (no coordinated omission), `Accept-Encoding: gzip`. CPU = the server "
        f"process (nginx: master + worker) over the window; {p.get('runs')} run(s), Headend then nginx in each, "
        f"median (min-max).{_provenance(s8)}"
    )
    lines.append("")
    rows = []
    for what, label in (("gzip", "get_live_streams, gzip"), ("identity", "get_live_streams, no gzip"),
                        ("login", "login (auth only)")):  # fmt: skip
        h, n = dig(f, what, "headend"), dig(f, what, "nginx")
        if not h and not n:
            continue
        rows.append([label, _num(h and h["rps"]), _num(n and n["rps"]), fmt_ratio(_ratio(h, n, "rps")),
                     _num(h and h["cpu"], "{:.0f}", " %"), _num(n and n["cpu"], "{:.0f}", " %"),
                     " / ".join(_num(x and x["cpu_ms"], "{:.3f}") for x in (h, n)),
                     fmt_ratio(_ratio(h, n, "cpu_ms")),
                     " / ".join(f"{_ms(x and x['p50'])}, {_ms(x and x['p99'])}" for x in (h, n)),
                     " / ".join("-" if not x else f"{x['bytes']['median'] / 1024:.1f}" for x in (h, n)),
                     _med(h, "rss_mib", "{:.0f} MiB"),
                     " / ".join("-" if not x else str(x["errors"]) for x in (h, n))])  # fmt: skip
    lines += table(["request", "Headend req/s", "nginx req/s", "ours/nginx", "Headend CPU", "nginx CPU",
                    "CPU ms/req H / N", "CPU per req ours/nginx", "wrk p50, p99 H / N", "KiB/resp H / N",
                    "Headend RSS", "errors H / N"], rows)  # fmt: skip
    lines += _throughput_notes(f)
    lines.append(f"At a fixed {p.get('rate', 0):g} req/s (`get_live_streams`, gzip):")
    lines.append("")
    rows = []
    rate = f.get("rate", {})
    for name in ("headend", "nginx"):
        x = rate.get(name)
        if x:
            rows.append([LABELS.get(name, name), str(x["runs"]), _ms(x["p50"]), _ms(x["p95"]), _p99(x),
                         _ms(x["p999"]), _ms(x["max"]), _num(x["cpu"], "{:.1f}", " %"),
                         str(x["errors"])])  # fmt: skip
    lines += table(["system", "runs", "p50", "p95", "**p99** (runs)", "p99.9", "max", "server CPU", "errors"], rows)
    ratio = _ratio(rate.get("headend"), rate.get("nginx"), "cpu")
    if ratio is not None:
        lines += [f"Server CPU at {p.get('rate', 0):g} req/s, ours/nginx: {fmt_ratio(ratio)}.", ""]
    return lines + _cost(f, p) + _diagnosis(s8.get("diagnosis") or {})


def _throughput_notes(f: dict[str, dict[str, Row]]) -> list[str]:
    """What the saturated rows measure: loopback for the big body; Headend's wrk p99 (see the diagnosis)."""
    out = []
    gbps = [dig(x, "rps", "median") * dig(x, "bytes", "median") / 1e9 for x in (f.get("identity") or {}).values()]
    if gbps:
        out.append(
            f"Without gzip each answer is 1.5 MiB and both servers push {min(gbps):.1f}-{max(gbps):.1f} GB/s through "
            "loopback into one wrk thread: that row measures loopback and the client's core more than the server "
            "(performance.md §3.2), which is why the two are level there."
        )
    worst = dig(f, "gzip", "headend", "p99", "median")
    if worst is not None and worst > 0.1:
        out.append(
            "Headend's wrk p99 of hundreds of milliseconds at c=64 comes with a p50 of a few ms: a periodic stall, "
            "not slow service; *Where the tail comes from* below measures what stalls."
        )
    return [" ".join(out), ""] if out else []


def _cost(f: dict[str, dict[str, Row]], p: Row) -> list[str]:
    """Headend's CPU per request at the fixed rate: login, a tiny catalogue answer, the big one."""
    rows = []
    for what, label in (("rate_login", "login (no catalogue)"), ("rate_categories", "get_live_categories (tiny body)"),
                        ("rate", "get_live_streams (75 KiB gzip)")):  # fmt: skip
        x = dig(f, what, "headend")
        if x:
            rows.append([label, str(x["runs"]), _num(x["cpu"], "{:.1f}", " %"), _num(x["cpu_ms"], "{:.2f}"),
                         _ms(x["p50"]), _ms(x["p99"]), _ms(x["max"])])  # fmt: skip
    if len(rows) < 2:
        return []
    lines = [
        f"What a request costs Headend at a fixed {p.get('rate', 0):g} req/s (gzip accepted; first run only for the "
        "first two rows, half-length windows): every catalogue action reads the catalog version from SQLite "
        "(through the database thread) before it looks up its cached body; login does not.",
        "",
    ]
    return lines + table(["request", "runs", "server CPU", "CPU ms/req", "p50", "p99", "max"], rows)


def _p99(x: Row | None) -> str:
    if not x or x["p99"].get("median") is None:
        return "-"
    return f"{ms(x['p99']['median'])} ({ms(x['p99']['min'])}-{ms(x['p99']['max'])})"


def _diagnosis(d: Row) -> list[str]:
    variants = [(k, d[k]) for k in ("default", "auth_cache_3600s") if isinstance(d.get(k), dict)]
    if not variants:
        return []
    lines = ["### Where the tail comes from (login at a fixed rate, with probes)", ""]
    lines.append(
        f"Login (no action) at {d.get('rate', 0):g} req/s over {d.get('connections')} connections for "
        f"{d.get('seconds', 0):g} s, open loop, against Headend started with `bench/api_server.py --diag`: GC pauses "
        "(`gc.callbacks`), event-loop lag (a 5 ms ticker), and timed wrappers around credential verification (an "
        "auth-cache miss: the line row, then its entitlement, one row per channel) and the last-seen flush (forced "
        "every 7 s here instead of 60 s, to catch it in the window). A slow request is > 20 ms; each is charged "
        "to every probe event whose interval overlapped its own (scheduled time → last byte; one request can count "
        "for two causes, none: *unexplained*), and slow requests closer than 0.3 s form an episode. "
        "*Control*: the same with `subscribers.auth_cache_s` = 3600 (no expiry during the run)."
    )
    lines.append("")
    rows = []
    for name, v in variants:
        if "error" in v:
            rows.append([name, f"error: {str(v['error']).splitlines()[0][:100]}", *["-"] * 7])
            continue
        c, a = v["client"], v["attribution"]
        lat = c["latency_s"]
        ver, g, fl = a["verify"], a["gen2_gc"], a["flush"]
        rows.append([
            "shipped (auth cache 5 s)" if name == "default" else "control: auth cache 3600 s",
            f"{ms(lat['p50'])} / {ms(lat['p99'])} / {ms(c.get('p999_s'))} / {ms(lat['max'])}",
            f"{a['slow_requests']} of {a['requests']}",
            ", ".join(f"{k} {n}" for k, n in a["slow_by_cause"].items() if n) or "-",
            "none" if not ver["n"] else f"{int(ver['n'])} in bursts of {', '.join(map(str, ver['bursts'][:8]))}; "
            f"wall p50 {_f(ver['p50_ms'])} ms, max {_f(ver['max_ms'])} ms",
            "none" if not g["n"] else f"{int(g['n'])}; p50 {_f(g['p50_ms'])} ms, max {_f(g['max_ms'])} ms",
            "none" if not fl["n"] else f"{int(fl['n'])}; max {_f(fl['max_ms'])} ms",
            "none ≥ 4 ms" if not a["loop_lag"]["n"] else f"max {_f(a['loop_lag']['max_ms'])} ms",
        ])  # fmt: skip
    lines += table(["run", "p50 / p99 / p99.9 / max", "slow (> 20 ms)", "slow requests by cause",
                    "credential verifications (auth-cache misses)", "gen-2 GC pauses", "last-seen flushes",
                    "event-loop lag"], rows)  # fmt: skip
    default = d.get("default", {}).get("attribution", {})
    episodes = default.get("episodes", [])
    if episodes:
        lines += ["Episodes of the shipped-settings run:", ""]
        rows = [[f"{e['at_s']:.2f} s", str(e["slow_requests"]), ms(e["max_latency_s"]), str(e["verifications"]),
                 ms(e["verify_wall_max_s"]) if e["verifications"] else "-",
                 ", ".join(map(str, e["gen2_gc_ms"])) or "-", ", ".join(map(str, e["flush_ms"])) or "-",
                 f"{e['max_loop_lag_ms']:g} ms", ", ".join(e["causes"])] for e in episodes[:12]]  # fmt: skip
        lines += table(["at", "slow requests", "worst", "verifications", "longest verification", "gen-2 GC ms",
                        "flush ms", "loop lag", "charged to"], rows)  # fmt: skip
    return lines


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def s9_section(s9: Row) -> list[str]:
    p, b = s9.get("params", {}), s9.get("bodies", {})
    f = fold(s9.get("runs", []))
    lines = ["## S9 — M3U: `get.php?type=m3u_plus&output=ts` with 10,000 channels", ""]
    lines.append(
        f"One line entitled to {b.get('entries', p.get('s9_channels', '?')):,} channels; the playlist is "
        f"{b.get('m3u_bytes', 0) / 2**20:.2f} MiB (every URL carries the line's credentials; Headend fills a cached "
        "per-entitlement template and streams it in 64 KiB chunks, no gzip). nginx serves the same bytes from a "
        f"file. TTFB: {p.get('ttfb_count')} sequential requests on one keep-alive connection, time from writing the "
        "request to the first response byte (*total* = to the last byte). Throughput: "
        f"`wrk -t1 -c{p.get('m3u_connections')}` for {p.get('seconds', 0):g} s after a {p.get('warmup', 0):g} s "
        "warm-up; *per core* = playlists/s ÷ the server's CPU (cores). "
        f"{p.get('runs')} run(s), median (min-max).{_provenance(s9)}"
    )
    lines.append("")
    rows = []
    for name in ("headend", "nginx"):
        x = dig(f, "ttfb", name)
        if x:
            rows.append([LABELS.get(name, name), str(x["runs"]), str(x["requests"]), _ms(x["ttfb_p50"]),
                         _ms(x["ttfb_p95"]), _ms(x["ttfb_p99"]), _ms(x["total_p50"]), _ms(x["total_p99"]),
                         str(x["errors"])])  # fmt: skip
    lines += table(["system", "runs", "requests", "TTFB p50", "TTFB p95", "**TTFB p99**", "total p50", "total p99",
                    "errors"], rows)  # fmt: skip
    h, n = dig(f, "m3u", "headend"), dig(f, "m3u", "nginx")
    rows = []
    for name, x in (("headend", h), ("nginx", n)):
        if x:
            core = _per_core(x)
            rows.append([LABELS.get(name, name), _num(x["rps"]), _num(x["cpu"], "{:.0f}", " %"),
                         "-" if core is None else f"{core:.0f}", _num(x["cpu_ms"], "{:.2f}"),
                         f"{_ms(x['p50'])}, {_ms(x['p99'])}", f"{x['bytes']['median'] / 2**20:.2f}",
                         _med(x, "rss_mib", "{:.0f} MiB"), str(x["errors"])])  # fmt: skip
    lines += table(["system", "playlists/s", "server CPU", "per core", "CPU ms/playlist", "wrk p50, p99",
                    "MiB/resp", "RSS", "errors"], rows)  # fmt: skip
    r, rc = _ratio(h, n, "rps"), _ratio(h, n, "cpu_ms")
    if r is not None:
        lines += [f"Ours/nginx: playlists/s {fmt_ratio(r)}, CPU per playlist {fmt_ratio(rc)}.", ""]
    return lines


def _record_odd(key: str, r: Row) -> list[str]:
    where = f"{key.upper()} run {r.get('run', 0) + 1} {r.get('what', '')} {LABELS.get(r.get('system', ''), '')}".strip()
    return record_notes(where, r)


def record_notes(where: str, r: Row) -> list[str]:
    """What was odd about one measurement record (failed, repeated, noisy, client errors, non-200, stderr)."""
    lines = []
    if "error" in r:
        lines.append(f"- {where}: **failed**: {str(r['error']).splitlines()[0][:300]}")
    elif r.get("discarded"):
        lines.append(f"- {where}: run discarded ({r['discarded']}; CPU0 other {r.get('foreign_cpu0_pct', 0):.0f} %).")
    elif r.get("noisy"):
        lines.append(f"- {where}: CPU0 was {r.get('foreign_cpu0_pct', 0):.0f} % busy with other work; kept.")
    if r.get("errors"):
        lines.append(f"- {where}: {r['errors']} client error(s), e.g. {r.get('error_samples', [])[:2]}")
    bad = {k: v for k, v in (r.get("statuses") or {}).items() if k != "200"}
    if bad:
        lines.append(f"- {where}: non-200 answers {bad}")
    for name, stop in (r.get("stop") or {}).items():
        err = stop.get("stderr", {})
        if err.get("lines"):
            top = "; ".join(f"`{t[:160]}`" for t in err.get("top", [])[:3])
            lines.append(f"- {where}: {name} wrote {err['lines']} stderr line(s): {top}")
    return lines


def odd(sc: Row) -> list[str]:
    """Failed, discarded and noisy S8/S9 runs, errors and non-200 answers, the servers' stderr."""
    lines = []
    for key in ("s8", "s9"):
        for r in dig(sc, key, "runs", default=[]) or []:
            lines += _record_odd(key, r)
    measured = [k.upper() for k in ("s8", "s9") if k in sc]
    if measured and not lines:
        lines.append(f"- {' and '.join(measured)}: no failed, repeated or noisy runs, no client errors, every answer "
                     "HTTP 200, nothing on Headend's or nginx's stderr.")  # fmt: skip
    return lines
