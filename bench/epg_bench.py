"""S8-EPG: the guide outputs of the Xtream API under load, Headend beside a static nginx on the same bytes.

    python -m bench.run --scenario s8-epg          # 3 runs (data table and the 5,000-channel guide: 2)
    python -m bench.run --scenario s8-epg --quick  # one short run, no 5,000-channel guide

Set-up, once: ``bench.api_server --seed-only`` builds a data dir with 5,000 channels, ``users`` lines
(``epg0`` …) sharing one package of all of them, a line ``x200`` with the first 200, and a guide for every
channel (:mod:`bench.epg_guide`: 30-60 min programmes from 2 h ago over 14 days and 6 h, stored through
``EpgStore.begin_import``/``add_programmes``/``finish_import``). A Headend serving a copy of it then answers
``get_short_epg`` and ``get_simple_data_table`` for every stream id and ``xmltv.php`` for both lines; those
bytes (gzip and identity) become nginx's files (``gzip_static``).

Per run: a fresh Headend on a fresh copy of the data dir and nginx, both on CPU0; each measurement on Headend,
then on nginx. Throughput: ``wrk -t1 -c64`` whose Lua ``request()`` draws a random user and a random stream id
per request (*all*: any of the 5,000 channels; *hot*: the first 200), after an unrecorded warm-up. Fixed rate:
:mod:`bench.openloop` at 200 req/s over the same kind of random sequence. Guides: one download per document,
encoding and system (:func:`bench.epg_fetch.timed_get`). Every measurement waits for a quiet machine first;
one whose window had > 15 % of CPU0 busy with other work is repeated once (bounded budget).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.api_bench import ApiBench, ApiPlan, _ms, progress_line
from bench.api_diag import attribute
from bench.api_systems import _NGINX_CONF, ApiHeadend, ApiServer, NginxStatic, _ready_line, fetch
from bench.epg_fetch import copy_bodies, rate_paths, rotation_lua, timed_get
from bench.epg_profile import pyspy, start_record, summarize
from bench.http1 import LOOPBACK
from bench.load import quiet_wait
from bench.procs import PYTHON, Procs, install_sigterm, pin_self
from bench.systems import SERVER_CPU, BenchError, ensure_free, wait_port
from bench.wrk import run_wrk

Row = dict[str, Any]
ACTIONS = {"short": "get_short_epg", "table": "get_simple_data_table"}
GZIP = "Accept-Encoding: gzip"


@dataclass
class EpgApiPlan:
    runs: int = 3
    table_runs: int = 2  # runs that measure get_simple_data_table
    big_runs: int = 2  # runs that download the 5,000-channel guide (0: never)
    seconds: float = 30.0
    warmup: float = 2.0
    rate: float = 200.0
    rate_seconds: float = 20.0
    connections: int = 64
    rate_connections: int = 16
    channels: int = 5000
    users: int = 50
    small_line: int = 200  # channels of the x200 line (its xmltv.php)
    hot: int = 200  # stream ids of the *hot* variants
    guide_days: float = 14.25
    guide_back_hours: float = 2.0
    max_redo: int = 3
    profile_seconds: float = 15.0  # py-spy of Headend per profiled load (0: no profiles)
    diagnose: bool = True  # fixed-rate runs with probes, shipped settings and a long auth cache

    @classmethod
    def make(cls, quick: bool, runs: int | None, seconds: float | None) -> EpgApiPlan:
        quick_plan = cls(runs=1, table_runs=1, big_runs=0, seconds=5.0, rate_seconds=5.0, max_redo=0, profile_seconds=0,
                         diagnose=False)  # fmt: skip
        plan = quick_plan if quick else cls()
        if runs is not None:
            plan.runs = runs
            plan.table_runs, plan.big_runs = min(plan.table_runs, runs), min(plan.big_runs, runs)
        if seconds is not None:
            plan.seconds = plan.rate_seconds = seconds
        return plan

    def estimate_s(self) -> float:
        per = self.warmup + 2.0
        seed = 90.0 + self.channels * self.guide_days * 0.005
        prep = 30.0 + self.channels * 0.04 + (120.0 if self.big_runs else 0.0)
        wrk = 2 * (self.seconds + per)
        rate = 2 * (self.rate_seconds + 3.0 + per)
        run = 15.0 + 2 * wrk + rate + 2 * 5.0
        table = 2 * wrk + 2 * rate
        profiles = 3 * (self.profile_seconds + 20.0) if self.profile_seconds else 0.0
        diagnosis = 4 * (self.rate_seconds + 20.0) + 100.0 + 60.0 if self.diagnose else 0.0
        return seed + prep + self.runs * run + self.table_runs * table + self.big_runs * 140.0 + profiles + diagnosis


class SeededHeadend(ApiHeadend):
    """``bench.api_server --reuse`` on a fresh copy of the seeded data dir (removed again at stop)."""

    def __init__(self, procs: Procs, port: int, workdir: Path, seed: Path, extra: tuple[str, ...] = ()) -> None:
        super().__init__(procs, port, workdir, 0, {}, extra)
        self.seed = seed
        self.data: Path | None = None

    def start(self) -> dict[str, Any]:
        ensure_free(self.port)
        self._runs += 1
        self.data = self.workdir / f"epg-headend-{self.port}-{self._runs}"
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.copytree(self.seed, self.data)
        argv = [PYTHON, "-m", "bench.api_server", "--port", str(self.port), "--data-dir", str(self.data), "--reuse",
                *self.extra]  # fmt: skip
        self.main = self.procs.start("epg-headend", argv, cpu=SERVER_CPU, stdout=subprocess.PIPE)
        self.info = _ready_line(self.main, timeout=120.0)
        wait_port(self.port, 10.0, self.main)
        return self.info

    def stop(self) -> dict[str, Any]:
        info = super().stop()
        if self.data is not None:
            shutil.rmtree(self.data, ignore_errors=True)
        return info


class EpgNginx(NginxStatic):
    """The S8 nginx peer with an open-file cache big enough for 10,000 body files, and XML typed."""

    def start(self) -> None:
        ensure_free(self.port)
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        text = _NGINX_CONF.format(prefix=self.prefix, host=LOOPBACK, port=self.port, www=self.www)
        text = text.replace("open_file_cache max=100 ", "open_file_cache max=20000 ")
        text = text.replace("audio/x-mpegurl m3u;", "audio/x-mpegurl m3u; application/xml xml;")
        conf.write_text(text, encoding="utf-8")
        argv = ["nginx", "-c", str(conf), "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                "-g", "daemon off;"]  # fmt: skip
        self.main = self.procs.start("nginx-epg", argv, cpu=SERVER_CPU)
        wait_port(self.port, 20.0, self.main)

    def stop(self) -> dict[str, Any]:
        """Stop nginx and keep its files for the next run (the scenario removes them at the end)."""
        return ApiServer.stop(self)


class EpgBench(ApiBench):
    """The scenario (see the module docstring); ports ``port_base`` + 30 (Headend) and + 31 (nginx)."""

    def __init__(self, plan: EpgApiPlan, procs: Procs, tmp: Path, port_base: int) -> None:
        super().__init__(ApiPlan(max_redo=plan.max_redo), procs, tmp, port_base + 20)
        self.eplan = plan
        self.seed_dir = tmp / "epg-seed"
        self.users: list[str] = []  # "username=…&password=…" of the epg lines
        self.ids: list[str] = []  # stream ids of the 5,000 channels, lineup order
        self.small: str = ""  # the x200 line's credentials
        self.docs: dict[str, str] = {}  # nginx path -> Headend path of the guides

    # -- set-up --------------------------------------------------------------------------------------------------

    def seed(self) -> Row:
        p = self.eplan
        shutil.rmtree(self.seed_dir, ignore_errors=True)
        argv = [PYTHON, "-m", "bench.api_server", "--port", "0", "--data-dir", str(self.seed_dir), "--seed-only",
                "--channels", str(p.channels), f"--group=epg:{p.channels}:{p.users}", f"--line=x200:{p.small_line}",
                "--guide-days", str(p.guide_days), "--guide-back-hours", str(p.guide_back_hours)]  # fmt: skip
        proc = self.procs.start("epg-seed", argv, cpu=SERVER_CPU, stdout=subprocess.PIPE)
        try:
            info = _ready_line(proc, timeout=1800.0)
            proc.popen.wait(timeout=120.0)
        finally:
            self.procs.stop(proc)
        self.credentials(info)
        info["db_mib"] = sum(f.stat().st_size for f in self.seed_dir.glob("headend.db*")) / 2**20
        return {k: v for k, v in info.items() if k != "lines"}

    def credentials(self, info: Row) -> None:
        """The lines of a seed's ready record: the ``epg`` group's and ``x200``'s query strings."""
        for line in info["lines"]:
            creds = urlencode({"username": line["username"], "password": line["password"]})
            if line.get("group") == "epg":
                self.users.append(creds)
            elif line["username"] == "x200":
                self.small = creds
        self.docs["xmltv200"] = f"/xmltv.php?{self.small}"

    def stream_ids(self, port: int) -> list[str]:
        status, _, body = fetch(port, f"/player_api.php?{self.users[0]}&action=get_live_streams")
        if status != 200:
            raise BenchError(f"get_live_streams: HTTP {status}")
        return [str(s["stream_id"]) for s in json.loads(body)]

    def prepare(self, nginx: NginxStatic) -> Row:
        """Stream ids, and every body and guide nginx will serve, from a Headend on a copy of the seed."""
        headend = SeededHeadend(self.procs, self.port_h, self.tmp, self.seed_dir)
        out: Row = {}
        try:
            headend.start()
            self.ids = self.stream_ids(headend.port)
            for kind, action in ACTIONS.items():
                paths = {f"{sid}.json": f"/player_api.php?{self.users[0]}&action={action}&stream_id={sid}"
                         for sid in self.ids}  # fmt: skip
                out[kind] = copy_bodies(headend.port, paths, nginx.www / kind)
                print(f"  S8-EPG bodies {kind}: {out[kind]}", flush=True)
            out["docs"] = self._copy_docs(headend, nginx)
        finally:
            out["stop"] = headend.stop()
        return out

    def _copy_docs(self, headend: SeededHeadend, nginx: NginxStatic) -> Row:
        docs = [("xmltv200", self.small)] + ([("xmltv5000", self.users[0])] if self.eplan.big_runs else [])
        out: Row = {}
        nginx.www.mkdir(parents=True, exist_ok=True)
        for name, creds in docs:
            self.docs[name] = f"/xmltv.php?{creds}"
            for gzip in (False, True):
                target = nginx.www / f"{name}.xml{'.gz' if gzip else ''}"
                rec = timed_get(headend.port, self.docs[name], gzip, headend.server_pids(), target)
                if not rec["ok"]:
                    raise BenchError(f"{name} (gzip={gzip}): not a complete guide: {rec}")
                out[f"{name}{'.gz' if gzip else ''}"] = {"bytes": rec["bytes"], "total_s": rec["total_s"]}
                if not gzip:
                    out[name + "_programmes"] = _count(target, b"<programme ")
        print(f"  S8-EPG guides: {out}", flush=True)
        return out

    # -- one measurement -----------------------------------------------------------------------------------------

    def _measure(self, server: Any, what: str, work: Any) -> list[Row]:
        records: list[Row] = []
        for attempt in range(2):
            quiet = quiet_wait(server.server_pids())
            rec = self._noisy({"system": server.name, "what": what, **work(), "quiet": quiet})
            rec["rss_mib"] = server.rss_mib()
            records.append(rec)
            print(f"    {what:16s} {server.name:8s} {_line(rec)}", flush=True)
            if not rec.get("noisy") or self.redo_left <= 0 or attempt == 1:
                break
            self.redo_left -= 1
            rec["discarded"] = "noisy: CPU0 was busy with other work during the window; repeated"
        return records

    def _formats(self, server: Any, kind: str) -> tuple[str, list[str], list[str]]:
        """(path format, first values, second values) of one rotation, for Headend or nginx."""
        hot = kind.endswith("_hot")
        ids = self.ids[: self.eplan.hot] if hot else self.ids
        base = kind.removesuffix("_hot")
        if server.name == "headend":
            return f"/player_api.php?%s&action={ACTIONS[base]}&stream_id=%s", self.users, ids
        return f"/{base}/%s.json?%s", ids, self.users  # the query string only keeps the request alike

    def wrk(self, server: Any, kind: str, run: int) -> list[Row]:
        p = self.eplan
        fmt, first, second = self._formats(server, kind)
        script = self.tmp / f"epg-{server.name}-{kind}.lua"
        script.write_text(rotation_lua(fmt, first, second, seed=1000 + run), encoding="utf-8")

        def work() -> Row:
            common: Row = {"port": server.port, "path": "/", "connections": p.connections, "headers": (GZIP,),
                           "script": script}  # fmt: skip
            run_wrk(self.procs, self.tmp, seconds=p.warmup, **common)
            res = run_wrk(self.procs, self.tmp, seconds=p.seconds, server_pids=server.server_pids(), **common)
            return {**res, "connections": p.connections, "ids": len(first if server.name != "headend" else second)}

        return self._measure(server, f"wrk:{kind}", work)

    def rate(self, server: Any, kind: str, run: int) -> list[Row]:
        p = self.eplan
        fmt, first, second = self._formats(server, kind)
        count = int(p.rate * (p.rate_seconds + 3.0)) + 10
        paths = self.tmp / f"epg-{server.name}-{kind}-rate.txt"
        paths.write_text("\n".join(rate_paths(fmt, first, second, count, seed=2000 + run)), encoding="utf-8")
        args = ["rate", "--rate", str(p.rate), "--seconds", str(p.rate_seconds), "--warmup", "3",
                "--connections", str(p.rate_connections), "--header", GZIP, "--paths-file", str(paths)]  # fmt: skip
        return self._measure(server, f"rate:{kind}", lambda: self._client(server, args, True))

    def first_doc(self, headend: SeededHeadend) -> Row:
        """The first guide this Headend process sends (x200, identity): it pays one-time start-up costs, so it is
        recorded on its own and the guide rows that follow measure a warm process."""
        path = self.docs["xmltv200"]
        quiet = quiet_wait(headend.server_pids())
        fetch(headend.port, path.replace("/xmltv.php?", "/player_api.php?") + "&action=get_live_streams")
        rec = {"system": "headend", "what": "first:xmltv200:identity", "quiet": quiet,
               **timed_get(headend.port, path, False, headend.server_pids())}  # fmt: skip
        print(f"    {'first guide':16s} headend  {_line(rec)}", flush=True)
        return rec

    def doc(self, server: Any, name: str, gzip: bool) -> list[Row]:
        path = self.docs[name] if server.name == "headend" else f"/{name}.xml"
        what = f"doc:{name}:{'gzip' if gzip else 'identity'}"

        def work() -> Row:
            if server.name == "headend":  # a player loads the streams before the guide: line and lineup are warm
                fetch(server.port, path.replace("/xmltv.php?", "/player_api.php?") + "&action=get_live_streams")
            return timed_get(server.port, path, gzip, server.server_pids())

        return self._measure(server, what, work)

    # -- the scenario --------------------------------------------------------------------------------------------

    def run(self) -> Row:
        p = self.eplan
        nginx = EpgNginx(self.procs, self.port_n, self.tmp)
        out: Row = {"params": asdict(p), "runs": []}
        try:
            print("  S8-EPG: seeding the catalogue and the guide ...", flush=True)
            out["seed"] = self.seed()
            print(f"  S8-EPG seed: {out['seed']}", flush=True)
            out["bodies"] = self.prepare(nginx)
            for r in range(p.runs):
                out["runs"] += self._one_run(r, nginx)
            out["diagnosis"] = self.diagnosis() if p.diagnose else {}
            out["costs"] = self.costs() if p.diagnose else {}
            out["profiles"] = self.profiles()
        except BenchError as exc:
            print(f"  !! S8-EPG failed: {exc}", flush=True)
            out["error"] = str(exc)
        finally:
            shutil.rmtree(nginx.www, ignore_errors=True)
            shutil.rmtree(self.seed_dir, ignore_errors=True)
        return out

    # -- where the time goes -------------------------------------------------------------------------------------

    def diagnosis(self) -> Row:
        """The fixed-rate loads again on a Headend with probes (``--diag``): shipped settings, and a control
        whose auth cache does not expire during the run (no re-verification of the lines)."""
        out: Row = {}
        cache = ("--auth-cache-s", "3600")
        variants = [("short", "shipped", (), 3.0), ("short", "auth_cache_3600s", cache, 3.0),
                    ("table_hot", "shipped", (), 3.0), ("table_hot", "auth_cache_3600s", cache, 3.0),
                    ("table_hot", "shipped_40s_warmup", (), 40.0)]  # fmt: skip
        for kind, variant, flags, warmup in variants:
            key = f"rate:{kind}:{variant}"
            try:
                out[key] = self._diagnose_one(kind, flags, warmup)
            except BenchError as exc:
                out[key] = {"error": str(exc)}
            d = out[key]
            if "client" in d:
                lat = d["client"]["latency_s"]
                print(f"    diagnosis {key}: p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])} max {_ms(lat['max'])} "
                      f"cpu {d['server_cpu_pct']:.0f}% slow by cause {d['attribution']['slow_by_cause']} "
                      f"calls {d['calls']}", flush=True)  # fmt: skip
        return out

    def costs(self) -> Row:
        """``bench.epg_costs`` on a copy of the seed (CPU0): CPU per operation, one call at a time."""
        data, out = self.tmp / "epg-costs-data", self.tmp / "epg-costs.json"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(self.seed_dir, data)
        argv = [PYTHON, "-m", "bench.epg_costs", "--data-dir", str(data), "--out", str(out)]
        quiet = quiet_wait([])
        proc = self.procs.start("epg-costs", argv, cpu=SERVER_CPU)
        try:
            proc.popen.wait(timeout=600.0)
        except subprocess.TimeoutExpired:
            pass
        finally:
            self.procs.stop(proc)
            shutil.rmtree(data, ignore_errors=True)
        if not out.exists():
            return {"error": proc.log_text()[-1000:]}
        result: Row = json.loads(out.read_text(encoding="utf-8"))
        print(f"  S8-EPG costs: {result}", flush=True)
        return {**result, "quiet": quiet}

    def _diagnose_one(self, kind: str, flags: tuple[str, ...], warmup: float) -> Row:
        p = self.eplan
        seconds = p.rate_seconds if warmup <= 3.0 else 40.0
        diag = self.tmp / f"epg-diag-{kind}-{len(flags)}.json"
        headend = SeededHeadend(self.procs, self.port_h, self.tmp, self.seed_dir, ("--diag", str(diag), *flags))
        try:
            headend.start()
            fmt, first, second = self._formats(headend, kind)
            count = int(p.rate * (seconds + warmup)) + 10
            paths = self.tmp / f"epg-diag-{kind}.txt"
            paths.write_text("\n".join(rate_paths(fmt, first, second, count, seed=4000)), encoding="utf-8")
            args = ["rate", "--rate", str(p.rate), "--seconds", str(seconds), "--warmup", str(warmup), "--timeline",
                    "--connections", str(p.rate_connections), "--header", GZIP, "--paths-file", str(paths)]  # fmt: skip
            quiet = quiet_wait(headend.server_pids())
            run = self._client(headend, args, meter=True)
        finally:
            stop = headend.stop()
        probes = json.loads(diag.read_text(encoding="utf-8")) if diag.exists() else {}
        w0, w1 = run["window"]
        calls = {
            name: {"n": len(inside), "n_whole_run": len(events),
                   "wall_ms_total": round(1000 * sum(x[1] for x in inside), 1),
                   "wall_ms_max": round(1000 * max((x[1] for x in inside), default=0.0), 1)}
            for name, events in probes.get("calls", {}).items()
            if (inside := [x for x in events if w0 <= x[0] < w1]) or events
        }  # fmt: skip
        return {
            "flags": list(flags),
            "warmup_s": warmup,
            "client": {k: v for k, v in run.items() if k not in ("timeline", "slowest", "meter")},
            "server_cpu_pct": run.get("server_cpu_pct", 0.0),
            "attribution": attribute(run, probes),
            "calls": calls,
            "quiet": quiet,
            "stop": stop,
        }

    def profiles(self) -> Row:
        """py-spy of a fresh Headend under the wrk load of each kind, and while it serves the 200-channel guide."""
        exe, p = pyspy(), self.eplan
        if exe is None or not p.profile_seconds:
            return {"skipped": "py-spy not found" if exe is None else "profile_seconds is 0"}
        out: Row = {}
        for target in ("wrk:short", "wrk:table", "doc:xmltv200:gzip"):
            headend = SeededHeadend(self.procs, self.port_h, self.tmp, self.seed_dir)
            try:
                headend.start()
                out[target] = self._profile(exe, headend, target)
                print(f"  S8-EPG profile {target}: {out[target]['threads']} top {out[target]['inclusive'][:4]}")
            except BenchError as exc:
                out[target] = {"error": str(exc)}
            finally:
                headend.stop()
        return out

    def _profile(self, exe: str, headend: SeededHeadend, target: str) -> Row:
        p = self.eplan
        raw = self.tmp / f"pyspy-{target.replace(':', '-')}.txt"
        kind, _, rest = target.partition(":")
        if kind == "wrk":
            fmt, first, second = self._formats(headend, rest)
            script = self.tmp / f"epg-profile-{rest}.lua"
            script.write_text(rotation_lua(fmt, first, second, seed=3000), encoding="utf-8")
            common: Row = {"port": headend.port, "path": "/", "connections": p.connections, "headers": (GZIP,),
                           "script": script}  # fmt: skip
            run_wrk(self.procs, self.tmp, seconds=p.warmup, **common)
            spy = start_record(self.procs, exe, headend.main.pid if headend.main else 0, p.profile_seconds, raw)
            load = run_wrk(self.procs, self.tmp, seconds=p.profile_seconds + 2.0, **common)
            load = {k: load.get(k) for k in ("rps", "errors")}
        else:
            name, _, enc = rest.partition(":")
            spy = start_record(self.procs, exe, headend.main.pid if headend.main else 0, p.profile_seconds, raw)
            downloads = 0
            while spy.alive():
                timed_get(headend.port, self.docs[name], enc == "gzip", headend.server_pids())
                downloads += 1
            load = {"downloads": downloads}
        try:
            spy.popen.wait(timeout=p.profile_seconds + 30.0)
        except subprocess.TimeoutExpired:
            pass
        self.procs.stop(spy)
        if not raw.exists():
            raise BenchError(f"py-spy wrote nothing:\n{spy.log_text()[-1000:]}")
        return {**summarize(raw), "load": load, "seconds": p.profile_seconds}

    def _one_run(self, r: int, nginx: EpgNginx) -> list[Row]:
        p = self.eplan
        headend = SeededHeadend(self.procs, self.port_h, self.tmp, self.seed_dir)
        runs: list[Row] = []
        try:
            headend.start()
            nginx.start()
            print(f"  S8-EPG run {r + 1}", flush=True)
            pairs = (headend, nginx)
            kinds = ["short", "short_hot"] + (["table", "table_hot"] if r < p.table_runs else [])
            for kind in kinds:
                for server in pairs:
                    runs += self.wrk(server, kind, r)
            for kind in ["short"] + (["table", "table_hot"] if r < p.table_runs else []):
                for server in pairs:
                    runs += self.rate(server, kind, r)
            runs.append(self.first_doc(headend))
            for name in ["xmltv200"] + (["xmltv5000"] if r < p.big_runs else []):
                for gzip in (True, False):
                    for server in pairs:
                        runs += self.doc(server, name, gzip)
        except BenchError as exc:
            print(f"  !! S8-EPG run {r + 1} failed: {exc}", flush=True)
            runs.append({"error": str(exc)})
        finally:
            stops = {"headend": headend.stop(), "nginx": nginx.stop()}
        runs.append({"what": "stop", "stop": stops})
        return [{**x, "run": r} for x in runs]


