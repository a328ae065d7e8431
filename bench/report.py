"""Turn a results JSON into docs/benchmarks.md: ``python -m bench.report bench/results/X.json``.

:func:`render` writes the document: machine, method, the targets with pass/fail, one table per scenario
(:mod:`bench.tables`), the server-path decision and what was odd. Runs are folded by :mod:`bench.fold`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.fold import LABELS, Row, dig, summarize_s1, summarize_s3
from bench.tables import (
    by_n,
    cpu_ratio,
    decision_section,
    fmt_ratio,
    ms,
    pct,
    s1_section,
    s3_section,
    s5_section,
    s6_section,
    table,
    verdict,
)


def _targets(res: Row) -> list[list[str]]:
    sc = res.get("scenarios", {})
    s1 = dig(sc, "s1", "summary", default={}) or {}
    s3 = dig(sc, "s3", "summary", default={}) or {}
    h1000 = dig(s1, "1000", "headend")
    rows = []
    cpu = h1000["server_cpu"]["median"] if h1000 else None
    rows.append(
        [
            "TS fan-out, 1,000 viewers: Headend CPU ≤ 40 % of one core",
            pct(h1000["server_cpu"]) if h1000 else "-",
            verdict(None if cpu is None else cpu <= 40.0),
        ]
    )
    ratio = cpu_ratio(h1000, dig(s1, "1000", "vlc"))
    rows.append(
        [
            "TS fan-out, 1,000 viewers: within 1.5x of the best peer (VLC)",
            fmt_ratio(ratio),
            verdict(None if ratio is None else ratio <= 1.5),
        ]
    )
    for n, systems in by_n(s3):
        r = cpu_ratio(systems.get("headend"), systems.get("nginx"))
        rows.append([f"HLS, {n} players: within 2x of nginx", fmt_ratio(r), verdict(None if r is None else r <= 2.0)])
    s5 = dig(sc, "s5", "headend", default={}) or {}
    for mode in ("sequential", "concurrent"):
        p95 = dig(s5, mode, "keyframe_s", "p95")
        ok = None if p95 is None else p95 < 0.3 and s5[mode]["ok"] == s5[mode]["zaps"]
        rows.append([f"Warm zap ({mode}): p95 time to first keyframe < 300 ms", ms(p95), verdict(ok)])
    s6 = sc.get("s6", {})
    p95 = dig(s6, "keyframe_s", "p95")
    ok = None if p95 is None else p95 < 3.0 and s6.get("ok") == s6.get("cycles")
    rows.append(["Cold start: p95 request → first keyframe < 3 s", ms(p95), verdict(ok)])
    if "leaked_after_stop" in s6:
        leaked = len(s6.get("leaked_during", [])) + len(s6.get("leaked_after_stop", []))
        rows.append(["Cold start: leaked ffmpeg processes = 0", str(leaked), verdict(leaked == 0)])
    return rows


def _observations(res: Row) -> list[str]:
    """Headend's stderr, failed and discarded runs, memory growth, drops: what a reader should look at."""
    lines = ["## What was odd", ""]
    sc = res.get("scenarios", {})
    found = False
    for name, error in res.get("broken", {}).items():
        lines.append(
            f"- **{LABELS.get(name, name)} failed** ({error.splitlines()[0][:300]}); its later runs were skipped."
        )
        found = True
    records: list[tuple[str, Row]] = []
    for key in ("s1", "s3"):
        records += [(key, r) for r in dig(sc, key, "runs", default=[]) or []]
    records += [("s5", r) for r in (sc.get("s5") or {}).values()]
    if sc.get("s6", {}).get("system"):
        records.append(("s6", sc["s6"]))
    for key, r in records:
        where = f"{key.upper()} {LABELS.get(r.get('system', ''), r.get('system'))}" + (
            f" n={r['n']}" if "n" in r else ""
        )
        if r.get("discarded"):
            lines.append(
                f"- {where}: run discarded ({r['discarded']}; CPU0 other {r.get('foreign_cpu0_pct', 0):.0f} %)."
            )
            found = True
        stderr = dig(r, "stop", "stderr", default={}) or {}
        if r.get("system") == "headend" and stderr.get("lines"):
            sev = ", ".join(f"{k} x{v}" for k, v in stderr.get("severities", {}).items()) or "no severity words"
            lines.append(f"- {where}: Headend wrote {stderr['lines']} stderr lines ({sev}); most frequent:")
            lines += [f"  - `{t[:200]}`" for t in stderr.get("top", [])[:4]]
            found = True
        client = r.get("client", {})
        if client.get("dropped") or client.get("stalls") or client.get("errors") or client.get("connect_errors"):
            detail = {
                k: client.get(k) for k in ("dropped", "stalls", "errors", "connect_errors", "late") if client.get(k)
            }
            samples = client.get("drop_samples") or client.get("error_samples") or client.get("connect_error_samples")
            lines.append(f"- {where}: {detail}" + (f" — e.g. {samples}" if samples else ""))
            found = True
        growth = dig(r, "measure", "rss", "server", default={}) or {}
        if growth and growth.get("last_mib", 0) - growth.get("first_mib", 0) > 16:
            lines.append(f"- {where}: RSS grew {growth['first_mib']:.0f} → {growth['last_mib']:.0f} MiB in the window.")
            found = True
    if not found:
        lines.append("- Nothing: no failed or discarded runs, no drops, stalls or errors, nothing on Headend's stderr.")
    return [*lines, ""]


