"""docs/benchmarks.md rows and section for S8-EPG (:mod:`bench.epg_bench`): the guide outputs under load.

Runs are folded at render time: per measurement and system, the median of the runs with min-max (the wrk and
fixed-rate records with :func:`bench.api_report.fold`; the guide downloads here). Failed and discarded runs
are left out and listed under *What was odd in S8-EPG*. :func:`splice_s8_epg` puts the target rows and the
section into an existing page and leaves everything else as it was.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.api_report import fold as fold_api
from bench.api_report import record_notes
from bench.fold import dig
from bench.procs import ROOT
from bench.stats import spread
from bench.tables import ms, table, verdict

Row = dict[str, Any]
SHORT_BAR_RPS = 1000.0  # performance.md S8: catalogue calls with cached bodies
RATE_P99_S = 0.05  # S8: p99 < 50 ms at 200 req/s
TTFB_S = 0.02  # S9's bar for a streamed document (first byte < 20 ms), borrowed for xmltv.php


def labels(rec: Row) -> dict[str, str]:
    """The request kinds of the run, as the page names them."""
    p = rec.get("params", {})
    every, hot = f"any of {p.get('channels', 5000):,} channels", f"{p.get('hot', 200):,} hot channels"
    return {
        "short": f"`get_short_epg`, {every}",
        "short_hot": f"`get_short_epg`, {hot}",
        "table": f"`get_simple_data_table`, {every}",
        "table_hot": f"`get_simple_data_table`, {hot}",
    }


DOCS = {"xmltv200": "`xmltv.php`, 200 channels x 14 days", "xmltv5000": "`xmltv.php`, 5,000 channels x 14 days"}


def _valid(runs: list[Row], prefix: str) -> list[Row]:
    return [r for r in runs if str(r.get("what", "")).startswith(prefix) and "error" not in r]


def fold_docs(runs: list[Row]) -> dict[str, dict[str, Row]]:
    """(``doc:NAME:ENCODING`` → system → folded numbers) of the guide downloads."""
    groups: dict[str, dict[str, list[Row]]] = {}
    for r in _valid(runs, "doc:"):
        if not r.get("discarded"):
            groups.setdefault(r["what"], {}).setdefault(r["system"], []).append(r)
    out: dict[str, dict[str, Row]] = {}
    for what, systems in groups.items():
        for name, rs in systems.items():

            def s(key: str, rs: list[Row] = rs) -> Row:
                return spread([float(r[key]) for r in rs if r.get(key) is not None])

            out.setdefault(what, {})[name] = {
                "runs": len(rs),
                "ok": all(r.get("ok") for r in rs),
                "head_runs": [r.get("head_s") for r in rs],
                **{k: s(k) for k in ("head_s", "first_body_s", "total_s", "bytes", "mb_per_s", "server_cpu_s",
                                     "server_cpu_pct", "rss_before_mib", "rss_peak_mib", "rss_polled_max_mib")},
            }  # fmt: skip
    return out


def _med(x: Row | None, *path: str) -> float | None:
    v = dig(x or {}, *path, "median")
    return None if v is None else float(v)


def _num(s: Row | None, fmt: str = "{:.0f}", unit: str = "") -> str:
    if not s or s.get("median") is None:
        return "-"
    if s["min"] == s["max"]:
        return fmt.format(s["median"]) + unit
    return f"{fmt.format(s['median'])}{unit} ({fmt.format(s['min'])}-{fmt.format(s['max'])})"


def _sms(s: Row | None) -> str:
    """A spread of seconds as ms: median (min-max)."""
    if not s or s.get("median") is None:
        return "-"
    if s["min"] == s["max"]:
        return ms(s["median"])
    return f"{ms(s['median'])} ({ms(s['min'])}-{ms(s['max'])})"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _every(values: list[float | None], bar: float) -> tuple[str, bool | None]:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return "-", None
    over = sum(1 for v in vals if v >= bar)
    tail = f"; {over} of {len(vals)} over {ms(bar)}" if over else ""
    return f"{ms(vals[len(vals) // 2])} (runs {', '.join(ms(v) for v in vals)}{tail})", over == 0


def rows(rec: Row) -> list[list[str]]:
    """measurement | Headend | nginx | ours/nginx | target | result, one per measurement."""
    runs = rec.get("runs", [])
    api, docs = fold_api(_valid(runs, "wrk:") + _valid(runs, "rate:")), fold_docs(runs)
    out: list[list[str]] = []
    for kind, label in labels(rec).items():
        h, n = dig(api, f"wrk:{kind}", "headend"), dig(api, f"wrk:{kind}", "nginx")
        if h or n:
            v = _med(h, "rps")
            out.append([f"{label}: req/s, wrk c=64", _rps(h), _rps(n), f"req/s {_x(_ratio(v, _med(n, 'rps')))}",
                        "≥ 1,000 req/s", verdict(None if v is None else v >= SHORT_BAR_RPS)])  # fmt: skip
        h, n = dig(api, f"rate:{kind}", "headend"), dig(api, f"rate:{kind}", "nginx")
        if h or n:
            shown, ok = _every((h or {}).get("p99_runs", []), RATE_P99_S)
            cpu = f"; CPU {_num(h and h['cpu'], '{:.0f}', ' %')}" if h else ""
            ncpu = f"; CPU {_num(n and n['cpu'], '{:.1f}', ' %')}" if n else ""
            nshown = _every((n or {}).get("p99_runs", []), RATE_P99_S)[0]
            out.append([f"{label}: p99 at a fixed 200 req/s", shown + cpu, nshown + ncpu,
                        f"p99 {_x(_ratio(_med(h, 'p99'), _med(n, 'p99')))}, CPU "
                        f"{_x(_ratio(_med(h, 'cpu'), _med(n, 'cpu')))}", "p99 < 50 ms in every run",
                        verdict(ok)])  # fmt: skip
    for name, label in DOCS.items():
        for enc in ("gzip", "identity"):
            h, n = dig(docs, f"doc:{name}:{enc}", "headend"), dig(docs, f"doc:{name}:{enc}", "nginx")
            if not h and not n:
                continue
            shown, ok = _every((h or {}).get("head_runs", []), TTFB_S)
            ok = None if ok is None else ok and bool(h and h["ok"])
            out.append([f"{label} ({enc}): first byte; total", f"{shown}; total {_secs(h)}",
                        f"{_sms(n and n['head_s'])}; total {_secs(n)}",
                        f"total {_x(_ratio(_med(h, 'total_s'), _med(n, 'total_s')))}, CPU "
                        f"{_x(_ratio(_med(h, 'server_cpu_s'), _med(n, 'server_cpu_s')))}",
                        "first byte < 20 ms (S9's bar, borrowed)", verdict(ok)])  # fmt: skip
    return out


def _rps(x: Row | None) -> str:
    if not x:
        return "-"
    return f"{_num(x['rps'])}; p99 {ms(_med(x, 'p99'))}"


def _x(r: float | None) -> str:
    """A ratio with two significant digits, bold (0.0079x, 0.53x, 12x, 211x)."""
    if r is None:
        return "-"
    return f"**{r:.2g}x**" if r < 100 else f"**{r:.0f}x**"


def _secs(x: Row | None) -> str:
    if not x:
        return "-"
    total = _med(x, "total_s")
    return _sms(x["total_s"]) if total is not None and total < 1.0 else _num(x["total_s"], "{:.2f}", " s")


def targets(rec: Row) -> list[list[str]]:
    """Rows for the page's Targets table (target | measured | result)."""
    return [[f"S8-EPG {r[0]}: {r[4]}", r[1], r[5]] for r in rows(rec)]


