"""``headend admin …`` and ``headend audit list`` end to end through ``headend.cli.main`` on a temporary
data dir: passwords and tokens printed once and working, sessions ended by passwd/disable, every change
audited as ``cli``, one-line errors."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.admin.accounts import AdminAccounts
from headend.admin.api_tokens import ApiTokens
from headend.admin.passwords import AdminPasswordHasher
from headend.admin.sessions import AdminSessions
from headend.catalog.db import Database
from headend.cli import main
from headend.errors import AuthFailed


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> list[dict[str, object]]:
        assert self.code == 0, self.err
        rows: list[dict[str, object]] = json.loads(self.out)
        return rows


Run = Callable[..., Result]


@contextlib.contextmanager
def cli_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """``headend.cli.main`` in this process on ``tmp_path/data`` (the test files of the CLI share it)."""
    for name in [k for k in os.environ if k.startswith("HEADEND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HEADEND_PATHS_DATA_DIR", str(tmp_path / "data"))
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("alembic").level)

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return Result(int(exited.value.code or 0), out, err)

    try:
        yield run
    finally:  # main() sets up logging for a process; give pytest its handlers back
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("alembic").setLevel(saved[2])


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    with cli_runner(tmp_path, monkeypatch, capsys) as run:
        yield run


def _database(tmp_path: Path) -> Database:
    settings = settings_mod.replace(settings_mod.load(env={}), paths={"data_dir": tmp_path / "data"})
    return Database(settings.database_url)


def _authenticates(tmp_path: Path, username: str, password: str) -> bool:
    async def check() -> bool:
        async with _database(tmp_path) as db:
            try:
                await AdminAccounts(db, AdminPasswordHasher()).authenticate(username, password)
            except AuthFailed:
                return False
            return True

    return asyncio.run(check())


def test_accounts_workflow(cli: Run, tmp_path: Path) -> None:
    created = cli("admin", "create", "alice", "--role", "admin")
    assert created.code == 0, created.err
    header, row = created.out.splitlines()
    assert header.split() == ["ID", "USERNAME", "ROLE", "CREDITS", "PACKAGES", "PASSWORD"]
    password = row.split()[-1]
    assert len(password) >= 20
    assert _authenticates(tmp_path, "alice", password)

    given = cli("admin", "create", "bob", "--role", "operator", "--password-stdin", stdin="bobs long password\n")
    assert given.code == 0, given.err
    assert "bobs long password" not in given.out
    assert _authenticates(tmp_path, "bob", "bobs long password")

    listed = cli("admin", "list")
    assert listed.out.startswith("ID")
    assert "alice" in listed.out
    assert "bob" in listed.out
    assert password not in listed.out
    accounts = cli("admin", "list", "--json").json()
    assert [(a["username"], a["role"], a["enabled"]) for a in accounts] == [
        ("alice", "admin", True),
        ("bob", "operator", True),
    ]

    assert cli("admin", "disable", "bob", "--json").json()[0]["enabled"] is False
    assert not _authenticates(tmp_path, "bob", "bobs long password")
    assert cli("admin", "enable", "bob", "--json").json()[0]["enabled"] is True
    assert cli("admin", "update", "bob", "--role", "support", "--notes", "night shift", "--json").json()[0]["role"] == (
        "support"
    )
    assert cli("admin", "delete", "bob").out == "admin account bob deleted\n"
    assert [a["username"] for a in cli("admin", "list", "--json").json()] == ["alice"]


def test_the_last_admin_is_protected(cli: Run) -> None:
    assert cli("admin", "create", "alice", "--role", "admin").code == 0
    for args in (["admin", "disable", "alice"], ["admin", "delete", "alice"], ["admin", "update", "alice", "--role",
                                                                              "operator"]):  # fmt: skip
        result = cli(*args)
        assert result.code == 1
        assert result.err.startswith("headend: this would leave no enabled admin account")
        assert result.err.count("\n") == 1


def test_passwd_ends_sessions(cli: Run, tmp_path: Path) -> None:
    password = cli("admin", "create", "alice", "--role", "admin", "--json").json()[0]["password"]
    assert isinstance(password, str)

    async def login() -> str:
        async with _database(tmp_path) as db:
            account = await AdminAccounts(db, AdminPasswordHasher()).authenticate("alice", password)
            cookie, _ = await AdminSessions(db, settings_mod.AdminSettings()).create(account, ip="", user_agent="")
            return cookie

    async def resolves(cookie: str) -> bool:
        async with _database(tmp_path) as db:
            return await AdminSessions(db, settings_mod.AdminSettings()).resolve(cookie) is not None

    cookie = asyncio.run(login())
    assert asyncio.run(resolves(cookie))
    changed = cli("admin", "passwd", "alice", "--password-stdin", stdin="a brand new password\n")
    assert changed.code == 0, changed.err
    assert "a brand new password" not in changed.out
    assert not asyncio.run(resolves(cookie))
    assert _authenticates(tmp_path, "alice", "a brand new password")
    generated = cli("admin", "passwd", "alice", "--json").json()[0]["password"]
    assert isinstance(generated, str)
    assert _authenticates(tmp_path, "alice", generated)
    short = cli("admin", "passwd", "alice", "--password-stdin", stdin="short\n")
    assert (short.code, short.err) == (1, "headend: password must have at least 12 characters\n")


def test_resellers_credits_and_packages(cli: Run) -> None:
    assert cli("package", "add", "Basic").code == 0
    assert cli("package", "add", "Sport").code == 0
    made = cli("admin", "create", "shop", "--role", "reseller", "--credits", "5", "--package", "Basic", "Sport",
               "--json").json()[0]  # fmt: skip
    assert (made["credits"], made["packages"]) == (5, "Basic,Sport")
    assert cli("admin", "credits", "shop", "-3", "--json").json()[0]["credits"] == 2
    assert cli("admin", "credits", "shop", "10", "--json").json()[0]["credits"] == 12
    overdrawn = cli("admin", "credits", "shop", "-13")
    assert (overdrawn.code, overdrawn.err) == (1, "headend: not enough credits\n")
    assert cli("admin", "update", "shop", "--package", "Sport", "--json").json()[0]["packages"] == "Sport"
    assert cli("admin", "update", "shop", "--no-packages", "--json").json()[0]["packages"] == "-"
    missing = cli("admin", "create", "shop2", "--role", "reseller", "--package", "Gold")
    assert (missing.code, missing.err) == (1, "headend: no package named 'Gold'\n")


def test_api_tokens(cli: Run, tmp_path: Path) -> None:
    assert cli("admin", "create", "alice", "--role", "admin").code == 0
    made = cli("admin", "token", "create", "alice", "--name", "deploy", "--json").json()[0]
    token = made["token"]
    assert isinstance(token, str)
    assert token.startswith("hdk_")

    async def resolves() -> bool:
        async with _database(tmp_path) as db:
            return await ApiTokens(db).resolve(str(token)) is not None

    assert asyncio.run(resolves())
    listed = cli("admin", "token", "list")
    assert "deploy" in listed.out
    assert token[:8] in listed.out
    assert token not in listed.out
    assert [t["name"] for t in cli("admin", "token", "list", "alice", "--json").json()] == ["deploy"]
    revoked = cli("admin", "token", "revoke", str(made["id"]))
    assert revoked.code == 0, revoked.err
    assert not asyncio.run(resolves())
    assert cli("admin", "token", "list", "--json").json() == []
    gone = cli("admin", "token", "revoke", str(made["id"]))
    assert (gone.code, gone.err) == (1, f"headend: API token {made['id']} does not exist\n")


def test_every_change_is_audited_as_cli(cli: Run) -> None:
    password = cli("admin", "create", "alice", "--role", "admin", "--json").json()[0]["password"]
    cli("admin", "create", "bob", "--role", "support")
    cli("admin", "passwd", "bob")
    cli("admin", "disable", "bob")
    token = cli("admin", "token", "create", "alice", "--name", "ci", "--json").json()[0]["token"]
    cli("admin", "delete", "bob")
    entries = cli("audit", "list", "--actor", "cli", "--json").json()
    assert [e["action"] for e in entries] == [
        "admin.delete",
        "api_token.create",
        "admin.disable",
        "admin.password",
        "admin.create",
        "admin.create",
    ]
    assert {e["actor"] for e in entries} == {"cli"}
    assert all(e["actor_id"] is None for e in entries)
    dumped = json.dumps(entries)
    assert str(password) not in dumped
    assert str(token) not in dumped
    assert [e["action"] for e in cli("audit", "list", "--type", "api_token", "--json").json()] == ["api_token.create"]
    assert len(cli("audit", "list", "--limit", "2", "--json").json()) == 2
    table = cli("audit", "list")
    assert table.out.splitlines()[0].split() == ["AT", "ACTOR", "ACTION", "OBJECT_TYPE", "OBJECT_ID", "IP"]


def test_errors_are_one_line(cli: Run) -> None:
    for args in (
        ["admin", "passwd", "nobody"],
        ["admin", "create", "bad name", "--role", "admin"],
        ["admin", "credits", "nobody", "1"],
        ["admin", "token", "create", "nobody", "--name", "x"],
    ):
        result = cli(*args)
        assert result.code == 1, (args, result.err)
        assert result.err.startswith("headend: "), result.err
        assert result.err.count("\n") == 1
        assert "Traceback" not in result.err
