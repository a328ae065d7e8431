"""Markdown tables for docs/benchmarks.md, one function per scenario section."""

from __future__ import annotations

from bench.fold import LABELS, Row


def pct(s: Row | None) -> str:
    if not s or s.get("median") is None:
        return "-"
    if s["min"] == s["max"]:
        return f"{s['median']:.1f} %"
    return f"{s['median']:.1f} % ({s['min']:.1f}-{s['max']:.1f})"


def mib(s: Row | None) -> str:
    return "-" if not s or s.get("median") is None else f"{s['median']:.0f} MiB"


def ms(v: float | None) -> str:
    return "-" if v is None else f"{1000 * v:.0f} ms" if v >= 0.01 else f"{1000 * v:.1f} ms"


def cpu_ratio(a: Row | None, b: Row | None, key: str = "server_cpu") -> float | None:
    """Median CPU of ``a`` ÷ that of ``b`` (``key="cpu_per_gbps"``: per delivered Gb/s)."""
    if not a or not b or not a.get(key) or not b.get(key):
        return None
    x, y = a[key]["median"], b[key]["median"]
    return None if x is None or not y else x / y


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"**{r:.2f}x**"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**pass**" if ok else "**FAIL**")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def by_n(summary: dict[str, dict[str, Row]]) -> list[tuple[str, dict[str, Row]]]:
    return sorted(summary.items(), key=lambda kv: int(kv[0]))


def s1_section(s1: dict[str, dict[str, Row]], ingest_mbps: float) -> list[str]:
    lines = ["## S1 — MPEG-TS fan-out (one channel, N viewers)", ""]
    lines.append(
        f"Source ≈ {ingest_mbps:.2f} Mb/s. CPU = the server process only, % of one core, median of the runs "
        "(min-max). Goodput = the slowest viewer's bytes over the window ÷ the source bitrate. "
        "Ratio = Headend ÷ VLC."
    )
    lines.append("")
    rows = []
    for n, sys_ in by_n(s1):
        h, v = sys_.get("headend"), sys_.get("vlc")
        rows.append(
            [
                n,
                pct(h and h["server_cpu"]),
                pct(v and v["server_cpu"]),
                fmt_ratio(cpu_ratio(h, v)),
                mib(h and h["rss_max_mib"]),
                mib(v and v["rss_max_mib"]),
                " / ".join("-" if not x else f"{x['goodput_min']:.3f}" for x in (h, v)),
                " / ".join("-" if not x else str(x["stalls"]) for x in (h, v)),
                " / ".join("-" if not x else str(x["dropped"]) for x in (h, v)),
            ]
        )
    lines += table(
        [
            "N",
            "Headend CPU",
            "VLC CPU",
            "ours/VLC",
            "Headend RSS",
            "VLC RSS",
            "min goodput H / V",
            "stalls H / V",
            "drops H / V",
        ],
        rows,
    )
    lines.append("Per system and N (all folded runs):")
    lines.append("")
    rows = []
    for n, sys_ in by_n(s1):
        for name, x in sys_.items():
            rows.append(
                [
                    n,
                    LABELS.get(name, name),
                    str(x["runs"]),
                    pct(x["server_cpu"]),
                    pct(x["source_cpu"]),
                    pct(x["client_cpu"]),
                    f"{x['aggregate_gbps']:.2f}",
                    f"{x['goodput_p50']:.3f}",
                    str(x["below_95pct"]),
                    f"{x['max_gap_s']:.2f} s",
                    f"{x['connected']}/{n}",
                    "yes" if x["first_sync_all"] else "no",
                    "yes" if x["first_pat_all"] else "no",
                    f"{x['rss_growth_mib']:+.1f}",
                    f"{x['foreign_cpu0_max']:.1f} %",
                ]
            )
    lines += table(
        [
            "N",
            "system",
            "runs",
            "server CPU",
            "source ffmpeg CPU",
            "client CPU",
            "Gb/s",
            "median goodput",
            "viewers < 95 %",
            "max gap",
            "connected",
            "starts 0x47",
            "starts with PAT",
            "RSS growth in window (MiB)",
            "max CPU0 other",
        ],
        rows,
    )
    return lines