def _throughput(api: dict[str, dict[str, Row]], names: dict[str, str]) -> list[str]:
    head = ["request", "system", "runs", "req/s", "server CPU", "CPU ms/req", "wrk p50, p99", "KiB/resp",
            "RSS after", "errors"]  # fmt: skip
    body = []
    for kind, label in names.items():
        for name in ("headend", "nginx"):
            x = dig(api, f"wrk:{kind}", name)
            size = _med(x, "bytes")
            if x:
                body.append([label, name, str(x["runs"]), _num(x["rps"]), _num(x["cpu"], "{:.0f}", " %"),
                             _num(x["cpu_ms"], "{:.3f}"), f"{ms(_med(x, 'p50'))}, {ms(_med(x, 'p99'))}",
                             "-" if size is None else f"{size / 1024:.1f}",
                             _num(x["rss_mib"], "{:.0f}", " MiB"), str(x["errors"])])  # fmt: skip
    return table(head, body)


def _rate(api: dict[str, dict[str, Row]], names: dict[str, str]) -> list[str]:
    head = ["request", "system", "runs", "requests", "p50", "p95", "**p99** (runs)", "max", "server CPU",
            "CPU ms/req", "RSS after", "errors"]  # fmt: skip
    body = []
    for kind, label in names.items():
        for name in ("headend", "nginx"):
            x = dig(api, f"rate:{kind}", name)
            if x:
                body.append([label, name, str(x["runs"]), str(x["requests"]), ms(_med(x, "p50")),
                             ms(_med(x, "p95")), _every(x["p99_runs"], RATE_P99_S)[0], ms(_med(x, "max")),
                             _num(x["cpu"], "{:.1f}", " %"), _num(x["cpu_ms"], "{:.2f}"),
                             _num(x["rss_mib"], "{:.0f}", " MiB"), str(x["errors"])])  # fmt: skip
    return table(head, body)


