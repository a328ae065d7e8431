"""S8 (Xtream ``player_api.php``) and S9 (``get.php`` M3U): Headend beside a static nginx on the same bytes.

Per run: a fresh Headend (``bench.api_server``, CPU0) with the catalogue, the bodies it answers fetched
once and written to files for a fresh nginx (CPU0), then every measurement on Headend and right after on
nginx (A/B within the run). Load comes from CPU1: ``wrk -t1`` for throughput (after an unrecorded warm-up),
``bench.openloop`` for the fixed rate and for time to first byte. Before each measurement the bench waits
for a quiet machine; a run with > 15 % of CPU0 busy with other work is repeated once (bounded budget).

S8 also runs, once, a diagnosis: Headend with probes (``--diag``) under an open-loop login load, its slow
requests lined up with auth-cache misses, GC pauses and last-seen flushes (:mod:`bench.api_diag`), and the
same with the auth cache made long (the control).
"""

from __future__ import annotations

import gzip
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.api_diag import attribute
from bench.api_systems import GZIP, ApiHeadend, ApiServer, NginxStatic, fetch
from bench.load import quiet_wait
from bench.procs import PYTHON, Proc, Procs
from bench.sampler import Meter
from bench.systems import BenchError
from bench.wrk import CLIENT_CPU, run_wrk

NOISE_CPU0_PCT = 15.0
Row = dict[str, Any]


@dataclass
class ApiPlan:
    runs: int = 3
    seconds: float = 20.0  # wrk window
    warmup: float = 2.0  # unrecorded wrk before each window
    rate: float = 200.0
    rate_seconds: float = 20.0
    connections: int = 64
    rate_connections: int = 16
    m3u_connections: int = 16
    ttfb_count: int = 200
    diag_rate: float = 1000.0
    diag_seconds: float = 15.0
    diag_connections: int = 16
    diag_control: bool = True
    s8_channels: int = 5000
    s9_channels: int = 10000
    max_redo: int = 2

    @classmethod
    def make(cls, quick: bool, runs: int | None, seconds: float | None) -> ApiPlan:
        if quick:
            plan = cls(runs=1, seconds=5.0, warmup=1.0, rate_seconds=5.0, ttfb_count=50, diag_seconds=5.0)
            plan.diag_control, plan.max_redo = False, 0
        else:
            plan = cls()
        if runs is not None:
            plan.runs = runs
        if seconds is not None:
            plan.seconds = plan.rate_seconds = seconds
        return plan

    def estimate_s(self, scenarios: list[str]) -> float:
        per = self.warmup + 1.5  # warm-up + quiet check
        total = 0.0
        if "s8" in scenarios:
            total += self.runs * (6.0 + 5 * (self.seconds + per) + 2 * (self.rate_seconds + 3.0 + per))
            total += 2 * (self.rate_seconds / 2 + 3.0 + per)
            total += (2 if self.diag_control else 1) * (self.diag_seconds + 10.0)
        if "s9" in scenarios:
            total += self.runs * (6.0 + 2 * (self.seconds + per) + 2 * (self.ttfb_count * 0.03 + 2.0))
        return total


def _checked(status: int, headers: dict[str, str], body: bytes, what: str, gzipped: bool = False) -> bytes:
    if status != 200:
        raise BenchError(f"{what}: HTTP {status}: {body[:300]!r}")
    if gzipped != (headers.get("content-encoding") == "gzip"):
        raise BenchError(f"{what}: content-encoding {headers.get('content-encoding')!r}, wanted gzip={gzipped}")
    return body