def decision_section(s1: dict[str, dict[str, Row]]) -> list[str]:
    lines = ["## Server-path decision: lean server vs uvicorn + Starlette `StreamingResponse`", ""]
    lines.append(
        "The same relay idea (one ffmpeg `-c copy`, 188-aligned ~64 KiB shared chunks) behind two response "
        "paths. Headend writes shared chunks to every viewer's transport from its own httptools/uvloop "
        "server; `bench/asgi_relay.py` hands the chunks to one `StreamingResponse` generator per viewer, "
        "woken through an `asyncio.Condition`, on uvicorn (uvloop + httptools), which frames the endless body with "
        "chunked transfer encoding (Headend sends it raw, `Connection: close`). Both pinned to CPU0, same source, "
        "same window; `fw runs` = how many runs of the framework path are folded in."
    )
    lines.append("")
    rows = []
    for n, sys_ in by_n(s1):
        h, a = sys_.get("headend"), sys_.get("asgi")
        if not a:
            continue
        rows.append(
            [
                n,
                pct(h and h["server_cpu"]),
                pct(a["server_cpu"]),
                fmt_ratio(cpu_ratio(a, h)),
                mib(h and h["rss_max_mib"]),
                mib(a["rss_max_mib"]),
                " / ".join("-" if not x else f"{x['goodput_min']:.3f}" for x in (h, a)),
                " / ".join("-" if not x else str(x["stalls"]) for x in (h, a)),
                str(a["runs"]),
            ]
        )
    lines += table(
        [
            "N",
            "Headend (lean)",
            "uvicorn+Starlette",
            "framework ÷ lean",
            "RSS lean",
            "RSS framework",
            "min goodput lean / fw",
            "stalls lean / fw",
            "fw runs",
        ],
        rows,
    )
    return lines


def s3_section(s3: dict[str, dict[str, Row]]) -> list[str]:
    lines = ["## S3 — HLS players (2 s segments, live window of 6)", ""]
    lines.append(
        "CPU = the Headend process vs the nginx master + worker (ffmpeg's HLS muxer that writes nginx's files "
        "is reported as its source). TTFB = request written → first response byte, per segment, p95/p99 over "
        "the window (median of runs). The source loops every 60 s and both segmenters (Headend's and ffmpeg's) "
        "make one 4 s segment at the loop point, so a 30 s window carries 14 or 15 new segments per player; "
        "*per Gb/s* divides each run's CPU by the bytes it actually delivered."
    )
    lines.append("")
    rows = []
    for n, sys_ in by_n(s3):
        h, x = sys_.get("headend"), sys_.get("nginx")
        rows.append(
            [
                n,
                pct(h and h["server_cpu"]),
                pct(x and x["server_cpu"]),
                fmt_ratio(cpu_ratio(h, x)),
                fmt_ratio(cpu_ratio(h, x, "cpu_per_gbps")),
                " / ".join(
                    "-" if not s else f"{ms(s['ttfb_p95']['median'])}, {ms(s['ttfb_p99']['median'])}" for s in (h, x)
                ),
                " / ".join("-" if not s else str(s["late"]) for s in (h, x)),
                " / ".join("-" if not s else str(s["stale"]) for s in (h, x)),
                " / ".join("-" if not s else str(s["errors"]) for s in (h, x)),
            ]
        )
    lines += table(
        [
            "N",
            "Headend CPU",
            "nginx CPU",
            "ours/nginx",
            "ours/nginx per Gb/s",
            "seg TTFB p95, p99 (H / nginx)",
            "late H / N",
            "stale H / N",
            "errors H / N",
        ],
        rows,
    )
    rows = []
    for n, sys_ in by_n(s3):
        for name, x in sys_.items():
            rows.append(
                [
                    n,
                    LABELS.get(name, name),
                    str(x["runs"]),
                    pct(x["source_cpu"]),
                    pct(x["client_cpu"]),
                    f"{x['segments_per_s']:.0f}",
                    f"{x['aggregate_gbps']:.2f}",
                    ms(x["download_p99"]["median"]),
                    ms(x["playlist_p99"]["median"]),
                    str(x["skipped"]),
                    str(x["bad_first_byte"]),
                    mib(x["rss_max_mib"]),
                    f"{x['foreign_cpu0_max']:.1f} %",
                ]
            )
    lines += table(
        [
            "N",
            "system",
            "runs",
            "source CPU",
            "client CPU",
            "segments/s",
            "Gb/s",
            "download p99",
            "playlist TTFB p99",
            "skipped",
            "bad first byte",
            "RSS",
            "max CPU0 other",
        ],
        rows,
    )
    return lines