def _docs(docs: dict[str, dict[str, Row]]) -> list[str]:
    head = ["document", "system", "runs", "first byte (head)", "first body byte", "total", "MiB sent", "MB/s",
            "server CPU s", "RSS before → peak", "complete"]  # fmt: skip
    body = []
    for name, label in DOCS.items():
        for enc in ("gzip", "identity"):
            for system in ("headend", "nginx"):
                x = dig(docs, f"doc:{name}:{enc}", system)
                if x:
                    peak = f"{_num(x['rss_before_mib'], '{:.0f}')} → {_num(x['rss_peak_mib'], '{:.0f}')} MiB"
                    size = _med(x, "bytes")
                    body.append([f"{label}, {enc}", system, str(x["runs"]), _sms(x["head_s"]),
                                 _sms(x["first_body_s"]), _num(x["total_s"], "{:.2f}", " s"),
                                 "-" if size is None else f"{size / 2**20:.1f}", _num(x["mb_per_s"], "{:.1f}"),
                                 _num(x["server_cpu_s"], "{:.2f}"), peak, "yes" if x["ok"] else "**no**"])  # fmt: skip
    return table(head, body)


def _first(runs: list[Row]) -> list[str]:
    """The first guide each fresh Headend sent (one-time costs), when the run recorded it."""
    firsts = [r for r in runs if r.get("what") == "first:xmltv200:identity" and "head_s" in r]
    if not firsts:
        return []
    heads = ", ".join(ms(r["head_s"]) for r in firsts)
    totals = ", ".join(f"{r['total_s']:.2f} s" for r in firsts)
    return [
        f"Before those rows, each run's fresh Headend sent its first guide (200 channels, identity, right after the "
        f"line's `get_live_streams`): first byte {heads}, total {totals}. The process's first `xmltv.php` pays "
        "one-time costs; the rows above are the guides after it.",
        "",
    ]