class ApiBench:
    def __init__(self, plan: ApiPlan, procs: Procs, tmp: Path, port_base: int) -> None:
        self.plan = plan
        self.procs = procs
        self.tmp = tmp
        self.port_h, self.port_n, self.port_d = port_base + 10, port_base + 11, port_base + 12
        self.redo_left = plan.max_redo

    # -- one measurement ------------------------------------------------------------------------------------------

    def _noisy(self, rec: Row) -> Row:
        meter = rec.get("meter") or {}
        cpu0 = meter.get("cpu0", {}).get("task_pct")
        if cpu0 is not None:
            rec["foreign_cpu0_pct"] = max(0.0, cpu0 - rec.get("server_cpu_pct", 0.0))
            rec["noisy"] = rec["foreign_cpu0_pct"] > NOISE_CPU0_PCT
        return rec

    def _measured(self, server: ApiServer, what: str, work: Callable[[], Row]) -> list[Row]:
        """``work`` after a quiet-machine wait, repeated once if CPU0 was busy with other work."""
        records: list[Row] = []
        for attempt in range(2):
            quiet = quiet_wait(server.server_pids())
            rec = self._noisy({"system": server.name, "what": what, **work(), "quiet": quiet})
            rec["rss_mib"] = server.rss_mib()
            records.append(rec)
            print(f"    {what:9s} {server.name:8s} {_line(rec)}", flush=True)
            if not rec.get("noisy") or self.redo_left <= 0 or attempt == 1:
                break
            self.redo_left -= 1
            rec["discarded"] = "noisy: CPU0 was busy with other work during the window; repeated"
        return records

    def _wrk(self, server: ApiServer, what: str, path: str, conns: int, headers: tuple[str, ...] = ()) -> list[Row]:
        p = self.plan

        def work() -> Row:
            run_wrk(self.procs, self.tmp, port=server.port, path=path, connections=conns, seconds=p.warmup,
                    headers=headers)  # fmt: skip
            res = run_wrk(self.procs, self.tmp, port=server.port, path=path, connections=conns, seconds=p.seconds,
                          headers=headers, server_pids=server.server_pids())  # fmt: skip
            return {**res, "connections": conns, "headers": list(headers)}

        return self._measured(server, what, work)

    def _openloop(self, server: ApiServer, what: str, args: list[str], meter: bool = True) -> list[Row]:
        def work() -> Row:
            return self._client(server, args, meter)

        return self._measured(server, what, work)

    def _client(self, server: ApiServer, args: list[str], meter: bool) -> Row:
        """Run ``bench.openloop`` (CPU1); meter the server between MEASURE_START and MEASURE_END."""
        out = self.tmp / f"openloop-{time.time_ns()}.json"
        argv = [PYTHON, "-m", "bench.openloop", *args, "--port", str(server.port), "--out", str(out)]
        proc = self.procs.start("openloop", argv, cpu=CLIENT_CPU, stdout=subprocess.PIPE)
        m = Meter({"server": server.server_pids()})
        window = _follow(proc, m if meter else None, deadline=time.monotonic() + 180.0)
        self.procs.stop(proc)
        if not out.exists():
            raise BenchError(f"bench.openloop wrote no result:\n{proc.log_text()[-2000:]}")
        res: Row = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        if window:
            res["meter"] = window
            res["server_cpu_pct"] = window["cpu_pct"]["server"]
            rps = res["requests"] / max(1e-9, window["wall_s"])
            res["cpu_ms_per_request"] = 10.0 * res["server_cpu_pct"] / rps if rps else None
        return res

    # -- S8 -------------------------------------------------------------------------------------------------------

    def s8(self) -> Row:
        p = self.plan
        runs: list[Row] = []
        bodies: Row = {}
        for r in range(p.runs):
            headend = ApiHeadend(self.procs, self.port_h, self.tmp, p.s8_channels, {"s8": p.s8_channels})
            nginx = NginxStatic(self.procs, self.port_n, self.tmp)
            try:
                headend.start()
                streams = headend.query("player_api.php", "s8", action="get_live_streams")
                login = headend.query("player_api.php", "s8")
                gz = _checked(*fetch(headend.port, streams, {"Accept-Encoding": "gzip"}), "get_live_streams", True)
                body = _checked(*fetch(headend.port, streams), "get_live_streams")
                login_body = _checked(*fetch(headend.port, login), "login")
                if gzip.decompress(gz) != body or b'"auth":1' not in login_body:
                    raise BenchError("Headend's gzip body does not match its identity body, or login failed")
                bodies = {"json_bytes": len(body), "gzip_bytes": len(gz), "login_bytes": len(login_body),
                          "streams": len(json.loads(body))}  # fmt: skip
                nginx.put("live_streams.json", body)
                nginx.put("live_streams.json.gz", gz)
                nginx.put("login.json", login_body)
                nginx.start()
                if _checked(*fetch(nginx.port, "/live_streams.json", {"Accept-Encoding": "gzip"}), "nginx", True) != gz:
                    raise BenchError("nginx does not serve Headend's gzip bytes")
                print(f"  S8 run {r + 1}: {bodies}", flush=True)
                pairs = ((headend, streams), (nginx, "/live_streams.json"))
                for what, headers in (("gzip", (GZIP,)), ("identity", ())):
                    for server, path in pairs:
                        runs += [{**x, "run": r} for x in self._wrk(server, what, path, p.connections, headers)]
                rate_args = ["rate", "--rate", str(p.rate), "--seconds", str(p.rate_seconds), "--warmup", "3",
                             "--connections", str(p.rate_connections), "--header", GZIP]  # fmt: skip
                for server, path in pairs:
                    runs += [{**x, "run": r} for x in self._openloop(server, "rate", [*rate_args, "--path", path])]
                runs += [{**x, "run": r} for x in self._wrk(headend, "login", login, p.connections)]
                if r == 0:  # what a request costs at the fixed rate without the big body, once
                    short = ["--seconds", str(p.rate_seconds / 2)]
                    categories = headend.query("player_api.php", "s8", action="get_live_categories")
                    for what, path in (("rate_login", login), ("rate_categories", categories)):
                        x = self._openloop(headend, what, [*rate_args, *short, "--path", path])
                        runs += [{**y, "run": r} for y in x]
            except BenchError as exc:
                print(f"  !! S8 run {r + 1} failed: {exc}", flush=True)
                runs.append({"run": r, "error": str(exc)})
            finally:
                stops = {"headend": headend.stop(), "nginx": nginx.stop()}
            runs.append({"run": r, "what": "stop", "stop": stops})
        return {"params": asdict(p), "bodies": bodies, "runs": runs, "diagnosis": self._diagnose()}

    def _diagnose(self) -> Row:
        """Open-loop logins with probes: default settings, then (control) a long auth cache."""
        p = self.plan
        out: Row = {"rate": p.diag_rate, "connections": p.diag_connections, "seconds": p.diag_seconds}
        variants = [("default", ()), ("auth_cache_3600s", ("--auth-cache-s", "3600"))]
        for name, extra in variants if p.diag_control else variants[:1]:
            diag = self.tmp / f"diag-{name}.json"
            flags = ("--diag", str(diag), "--last-seen-flush-s", "7", *extra)
            headend = ApiHeadend(self.procs, self.port_d, self.tmp, p.s8_channels, {"s8": p.s8_channels}, flags)
            try:
                headend.start()
                args = ["rate", "--rate", str(p.diag_rate), "--seconds", str(p.diag_seconds), "--warmup", "3",
                        "--connections", str(p.diag_connections), "--timeline",
                        "--path", headend.query("player_api.php", "s8")]  # fmt: skip
                quiet = quiet_wait(headend.server_pids())
                run = self._client(headend, args, meter=True)
            except BenchError as exc:
                out[name] = {"error": str(exc)}
                continue
            finally:
                stop = headend.stop()
            probes = json.loads(diag.read_text(encoding="utf-8")) if diag.exists() else {}
            out[name] = {
                "flags": list(flags),
                "client": {k: v for k, v in run.items() if k not in ("timeline", "slowest", "meter")},
                "attribution": attribute(run, probes),
                "quiet": quiet,
                "stop": stop,
            }
            lat = run["latency_s"]
            print(f"    diagnosis {name}: p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])} max {_ms(lat['max'])}  "
                  f"slow by cause {out[name]['attribution']['slow_by_cause']}", flush=True)  # fmt: skip
        return out

    # -- S9 -------------------------------------------------------------------------------------------------------

    def s9(self) -> Row:
        p = self.plan
        runs: list[Row] = []
        bodies: Row = {}
        for r in range(p.runs):
            headend = ApiHeadend(self.procs, self.port_h, self.tmp, p.s9_channels, {"s9": p.s9_channels})
            nginx = NginxStatic(self.procs, self.port_n, self.tmp)
            try:
                headend.start()
                path = headend.query("get.php", "s9", type="m3u_plus", output="ts")
                m3u = _checked(*fetch(headend.port, path), "get.php")
                bodies = {"m3u_bytes": len(m3u), "entries": m3u.count(b"#EXTINF:")}
                nginx.put("playlist.m3u", m3u)
                nginx.start()
                if _checked(*fetch(nginx.port, "/playlist.m3u"), "nginx") != m3u:
                    raise BenchError("nginx does not serve Headend's playlist bytes")
                print(f"  S9 run {r + 1}: {bodies}", flush=True)
                pairs = ((headend, path), (nginx, "/playlist.m3u"))
                for server, url in pairs:
                    args = ["seq", "--count", str(p.ttfb_count), "--seconds", "90", "--path", url]
                    runs += [{**x, "run": r} for x in self._openloop(server, "ttfb", args, meter=False)]
                for server, url in pairs:
                    runs += [{**x, "run": r} for x in self._wrk(server, "m3u", url, p.m3u_connections)]
            except BenchError as exc:
                print(f"  !! S9 run {r + 1} failed: {exc}", flush=True)
                runs.append({"run": r, "error": str(exc)})
            finally:
                stops = {"headend": headend.stop(), "nginx": nginx.stop()}
            runs.append({"run": r, "what": "stop", "stop": stops})
        return {"params": asdict(p), "bodies": bodies, "runs": runs}


