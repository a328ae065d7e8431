"""Turn a results JSON into docs/benchmarks.md: ``python -m bench.report bench/results/X.json [Y.json …]``.

:func:`render` writes the document: machine, method, the targets with pass/fail, one table per scenario
(:mod:`bench.tables`, S8/S9: :mod:`bench.api_report`), the server-path decision and what was odd. Runs are
folded by :mod:`bench.fold`. :func:`combine` fills the scenarios a run skipped from the latest saved full run
that has them (each such section names the run it comes from); more files on the command line are grafted
onto the first explicitly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import api_report, epg_import, epg_report
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
        rg = cpu_ratio(systems.get("headend"), systems.get("nginx"), "cpu_per_gbps")
        worst = None if r is None or rg is None else max(r, rg)
        shown = f"{fmt_ratio(r)} ({'-' if rg is None else f'{rg:.2f}x'} per Gb/s)"
        rows.append([f"HLS, {n} players: within 2x of nginx", shown, verdict(None if worst is None else worst <= 2.0)])
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
    if "s8" in sc or "s9" in sc:
        rows += api_report.targets(sc)
    if "epg" in sc:
        rows += epg_import.targets(sc["epg"])
    if "s8-epg" in sc:
        rows += epg_report.targets(sc["s8-epg"])
    return rows


def _records(sc: Row) -> list[tuple[str, Row]]:
    records: list[tuple[str, Row]] = []
    for key in ("s1", "s3"):
        records += [(key, r) for r in dig(sc, key, "runs", default=[]) or []]
    records += [("s5", r) for r in (sc.get("s5") or {}).values()]
    if sc.get("s6", {}).get("system"):
        records.append(("s6", sc["s6"]))
    return records


def _record_notes(where: str, r: Row) -> list[str]:
    """Bullets for one run: discarded, Headend's stderr, client-side trouble, memory growth."""
    lines = []
    if r.get("discarded"):
        lines.append(f"- {where}: run discarded ({r['discarded']}; CPU0 other {r.get('foreign_cpu0_pct', 0):.0f} %).")
    stderr = dig(r, "stop", "stderr", default={}) or {}
    if r.get("system") == "headend" and stderr.get("lines"):
        sev = ", ".join(f"{k} x{v}" for k, v in stderr.get("severities", {}).items()) or "no severity words"
        lines.append(f"- {where}: Headend wrote {stderr['lines']} stderr lines ({sev}); most frequent:")
        lines += [f"  - `{t[:200]}`" for t in stderr.get("top", [])[:4]]
    client = r.get("client", {})
    detail = {k: client[k] for k in ("dropped", "stalls", "errors", "connect_errors", "late") if client.get(k)}
    if detail:
        samples = client.get("drop_samples") or client.get("error_samples") or client.get("connect_error_samples")
        lines.append(f"- {where}: {detail}" + (f" — e.g. {samples}" if samples else ""))
    rss = dig(r, "measure", "rss", "server", default={}) or {}
    if rss and rss.get("last_mib", 0) - rss.get("first_mib", 0) > 16:
        lines.append(f"- {where}: RSS grew {rss['first_mib']:.0f} → {rss['last_mib']:.0f} MiB in the window.")
    return lines


def _observations(res: Row) -> list[str]:
    """Failed, discarded and noisy runs, Headend's stderr, drops, memory: what a reader should look at."""
    lines = ["## What was odd", ""]
    for name, error in res.get("broken", {}).items():
        lines.append(
            f"- **{LABELS.get(name, name)} failed** ({error.splitlines()[0][:300]}); its later runs were skipped."
        )
    records = _records(res.get("scenarios", {}))
    noisy_kept: list[str] = []
    for key, r in records:
        where = f"{key.upper()} {LABELS.get(r.get('system', ''), r.get('system'))}"
        where += f" n={r['n']}" if "n" in r else ""
        lines += _record_notes(where, r)
        if r.get("noisy") and not r.get("discarded"):
            noisy_kept.append(f"{where} ({r.get('foreign_cpu0_pct', 0):.0f} %)")
    if noisy_kept:
        lines.append(
            f"- {len(noisy_kept)} run(s) had more than 15 % of CPU0 busy with other processes during the window and "
            f"were kept (a run is repeated once at most, within a budget per bench run): {', '.join(noisy_kept)}. "
            "The server's CPU seconds are counted per "
            "process, so the other work does not land in them, but the server then shares its core: treat those "
            "runs with care."
        )
    lines += api_report.odd(res.get("scenarios", {}))
    if len(lines) == 2:
        lines.append("- Nothing: no failed or discarded runs, no drops, stalls or errors, nothing on Headend's stderr.")
    return [*lines, *_memory(records), ""]