def _method(rec: Row) -> list[str]:
    p, seed, bodies = rec.get("params", {}), rec.get("seed", {}), rec.get("bodies", {})
    g = seed.get("guide", {})
    d = bodies.get("docs", {})
    text = (
        f"`bench/epg_bench.py`. A data dir built once (`bench/api_server.py --seed-only`): {seed.get('channels', 0):,} "
        f"channels, {p.get('users')} lines sharing one package of all of them (one entitlement), a line `x200` "
        f"with the first {p.get('small_line')}, and a guide for every channel written through the real import path "
        "(`EpgStore.begin_import` → `add_programmes` in batches of 20,000 → `finish_import`, `bench/epg_guide.py`): "
        f"back-to-back 30/45/60-minute programmes with titles, descriptions, categories, episode numbers, icons "
        f"and ratings from {p.get('guide_back_hours', 0):g} h ago over {p.get('guide_days', 0):g} days, "
        f"{g.get('programmes', 0):,} programmes, stored in {g.get('store_s', 0):.0f} s, database "
        f"{seed.get('db_mib', 0):,.0f} MiB (SQLite). Each run starts Headend (`bench/api_server.py --reuse`, "
        "shipped settings, uvloop) on a fresh copy of it. Peer: nginx 1.22 (1 worker, sendfile, open_file_cache, "
        "`gzip_static`) serving the very bytes Headend answered, from files: one short EPG and one data table per "
        f"stream id (mean {dig(bodies, 'short', 'mean_gzip_bytes', default=0) / 1024:.1f} KiB and "
        f"{dig(bodies, 'table', 'mean_gzip_bytes', default=0) / 1024:.1f} KiB gzipped, "
        f"{dig(bodies, 'short', 'mean_bytes', default=0) / 1024:.1f} KiB and "
        f"{dig(bodies, 'table', 'mean_bytes', default=0) / 1024:.0f} KiB as JSON) and each guide "
        f"(200 channels: {d.get('xmltv200_programmes', 0):,} programmes, "
        f"{d.get('xmltv200', {}).get('bytes', 0) / 2**20:.0f} MiB, "
        f"{d.get('xmltv200.gz', {}).get('bytes', 0) / 2**20:.1f} MiB gzipped"
    )
    if "xmltv5000" in d:
        text += (
            f"; 5,000 channels: {d.get('xmltv5000_programmes', 0):,} programmes, "
            f"{d['xmltv5000']['bytes'] / 2**20:,.0f} MiB, {d.get('xmltv5000.gz', {}).get('bytes', 0) / 2**20:.0f} "
            "MiB gzipped"
        )
    text += (
        "). Both on CPU0, clients on CPU1. Throughput: `wrk -t1 -c64` for "
        f"{p.get('seconds', 0):g} s after a {p.get('warmup', 0):g} s warm-up, `Accept-Encoding: gzip`, its Lua "
        f"`request()` drawing a random line of the {p.get('users')} and a random stream id per request (*any of "
        f"5,000*: all the line's channels; *hot*: the first {p.get('hot')}); nginx gets `/short/ID.json` the same "
        f"way. Fixed rate: `bench/openloop.py`, {p.get('rate', 0):g} req/s over {p.get('rate_connections')} "
        f"connections for {p.get('rate_seconds', 0):g} s after 3 s, the same kind of random sequence, latency from "
        "each request's scheduled time. Guides: one download per document, encoding, system and run, on one "
        "connection from CPU1 (`bench/epg_fetch.py`), on Headend right after the line's `get_live_streams` (as a "
        "player does: the line is verified and its lineup built): *first byte* = request written → response head read, "
        "*total* → last body byte; server CPU = its CPU seconds over the download; peak RSS = the kernel's "
        "high-water mark (VmHWM, reset via `/proc/PID/clear_refs` just before the request; nginx: master + worker). "
        f"{p.get('runs')} runs (data table {p.get('table_runs')}, 5,000-channel guide {p.get('big_runs')}), "
        "Headend then nginx for each measurement; median (min-max)."
    )
    return [text, ""]


def section(rec: Row, provenance: str = "") -> list[str]:
    lines = ["## S8-EPG — guide outputs under load: short EPG, data table, `xmltv.php`", ""]
    if provenance:
        lines += [provenance, ""]
    if "error" in rec and not rec.get("runs"):
        return [*lines, f"The scenario failed: {rec['error']}", ""]
    runs = rec.get("runs", [])
    api, docs = fold_api(_valid(runs, "wrk:") + _valid(runs, "rate:")), fold_docs(runs)
    lines += _method(rec)
    lines += table(["measurement", "Headend", "nginx (same bytes)", "ours/nginx", "target", "result"], rows(rec))
    lines += ["Throughput (wrk, c=64):", "", *_throughput(api, labels(rec))]
    lines += [f"At a fixed {dig(rec, 'params', 'rate', default=200):g} req/s:", "", *_rate(api, labels(rec))]
    lines += ["Guide documents (one download each):", "", *_docs(docs), *_first(runs)]
    lines += [str(x) for x in rec.get("findings", [])]
    lines += _diagnosis(rec.get("diagnosis") or {}, labels(rec))
    lines += _costs(rec.get("costs") or {})
    lines += _profiles(rec.get("profiles") or {})
    return lines + odd(rec)


SETTINGS = {
    "shipped": "shipped (auth cache 5 s)",
    "auth_cache_3600s": "auth cache 3600 s",
    "shipped_40s_warmup": "shipped (auth cache 5 s)",
}


