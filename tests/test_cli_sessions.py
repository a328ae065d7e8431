"""``headend session list|end`` and ``headend status`` against a real running server: a subscriber watches a
real stream, the command (a separate process, as an operator runs it) lists the session through the REST API
and ends it — the viewer's connection closes, the server audits it. The token comes from HEADEND_API_TOKEN or
stdin; a server that is not running, a refused token and a foreign session are one-line errors."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.catalog.subscriber_records import LineInput, PackageInput
from headend.cli_sessions import default_server
from headend.runtime import Headend
from headend.services import Services
from headend.settings import Settings
from tests.conftest import running_headend
from tests.delivery.xtream_env import Response, request

TOKEN = "test-operator-token"  # the settings fixture's bootstrap token (acts as an admin)
PASSWORD = "Pw-alice-9x7Q"


@dataclass(frozen=True, slots=True)
class Done:
    code: int
    out: str
    err: str

    def json(self) -> list[dict[str, object]]:
        assert self.code == 0, self.err
        rows: list[dict[str, object]] = json.loads(self.out)
        return rows


@dataclass
class Env:
    headend: Headend
    channel_id: int
    line_id: int
    tmp_path: Path

    @property
    def svc(self) -> Services:
        assert self.headend.services is not None
        return self.headend.services

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.headend.port}"

    async def cli(self, *args: str, token: str | None = TOKEN, stdin: str = "", **env: str) -> Done:
        """``headend ARGS`` in its own process (its own event loop), as an operator would run it."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("HEADEND_")}
        base["HEADEND_PATHS_DATA_DIR"] = str(self.tmp_path / "cli-data")
        if token is not None:
            base["HEADEND_API_TOKEN"] = token
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "headend", *args, env=base | env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
        assert proc.returncode is not None
        return Done(proc.returncode, out.decode(), err.decode())

    async def watch(self) -> Response:
        """Open a live TS stream as the line and wait until the server counts its session."""
        response = await request(self.headend.port, f"/live/alice/{PASSWORD}/{self.channel_id}.ts")
        assert response.status == 200
        await self.wait_sessions(1)
        return response

    async def wait_sessions(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while self.svc.sessions.active_count(self.line_id) != count and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert self.svc.sessions.active_count(self.line_id) == count


@pytest.fixture
async def env(settings: Settings, loop_ts: Path, tmp_path: Path) -> AsyncIterator[Env]:
    async with running_headend(settings, [[str(loop_ts)]]) as (headend, ids):
        assert headend.services is not None
        store = headend.services.subscribers
        bouquet = await store.create_bouquet("Main", ids)
        package = await store.create_package(PackageInput(name="Basic", max_connections=2, bouquet_ids=(bouquet.id,)))
        line, _ = await store.create_line(LineInput(username="alice", password=PASSWORD, package_ids=(package.id,)))
        yield Env(headend, ids[0], line.id, tmp_path)


async def test_list_and_end_a_session_by_line(env: Env) -> None:
    response = await env.watch()
    try:
        rows = (await env.cli("session", "list", "--server", env.server, "--json")).json()
        assert [(r["line"], r["line_id"], r["channel_id"], r["kind"]) for r in rows] == [
            ("alice", env.line_id, env.channel_id, "ts")
        ]
        table = await env.cli("session", "list", "--line", "alice", "--server", env.server)
        assert table.code == 0, table.err
        assert table.out.splitlines()[0].split() == ["ID", "LINE", "CHANNEL_ID", "KIND", "DEVICE", "DURATION_S",
                                                     "IDLE_S"]  # fmt: skip
        assert str(rows[0]["id"]) in table.out
        nobody = await env.cli("session", "list", "--line", "nobody", "--server", env.server)
        assert (nobody.code, nobody.err) == (1, "headend: no line named 'nobody'\n")

        ended = await env.cli("session", "end", "--line", "alice", "--server", env.server)
        assert (ended.code, ended.out, ended.err) == (0, "1 session(s) of line alice ended\n", "")
        assert await response.closed_by_server(10.0), "the viewer's stream is closed at once"
        assert env.svc.sessions.active_count(env.line_id) == 0
    finally:
        response.close()
    entries = await env.svc.audit.list(action="session.end")
    assert [(e.actor, e.object_id, e.ip) for e in entries] == [("bootstrap-token", str(rows[0]["id"]), "127.0.0.1")]
    empty = await env.cli("session", "list", "--server", env.server, "--json")
    assert empty.json() == []


async def test_end_one_session_by_id_with_the_token_on_stdin(env: Env) -> None:
    first, second = await env.watch(), None
    try:
        second = await request(env.headend.port, f"/live/alice/{PASSWORD}/{env.channel_id}.ts", ua="other-player")
        await env.wait_sessions(2)
        rows = (await env.cli("session", "list", "--token-stdin", "--server", env.server, "--json", token=None,
                              stdin=TOKEN + "\n")).json()  # fmt: skip
        assert len(rows) == 2
        victim = str(rows[0]["id"])
        ended = await env.cli(
            "session", "end", victim, "--token-stdin", token=None, stdin=TOKEN, HEADEND_HTTP_PORT=str(env.headend.port)
        )  # fmt: skip  (the default --server)
        assert (ended.code, ended.out) == (0, f"session {victim} ended\n"), ended.err
        await env.wait_sessions(1)
        left = (await env.cli("session", "list", "--server", env.server, "--json")).json()
        assert [r["id"] for r in left] == [rows[1]["id"]]
        again = await env.cli("session", "end", victim, "--server", env.server)
        assert (again.code, again.err) == (1, "headend: no such live session\n")
    finally:
        first.close()
        if second is not None:
            second.close()


async def test_a_resellers_token_sees_only_its_lines(env: Env) -> None:
    account, _ = await env.svc.admin_accounts.create(AdminInput(username="shop", role=Role.RESELLER))
    _, token = await env.svc.api_tokens.create(account.id, "cli")
    response = await env.watch()
    try:
        rows = (await env.cli("session", "list", "--server", env.server, "--json")).json()
        assert len(rows) == 1
        assert (await env.cli("session", "list", "--server", env.server, "--json", token=token)).json() == []
        foreign = await env.cli("session", "end", str(rows[0]["id"]), "--server", env.server, token=token)
        assert (foreign.code, foreign.err) == (1, "headend: no such live session\n")
        by_line = await env.cli("session", "end", "--line", "alice", "--server", env.server, token=token)
        assert (by_line.code, by_line.err) == (1, "headend: no line named 'alice'\n"), "another's line is unknown"
        status = await env.cli("status", "--server", env.server, token=token)
        assert status.code == 1
        assert status.err.startswith("headend: the token's account may not do this: ")
        assert env.svc.sessions.active_count(env.line_id) == 1, "nothing was ended"
    finally:
        response.close()


async def test_status(env: Env) -> None:
    response = await env.watch()
    try:
        shown = await env.cli("status", "--server", env.server, "--json")
        assert shown.code == 0, shown.err
        status = json.loads(shown.out)
        channel = next(c for c in status["channels"] if c["id"] == env.channel_id)
        assert channel["viewers"] == 1
        assert status["totals"]["viewers"] == 1
        table = await env.cli("status", "--server", env.server)
        assert table.out.startswith("headend ")
        assert "1 viewer(s)" in table.out.splitlines()[0]
    finally:
        response.close()


async def test_connection_and_token_errors(env: Env, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once the probe is closed
    down = await env.cli("session", "list", "--server", closed)
    assert (down.code, down.err) == (1, f"headend: no Headend server answers at {closed} (is it running? see "
                                        "--server)\n")  # fmt: skip
    refused = await env.cli("session", "list", "--server", env.server, token="hdk_wrong")
    assert (refused.code, refused.err) == (
        1, "headend: the server refused the API token (HEADEND_API_TOKEN or --token-stdin)\n"
    )  # fmt: skip
    missing = await env.cli("session", "end", "x", "--server", env.server, token=None)
    assert missing.code == 2
    assert missing.err == ("headend: configuration error: no API token: set HEADEND_API_TOKEN or give one on stdin "
                           "with --token-stdin\n")  # fmt: skip
    both = await env.cli("session", "end", "x", "--line", "alice", "--server", env.server)
    assert (both.code, both.err) == (2, "headend: configuration error: give a SESSION_ID or --line USERNAME\n")
    neither = await env.cli("session", "end", "--server", env.server)
    assert neither.code == 2
    bad_url = await env.cli("session", "list", "--server", "ftp://127.0.0.1/")
    assert (bad_url.code, bad_url.err) == (2, "headend: configuration error: --server must be an http(s) URL, not "
                                              "'ftp://127.0.0.1/'\n")  # fmt: skip
    stdin_empty = await env.cli("session", "list", "--token-stdin", "--server", env.server, stdin="")
    assert stdin_empty.code == 2


def test_default_server() -> None:
    base = settings_mod.load(env={})
    assert default_server(base) == "http://127.0.0.1:8080"
    for host, expected in (("0.0.0.0", "http://127.0.0.1:9000"), ("::", "http://[::1]:9000"),
                           ("::1", "http://[::1]:9000"), ("tv.example", "http://tv.example:9000")):  # fmt: skip
        assert default_server(settings_mod.replace(base, http={"host": host, "port": 9000})) == expected