def _count(path: Path, needle: bytes) -> int:
    """Occurrences of ``needle`` in a (big) file, read 4 MiB at a time (with an overlap, so none is missed)."""
    total, keep = 0, b""
    with path.open("rb") as file:
        while chunk := file.read(1 << 22):
            data = keep + chunk
            total += data.count(needle)
            keep = data[-(len(needle) - 1) :]
    return total


def _line(rec: Row) -> str:
    found = progress_line(rec)
    if found is not None:
        return found
    return (f"head {_ms(rec.get('head_s'))} first body {_ms(rec.get('first_body_s'))} total "
            f"{rec.get('total_s', 0):.2f} s  {rec.get('bytes', 0) / 2**20:.1f} MiB  "
            f"cpu {rec.get('server_cpu_s', 0):.2f} s"
            f"  peak rss {rec.get('rss_peak_mib', 0):.0f} MiB (before {rec.get('rss_before_mib', 0):.0f})"
            f"  ok {rec.get('ok')}")  # fmt: skip


def run_s8_epg(plan: EpgApiPlan, procs: Procs, tmp: Path, port_base: int) -> Row:
    t0 = time.monotonic()
    out = EpgBench(plan, procs, tmp, port_base).run()
    out["elapsed_s"] = time.monotonic() - t0
    return out