def _diagnosis(diag: Row, names: dict[str, str]) -> list[str]:
    done = {k: v for k, v in diag.items() if isinstance(v, dict) and "client" in v}
    if not done:
        return []
    lines = [
        "### Fixed rate with probes: what the slow requests overlapped",
        "",
        "The fixed-rate loads again, each on a fresh Headend started with `bench/api_server.py --diag` (GC "
        "pauses, event-loop lag, timed wrappers around credential verification, the entitlement load, "
        "`EpgStore.upcoming` and `EpgStore.programmes`), with the shipped settings and with the control "
        "`subscribers.auth_cache_s` = 3600 (no line is re-verified during the run). Counts are inside the "
        "measured window; *wall* is the time from call to return on the event loop (it includes waiting for the "
        "loop and the database thread). A slow request (> 20 ms) is charged to every probe event its interval "
        "overlapped (`bench/api_diag.py`).",
        "",
    ]
    rows = []
    for key, v in done.items():
        _, kind, variant = key.split(":")
        lat, a, calls = v["client"]["latency_s"], v["attribution"], v.get("calls", {})
        verify, ent = calls.get("auth_verify", {}), calls.get("entitlement_load", {})
        reads = calls.get("epg_upcoming") or calls.get("epg_programmes") or {}
        rows.append([
            names.get(kind, kind), SETTINGS.get(variant, variant) + f"; warm-up {v.get('warmup_s', 3):g} s, "
            f"window {v['client'].get('seconds', 0):g} s",
            f"{ms(lat['p50'])} / {ms(lat['p99'])} / {ms(lat['max'])}", f"{v['server_cpu_pct']:.0f} %",
            f"{a['slow_requests']} of {a['requests']}",
            "none" if not verify.get("n") else f"{verify['n']} (entitlement loads {ent.get('n', 0)}, wall total "
            f"{ent.get('wall_ms_total', 0) / 1000:.1f} s)",
            "none" if not a["gen2_gc"]["n"] else f"{a['gen2_gc']['n']:.0f}; p50 {a['gen2_gc']['p50_ms']:.0f} ms, "
            f"max {a['gen2_gc']['max_ms']:.0f} ms",
            f"{reads.get('n', 0)} in the window ({reads.get('n_whole_run', '?')} in the whole run); wall max "
            f"{reads.get('wall_ms_max', 0):.0f} ms",
            "none ≥ 4 ms" if not a["loop_lag"]["n"] else f"max {a['loop_lag']['max_ms']:.0f} ms",
            ", ".join(f"{k} {n}" for k, n in a["slow_by_cause"].items() if n) or "-",
            "; ".join(f"{e['at_s']:.1f} s: {e['slow_requests']} (max {ms(e['max_latency_s'])})"
                      for e in sorted(a["episodes"], key=lambda e: -e["slow_requests"])[:3]) or "-",
        ])  # fmt: skip
    head = ["request", "settings", "p50 / p99 / max", "server CPU", "slow", "credential checks", "gen-2 GC pauses",
            "guide reads (misses)", "loop lag", "slow requests overlapped", "biggest episodes (at: slow)"]  # fmt: skip
    return lines + table(head, rows)


def _costs(costs: Row) -> list[str]:
    rows = [[name, str(v.get("n")), f"{v['cpu_ms']:.3f}" if "cpu_ms" in v else "-", f"{v['wall_ms']:.3f}"]
            for name, v in costs.items() if isinstance(v, dict) and "wall_ms" in v]  # fmt: skip
    if not rows:
        return []
    lines = [
        "### What one operation costs (in-process, one at a time)",
        "",
        "`bench/epg_costs.py` on a copy of the same data dir, pinned to CPU0: Headend's own objects called one "
        "after the other, CPU = `time.process_time()` of the whole process (event loop, database thread, gzip "
        "thread) per call. A miss uses a stream not asked for before.",
        "",
    ]
    return lines + table(["operation", "calls", "CPU ms per call", "wall ms per call"], rows)


PROFILED = {
    "wrk:short": "`get_short_epg`, any channel, wrk c=64",
    "wrk:table": "`get_simple_data_table`, any channel, wrk c=64",
    "doc:xmltv200:gzip": "`xmltv.php`, 200 channels, gzip, downloads back to back",
}