def _method(res: Row) -> list[str]:
    plan = res.get("plan", {})
    src = res.get("source", {})
    lines = ["## Method", ""]
    lines += [
        f"- Source: `{Path(src.get('path', '?')).name}`, {src.get('duration_s', 0):.0f} s of 1280x720p25 H.264 "
        f"CBR 4.5 Mb/s (2 s GOP, `-g 50 -keyint_min 50 -sc_threshold 0`) + AAC, {src.get('bitrate_bps', 0) / 1e6:.2f} "
        "Mb/s as TS; every system loops it with ffmpeg `-re -stream_loop -1 -c copy` (no encoding during a run).",
        "- Pinning (performance.md §5.1): the system under test on **CPU0**; the load generator "
        "(`bench/loadgen.py`, one uvloop process), the orchestrator and every source ffmpeg on **CPU1** "
        "(Headend's own ffmpeg via `HEADEND_INGEST_FFMPEG` = a `taskset -c 1` wrapper).",
        "- CPU = utime+stime of the server process itself from /proc/PID/stat over the generator's measurement "
        "window ÷ wall time (its ffmpeg child is reported separately). nginx = master + worker; VLC = the vlc "
        "process (not runuser); uvicorn = the Python process.",
        f"- Each run starts the system fresh, waits until it serves, ramps the clients (500 connections/s), warms up "
        f"{plan.get('warmup', 0):g} s, measures {plan.get('seconds', 0):g} s, stops everything. "
        f"Runs alternate between systems (for run: for N: for system). {plan.get('runs', 0)} run(s) per system "
        f"and N; the uvicorn+Starlette relay {plan.get('asgi_runs', 0)}.",
        "- Load gating: `loadavg` is recorded before every run, but it is a 1-minute average that our own "
        "previous run keeps above 0.5, so the gate is instantaneous: before each run the bench waits (≤ 20 s) "
        "until CPU outside the system under test is < 0.3 core, and a run whose CPU0 time outside the server "
        f"exceeds 15 % of the window is repeated once (at most {plan.get('max_redo', 0)} repeats per bench).",
        "- TS viewers: raw sockets, count bytes; a stall is a gap > 2 s between receptions; a drop is a connection "
        "the server closed. HLS players: one keep-alive connection each, poll the playlist every target duration "
        "(random phase), start at the newest segment, fetch every new one; *late* = finished more than one "
        "segment duration after it was first listed; *stale* = no new segment for > 3 target durations.",
    ]
    return [*lines, ""]


def _machine(res: Row) -> list[str]:
    m = res.get("machine", {})
    libs = ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items())
    rows = [
        ["date", m.get("date", "?")],
        ["CPU", f"{m.get('nproc', '?')} x {m.get('cpu', '?')}, {m.get('memory_gib', '?')} GiB RAM"],
        ["kernel", m.get("kernel", "?")],
        ["Python", f"{m.get('python', '?')} ({libs})"],
        ["ffmpeg", m.get("ffmpeg", "?")],
        ["nginx / VLC", f"{m.get('nginx', '-')} / {m.get('vlc', '-')}"],
        ["Headend", f"{m.get('headend', '-')}, git {m.get('git', '?')}"],
    ]
    return ["## Machine", "", *table(["", ""], rows)]


def render(res: Row, json_path: Path) -> str:
    plan = res.get("plan", {})
    sc = res.get("scenarios", {})
    kind = (
        "quick smoke run (`--quick`): short windows, one run — orders of magnitude only"
        if plan.get("quick")
        else "full run"
    )
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`python -m bench.run`, {kind}) on {dig(res, 'machine', 'date', default='?')}; "
        f"took {res.get('elapsed_s', 0) / 60:.1f} min. Raw results: `{json_path}` (not committed; "
        "`python -m bench.report FILE` re-renders this page). Scenarios and anchors: "
        "`../shared/docs/performance.md` §5; earlier throwaway measurements on this VM: "
        "`../shared/docs/environment.md` §3-4.",
        "",
    ]
    if res.get("interrupted"):
        lines += ["**This run was interrupted; the tables hold what was measured before that.**", ""]
    lines += ["## Targets", "", *table(["target", "measured", "result"], _targets(res))]
    lines += _machine(res) + _method(res)
    if "s1" in sc:
        lines += s1_section(sc["s1"]["summary"], res.get("source", {}).get("bitrate_bps", 0) / 1e6)
        lines += decision_section(sc["s1"]["summary"])
    if "s3" in sc:
        lines += s3_section(sc["s3"]["summary"])
    if "s5" in sc:
        lines += s5_section(sc["s5"])
    if "s6" in sc:
        lines += s6_section(sc["s6"])
    lines += _observations(res)
    notes = plan.get("notes") or []
    if notes:
        lines += ["## Notes on this run", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m bench.report bench/results/FILE.json")
        return 2
    path = Path(args[0]).resolve()
    res = json.loads(path.read_text(encoding="utf-8"))
    root = Path(__file__).resolve().parent.parent
    for key, fold in (("s1", summarize_s1), ("s3", summarize_s3)):
        if key in res.get("scenarios", {}):
            res["scenarios"][key]["summary"] = fold(res["scenarios"][key]["runs"])
    doc = root / "docs" / "benchmarks.md"
    doc.write_text(render(res, path.relative_to(root) if path.is_relative_to(root) else path), encoding="utf-8")
    print(f"wrote {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