def _follow(proc: Proc, meter: Meter | None, deadline: float) -> Row:
    """Meter between the client's MEASURE_START and MEASURE_END lines; wait for it to exit."""
    lines: queue.Queue[bytes] = queue.Queue()
    stream = proc.popen.stdout
    assert stream is not None

    def read() -> None:
        for raw in stream:
            lines.put(raw)
        lines.put(b"")

    threading.Thread(target=read, daemon=True).start()
    window: Row = {}
    while time.monotonic() < deadline:
        try:
            raw = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if not raw:
            break
        line = raw.decode("utf-8", "replace").strip()
        if meter is not None and line == "MEASURE_START":
            meter.begin()
        elif meter is not None and line == "MEASURE_END":
            window = meter.end()
    try:
        proc.popen.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    return window


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{1000 * v:.1f} ms"


def progress_line(rec: Row) -> str | None:
    """The console line of a failed, wrk or fixed-rate record (None for other kinds); shared with epg_bench."""
    if "error" in rec:
        return f"ERROR {str(rec['error']).splitlines()[0][:160]}"
    cpu = f"cpu {rec.get('server_cpu_pct', 0):5.1f}%  cpu0-other {rec.get('foreign_cpu0_pct', 0):4.1f}%"
    rss = f"  rss {rec['rss_mib']:.0f} MiB" if "rss_mib" in rec else ""
    if "rps" in rec:
        lat = rec["latency_s"]
        return (f"{rec['rps']:8.0f} req/s  {cpu}  p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])}  "
                f"{rec['bytes_per_request'] / 1024:.1f} KiB/resp  errors {rec['errors']}{rss}")  # fmt: skip
    if rec.get("mode") == "rate":
        lat = rec["latency_s"]
        return (f"{rec['requests']} req @ {rec['rate']:g}/s  {cpu}  p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])} "
                f"max {_ms(lat['max'])}  errors {rec['errors']}{rss}")  # fmt: skip
    return None


def _line(rec: Row) -> str:
    found = progress_line(rec)
    if found is not None:
        return found
    t = rec.get("ttfb_s", {})
    return (f"{rec.get('requests')} req  ttfb p50 {_ms(t.get('p50'))} p95 {_ms(t.get('p95'))} p99 {_ms(t.get('p99'))}"
            f"  total p50 {_ms(rec.get('total_s', {}).get('p50'))}  errors {rec.get('errors')}")  # fmt: skip