def _timing_note(res: Row) -> list[str]:
    """Where the wall time went beyond the plan: waits for a quiet machine and repeated runs."""
    records = _records(res.get("scenarios", {}))
    waited = sum(max(0.0, dig(r, "quiet", "waited_s", default=0.0) - 1.0) for _, r in records)
    repeated = sum(1 for _, r in records if r.get("discarded"))
    estimate = res.get("estimate_s")
    if not waited and not repeated:
        return []
    planned = f" (planned about {estimate / 60:.0f} min on a quiet machine)" if estimate else ""
    return [
        f"The run took {res.get('elapsed_s', 0) / 60:.1f} min{planned}: {waited / 60:.1f} min went to waiting for "
        f"other processes on the VM (e.g. other engineers' test suites) to quiet down before runs, and {repeated} "
        "run(s) were repeated because CPU0 was busy during their window."
    ]


def _memory(records: list[tuple[str, Row]]) -> list[str]:
    """Headend's RSS: idle after start, peak per scenario and N, and the largest growth inside a window."""
    runs = [(k, r) for k, r in records if r.get("system") == "headend" and dig(r, "measure", "rss", "server")]
    if not runs:
        return []
    idle = [r["rss_idle_mib"] for _, r in runs if "rss_idle_mib" in r]
    peaks: dict[str, float] = {}
    growth = 0.0
    for key, r in runs:
        rss = r["measure"]["rss"]["server"]
        label = f"{key.upper()} n={r['n']}"
        peaks[label] = max(peaks.get(label, 0.0), rss["max_mib"])
        growth = max(growth, rss["last_mib"] - rss["first_mib"])
    text = ", ".join(f"{k} {v:.0f} MiB" for k, v in peaks.items())
    return [
        f"- Headend memory (RSS of the server process): {min(idle):.0f}-{max(idle):.0f} MiB idle after start; "
        f"peak {text}; at most {growth:+.1f} MiB of growth inside one measurement window."
    ]


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
        f"exceeds 15 % of the window is repeated once (at most {plan.get('max_redo', 0)} repeats per bench run; "
        "none in `--quick`). Repeated runs are listed under *What was odd* and not folded in.",
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
        *_grafted(res),
        "",
    ]
    if res.get("interrupted"):
        lines += ["**This run was interrupted; the tables hold what was measured before that.**", ""]
    lines += ["## Targets", "", *table(["target", "measured", "result"], _targets(res))]
    lines += _machine(res) + _method(res) + _sections(res)
    lines += _observations(res)
    notes = [*(plan.get("notes") or []), *_timing_note(res)]
    if notes:
        lines += ["## Notes on this run", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines).rstrip() + "\n"


def _sections(res: Row) -> list[str]:
    """One section per scenario the results hold, in the page's order."""
    sc = res.get("scenarios", {})
    lines: list[str] = []
    if "s1" in sc:
        lines += s1_section(sc["s1"]["summary"], res.get("source", {}).get("bitrate_bps", 0) / 1e6)
        lines += decision_section(sc["s1"]["summary"])
    if "s3" in sc:
        lines += s3_section(sc["s3"]["summary"])
    if "s5" in sc:
        lines += s5_section(sc["s5"])
    if "s6" in sc:
        lines += s6_section(sc["s6"])
    if "s8" in sc:
        lines += api_report.s8_section(sc["s8"])
    if "s9" in sc:
        lines += api_report.s9_section(sc["s9"])
    if "epg" in sc:
        lines += epg_import.section(sc["epg"])
    if "s8-epg" in sc:
        lines += epg_report.section(sc["s8-epg"], api_report._provenance(sc["s8-epg"]).strip())
    return lines


