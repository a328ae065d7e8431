"""``headend line|package|bouquet``: the operator's subscriber workflow end to end, tables and JSON, a
password shown once, one-line errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.test_cli import run


def _json(tmp_path: Path, *args: str) -> list[dict[str, object]]:
    result = run(tmp_path, *args, "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_bouquet_package_line_workflow(tmp_path: Path) -> None:
    channel = _json(tmp_path, "channel", "add", "News", "--source", "testpattern:News")[0]
    bouquet = _json(tmp_path, "bouquet", "add", "Main", "--channel", str(channel["id"]))[0]
    assert bouquet["channel_ids"] == [channel["id"]]
    package = _json(tmp_path, "package", "add", "Basic", "--days", "30", "--max-connections", "2",
                    "--bouquet", "Main", "--output", "ts")[0]  # fmt: skip
    assert (package["duration_days"], package["max_connections"], package["allowed_outputs"]) == (30, 2, ["ts"])

    added = run(tmp_path, "line", "add", "alice", "--package", "Basic", "--days", "7")
    assert added.returncode == 0, added.stderr
    header, row = added.stdout.splitlines()
    assert header.split() == ["ID", "USERNAME", "PASSWORD", "EXPIRES", "MAX_CONNECTIONS", "PACKAGES"]
    password = row.split()[2]
    assert len(password) == 12

    listed = run(tmp_path, "line", "list")
    assert listed.stdout.startswith("ID")
    assert "alice" in listed.stdout
    assert "Active" in listed.stdout
    assert password not in listed.stdout, "the password is shown once, at creation"
    shown = _json(tmp_path, "line", "show", "alice")[0]
    assert (shown["status"], shown["max_connections"], shown["packages"], shown["channels"]) == (
        "Active",
        2,
        "Basic",
        1,
    )
    assert password not in json.dumps(shown)

    assert _json(tmp_path, "line", "ban", "alice", "--reason", "resold")[0]["status"] == "Banned"
    assert _json(tmp_path, "line", "unban", "alice")[0]["status"] == "Active"
    assert _json(tmp_path, "line", "disable", "alice")[0]["status"] == "Disabled"
    assert _json(tmp_path, "line", "enable", "alice")[0]["status"] == "Active"
    renewed = _json(tmp_path, "line", "renew", "alice", "--days", "3")[0]
    assert str(renewed["exp_at"]) > str(shown["exp_at"])
    new_password = _json(tmp_path, "line", "reset-password", "alice")[0]["password"]
    assert new_password != password

    held = run(tmp_path, "package", "delete", "Basic")
    assert held.returncode == 1
    assert held.stderr == "headend: package 'Basic' is held by 1 line(s); take it away from them first\n"
    assert run(tmp_path, "line", "delete", "alice").returncode == 0
    assert run(tmp_path, "package", "delete", "Basic").returncode == 0
    assert _json(tmp_path, "bouquet", "set-channels", "Main")[0]["channel_ids"] == []
    assert _json(tmp_path, "line", "list") == []

    key = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_subscriber_errors_are_one_line(tmp_path: Path) -> None:
    for args in (
        ["line", "show", "nobody"],
        ["line", "add", "bad name"],
        ["line", "add", "bob", "--package", "Missing"],
        ["line", "add", "bob", "--password", "short"],
        ["bouquet", "add", "Main", "--channel", "99"],
    ):
        result = run(tmp_path, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("headend: "), result.stderr
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "secret.key").exists(), "no key is made when nothing was hashed"