def extra_phases(seed: Path, results: Path, phases: list[str], port_base: int) -> Row:
    """Run the diagnosis and/or profile phases on an existing seed dir and store them in a saved results file."""
    plan = EpgApiPlan()
    with tempfile.TemporaryDirectory(prefix="headend-bench-epg-") as tmp, Procs(Path(tmp) / "logs") as procs:
        bench = EpgBench(plan, procs, Path(tmp), port_base)
        bench.seed_dir = seed
        bench.credentials(json.loads((seed / "bench-seed.json").read_text(encoding="utf-8")))
        headend = SeededHeadend(procs, bench.port_h, Path(tmp), seed)
        try:
            headend.start()
            bench.ids = bench.stream_ids(headend.port)
        finally:
            headend.stop()
        done = {"diagnosis": bench.diagnosis, "profiles": bench.profiles, "costs": bench.costs}
        found = {name: done[name]() for name in phases}
    res = json.loads(results.read_text(encoding="utf-8"))
    rec = res["scenarios"]["s8-epg"]
    for name, value in found.items():
        rec[name] = value
        rec.setdefault("separately", {})[name] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results.write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.epg_bench", description=extra_phases.__doc__)
    p.add_argument("--seed", required=True, help="a data dir built by bench.api_server --seed-only (kept)")
    p.add_argument("--merge", required=True, help="results JSON of a run with s8-epg, updated in place")
    p.add_argument("--phases", default="diagnosis,costs,profiles")
    p.add_argument("--port-base", type=int, default=18080)
    args = p.parse_args(argv)
    install_sigterm()
    pin_self(1)
    extra_phases(Path(args.seed), Path(args.merge), [x for x in args.phases.split(",") if x], args.port_base)
    return 0


__all__ = ["EpgApiPlan", "EpgBench", "extra_phases", "run_s8_epg"]


if __name__ == "__main__":
    sys.exit(main())