def s5_section(s5: dict[str, Row]) -> list[str]:
    lines = ["## S5 — warm zap (time to first byte, PAT, PMT, keyframe)", ""]
    lines.append(
        "A holder viewer keeps the channel warm. Times from the TCP connect; keyframe = first video PES with "
        "random_access_indicator or an H.264 IDR NAL after the PMT (`bench/tsparse.py`): a demuxer drops PIDs "
        "it has no PMT for yet. *Keyframe, any order* = the first keyframe PES whether or not the PAT/PMT came "
        "before it (a server that starts viewers at a keyframe but sends the tables later shows up there)."
    )
    lines.append("")
    rows = []
    for name, rec in s5.items():
        if "error" in rec:
            rows.append([LABELS.get(name, name), "-", f"error: {rec['error'].splitlines()[0][:120]}"] + ["-"] * 7)
            continue
        for mode in ("sequential", "concurrent"):
            m = rec[mode]

            def pp(key: str, m: Row = m) -> str:
                return f"{ms(m[key]['p50'])} / {ms(m[key]['p95'])}"

            rows.append(
                [
                    LABELS.get(name, name),
                    mode if mode == "sequential" else f"{m['width']} at once",
                    f"{m['ok']}/{m['zaps']}",
                    pp("first_byte_s"),
                    pp("pat_s"),
                    pp("pmt_s"),
                    pp("keyframe_s"),
                    pp("keyframe_any_s") if "keyframe_any_s" in m else "-",
                    f"{m['starts_with_pat']}/{m['ok']}",
                    ", ".join(f"{k}: {v}" for k, v in m["keyframe_by"].items()),
                ]
            )
    lines += table(
        [
            "system",
            "mode",
            "ok",
            "first byte p50 / p95",
            "PAT p50 / p95",
            "PMT p50 / p95",
            "**keyframe** p50 / p95",
            "keyframe, any order",
            "first packet is PAT",
            "keyframe seen by",
        ],
        rows,
    )
    return lines


def s6_section(s6: Row) -> list[str]:
    lines = ["## S6 — cold start on demand and idle stop (Headend)", ""]
    if "cycles" not in s6:
        return [*lines, f"Not measured: {s6.get('skipped') or s6.get('error', '?')}", ""]
    k, f, st = s6["keyframe_s"], s6["first_byte_s"], s6["ffmpeg_stop_s"]
    lines.append(
        f"`HEADEND_RELAY_IDLE_GRACE_S={s6['grace_s']:g}`. Each cycle waits until the channel's ffmpeg is gone, "
        "requests the TS URL, reads to the first keyframe and hangs up; then times until that ffmpeg pid exits."
    )
    lines.append("")
    leaked = len(s6["leaked_during"]) + len(s6["leaked_after_stop"])
    rows = [
        [
            f"{s6['cycles']} ({s6['cold_cycles']} cold)",
            f"{s6['ok']}",
            f"{ms(f['p50'])} / {ms(f['p95'])}",
            f"{ms(k['p50'])} / {ms(k['p95'])} (max {ms(k['max'])})",
            f"{ms(st['p50'])} / {ms(st['p95'])} (max {ms(st['max'])})",
            f"{s6['grace_s'] + 2:g} s",
            str(leaked),
        ]
    ]
    lines += table(
        [
            "cycles",
            "ok",
            "first byte p50 / p95",
            "first keyframe p50 / p95",
            "ffmpeg gone after hang-up",
            "bar (grace + 2 s)",
            "leaked ffmpeg",
        ],
        rows,
    )
    if s6["errors"]:
        lines += [f"Errors: {'; '.join(s6['errors'])}", ""]
    return lines