def _grafted(res: Row) -> list[str]:
    """One sentence per other run whose scenarios this page shows."""
    runs: dict[str, tuple[Row, list[str]]] = {}
    for key, rec in res.get("scenarios", {}).items():
        src = rec.get("provenance") if isinstance(rec, dict) else None
        if src:
            runs.setdefault(str(src.get("json")), (src, []))[1].append(key.upper())
    out = []
    for src, keys in runs.values():
        took = f", took {src['elapsed_s'] / 60:.1f} min" if src.get("elapsed_s") else ""
        verb = "come" if len(keys) > 1 else "comes"
        out.append(
            f"{' and '.join(keys)} {verb} from another run: `python -m bench.run --scenario {src.get('scenarios')}` "
            f"on {src.get('date')}{took}, raw results `{src.get('json')}` (`python -m bench.report` with both files "
            "re-renders this page)."
        )
    return ["", " ".join(out)] if out else []


CLASSIC = ("s1", "s3", "s5", "s6")
ROOT = Path(__file__).resolve().parent.parent


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def load(path: Path) -> Row | None:
    """A saved results file with its S1/S3 summaries re-folded (None when unreadable)."""
    try:
        res: Row = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key, fold in (("s1", summarize_s1), ("s3", summarize_s3)):
        if key in res.get("scenarios", {}):
            res["scenarios"][key]["summary"] = fold(res["scenarios"][key]["runs"])
    return res


def latest_with(results_dir: Path, scenario: str, skip: Path) -> tuple[Path, Row] | None:
    """The newest full (not ``--quick``, not interrupted) saved run that measured ``scenario``."""
    for path in sorted(results_dir.glob("*.json"), reverse=True):  # names are UTC timestamps
        if path.resolve() == skip.resolve() or path.name.endswith("-quick.json"):
            continue
        res = load(path)
        if res and scenario in res.get("scenarios", {}) and not res.get("interrupted"):
            return path, res
    return None


def graft(base: Row, extra: Row, extra_path: Path, keys: list[str]) -> Row:
    """``base`` with the scenarios ``keys`` of ``extra``, each marked with the run it comes from."""
    out = {**base, "scenarios": dict(base.get("scenarios", {}))}
    for key in keys:
        out["scenarios"][key] = {
            **extra["scenarios"][key],
            "provenance": {
                "json": _rel(extra_path),
                "date": dig(extra, "machine", "date"),
                "git": dig(extra, "machine", "git"),
                "elapsed_s": extra.get("elapsed_s"),
                "scenarios": ",".join(dig(extra, "plan", "scenarios", default=[]) or []),
            },
        }
    return out


def combine(res: Row, path: Path, results_dir: Path) -> tuple[Row, Path]:
    """The page to render for run ``res`` (saved at ``path``) and the results file it is generated from.

    A full run that skipped S1-S6 is grafted onto the latest full run that has them; one that skipped S8/S9
    gets them from the latest full run that has them. ``--quick`` runs render alone."""
    if dig(res, "plan", "quick"):
        return res, path
    have = set(res.get("scenarios", {}))
    if not have & set(CLASSIC):
        found = latest_with(results_dir, "s1", path)
        if found is not None:
            return graft(found[1], res, path, sorted(have)), found[0]
        return res, path
    for key in ("s8", "s9", "epg", "s8-epg"):
        if key not in have:
            other = latest_with(results_dir, key, path)
            if other is not None:
                res = graft(res, other[1], other[0], [key])
    return res, path


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        print("usage: python -m bench.report bench/results/FILE.json [MORE.json …]  (later files: their scenarios)")
        return 2
    paths = [Path(a).resolve() for a in args]
    res = load(paths[0])
    if res is None:
        print(f"cannot read {paths[0]}")
        return 2
    path = paths[0]
    if len(paths) == 1:
        res, path = combine(res, path, paths[0].parent)
    for extra_path in paths[1:]:
        extra = load(extra_path)
        if extra is None:
            print(f"cannot read {extra_path}")
            return 2
        res = graft(res, extra, extra_path, sorted(extra.get("scenarios", {})))
    doc = ROOT / "docs" / "benchmarks.md"
    doc.write_text(render(res, Path(_rel(path))), encoding="utf-8")
    print(f"wrote {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