def _profiles(profiles: Row) -> list[str]:
    done = {k: v for k, v in profiles.items() if isinstance(v, dict) and "samples" in v}
    if not done:
        return []
    lines = [
        "### Where Headend's time goes (py-spy)",
        "",
        "A fresh Headend under the same load, sampled by `py-spy record --threads --nonblocking` (200 Hz, "
        f"{next(iter(done.values())).get('seconds', 0):g} s; `bench/epg_profile.py`): share of the samples in "
        "which a thread was running, by thread and by package of the innermost Python frame; Headend's own frames "
        "by inclusive share (the frame or what it called; native code — SQLite, orjson, zlib — is charged to its "
        "Python caller; the HTTP server's plumbing left out) and the top innermost frames. Profiling slows the "
        "server: the load figures here are not the measurements above.",
        "",
    ]
    for key, rec in done.items():
        load = rec.get("load", {})
        shown = ", ".join(f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}" for k, v in load.items())
        threads = ", ".join(f"{k} {v:g} %" for k, v in rec["threads"].items())
        packages = ", ".join(f"{k} {v:g} %" for k, v in rec.get("packages", {}).items())
        lines += [f"{PROFILED.get(key, key)} ({shown}; {rec['samples']:,} samples). By thread: {threads}. "
                  f"Innermost Python frame by package: {packages}.", ""]  # fmt: skip
        own = [[f"`{name}`", f"{share:g} %"] for name, share in rec["inclusive"][:8]]
        leaf = [[f"`{name}`", f"{share:g} %"] for name, share in rec["self"][:8]]
        pad = [["", ""]] * 8
        rows = [[*a, *b] for a, b in zip((own + pad)[:8], (leaf + pad)[:8], strict=True)]
        lines += table(["Headend frame (inclusive)", "share", "innermost frame (self)", "share"], rows)
    return lines


def odd(rec: Row) -> list[str]:
    """Failed, discarded and noisy measurements, client errors, non-200 answers, the servers' stderr."""
    out = []
    if "error" in rec:
        out.append(f"- The scenario stopped early: {str(rec['error']).splitlines()[0][:300]}")
    for r in rec.get("runs", []):
        out += _odd_record(r)
    if not out:
        out.append("- Nothing: no failed, repeated or noisy measurements, no client errors, every answer HTTP 200.")
    return ["### What was odd in S8-EPG", "", *out, ""]


def _odd_record(r: Row) -> list[str]:
    return record_notes(f"run {r.get('run', 0) + 1} {r.get('what', '')} {r.get('system', '')}".strip(), r)


def splice_s8_epg(doc: str, rec: Row, provenance: str) -> str:
    """``doc`` with its S8-EPG target rows and section replaced (or added before *What was odd*)."""
    lines = doc.rstrip("\n").split("\n")
    lines = [line for line in lines if not line.startswith("| S8-EPG ")]
    new_rows = ["| " + " | ".join(row) + " |" for row in targets(rec)]
    if "## Targets" in lines:
        i = lines.index("## Targets") + 3
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        lines[i:i] = new_rows
    body = section(rec, provenance)
    starts = [i for i, line in enumerate(lines) if line.startswith("## S8-EPG")]
    if starts:
        end = next((i for i in range(starts[0] + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[starts[0] : end] = body
    else:
        at = next((i for i, line in enumerate(lines) if line == "## What was odd"), len(lines))
        lines[at:at] = body
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.epg_report bench/results/X.json``: splice that run's S8-EPG rows and section into
    docs/benchmarks.md (everything else on the page stays as it is)."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m bench.epg_report bench/results/FILE.json")
        return 2
    path = Path(args[0]).resolve()
    res = json.loads(path.read_text(encoding="utf-8"))
    rec = res["scenarios"]["s8-epg"]
    started = str(res.get("started", "?"))[:16].replace("T", " ")
    how = (f"Measured in a separate run (`python -m bench.run --scenario s8-epg`) on {started} UTC, git "
           f"{dig(res, 'machine', 'git', default='?')}; raw results `{path.relative_to(ROOT)}`.")  # fmt: skip
    if rec.get("separately"):
        how += (
            " Added to it afterwards (`python -m bench.epg_bench --merge`): "
            + ", ".join(f"{k} on {v}" for k, v in rec["separately"].items())
            + "."
        )
    doc = ROOT / "docs" / "benchmarks.md"
    doc.write_text(splice_s8_epg(doc.read_text(encoding="utf-8"), rec, how), encoding="utf-8")
    print(f"wrote {doc}")
    return 0


__all__ = ["fold_docs", "main", "rows", "section", "splice_s8_epg", "targets"]


if __name__ == "__main__":
    sys.exit(main())
