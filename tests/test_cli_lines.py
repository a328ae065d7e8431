"""``headend line|package|bouquet``: the changes the panel and the REST API make — a line's limits, allow-lists,
expiry and owner, a sale and a renewal on a reseller's behalf paid from its credits, a package's credit cost,
a bouquet's name and place — from the command line, each audited as ``cli`` (never a password)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli_admin import Result, Run, cli_runner


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    with cli_runner(tmp_path, monkeypatch, capsys) as run:
        yield run


def one(result: Result) -> dict[str, object]:
    rows = result.json()
    assert len(rows) == 1, rows
    return rows[0]


def audit(cli: Run, object_type: str) -> list[dict[str, object]]:
    """The command line's audit entries about one type of object, oldest first."""
    entries = cli("audit", "list", "--actor", "cli", "--type", object_type, "--limit", "1000", "--json").json()
    return list(reversed(entries))


def credits(cli: Run, username: str) -> object:
    return next(a["credits"] for a in cli("admin", "list", "--json").json() if a["username"] == username)


def test_line_update(cli: Run) -> None:
    cli("package", "add", "Basic", "--max-connections", "2")
    cli("package", "add", "Sport")
    cli("admin", "create", "shop", "--role", "reseller")
    made = one(cli("line", "add", "alice", "--package", "Basic", "--json"))
    assert (made["max_connections"], made["owner_id"], made["allowed_ips"]) == (2, None, [])

    changed = one(cli("line", "update", "alice", "--username", "alice2", "--max-connections", "5", "--notes", "room 12",
                      "--allow-ip", "10.0.0.0/8", "--allow-ip", "192.0.2.7", "--allow-user-agent", "VLC",
                      "--expires", "2031-02-03T04:05", "--output", "m3u8", "--trial", "--package", "Sport",
                      "--package", "Basic", "--owner", "shop", "--json"))  # fmt: skip
    shop = next(a for a in cli("admin", "list", "--json").json() if a["username"] == "shop")
    assert {k: changed[k] for k in ("username", "max_connections", "notes", "allowed_ips", "allowed_user_agents",
                                    "exp_at", "allowed_outputs", "is_trial", "packages", "owner_id")} == {
        "username": "alice2", "max_connections": 5, "notes": "room 12", "allowed_ips": ["10.0.0.0/8", "192.0.2.7"],
        "allowed_user_agents": ["VLC"], "exp_at": "2031-02-03T04:05:00+00:00", "allowed_outputs": ["m3u8"],
        "is_trial": True, "packages": "Sport,Basic", "owner_id": shop["id"],
    }  # fmt: skip
    shown = cli("line", "show", "alice2")
    assert "shop" in shown.out
    assert "10.0.0.0/8" in shown.out

    cleared = one(cli("line", "update", "alice2", "--any-ip", "--any-user-agent", "--never-expires", "--no-trial",
                      "--no-packages", "--no-owner", "--json"))  # fmt: skip
    assert {k: cleared[k] for k in ("allowed_ips", "allowed_user_agents", "exp_at", "is_trial", "packages",
                                    "owner_id", "max_connections", "notes")} == {
        "allowed_ips": [], "allowed_user_agents": [], "exp_at": None, "is_trial": False, "packages": "-",
        "owner_id": None, "max_connections": 5, "notes": "room 12",
    }  # fmt: skip
    offset = one(cli("line", "update", "alice2", "--expires", "2030-06-01T12:00+02:00", "--json"))
    assert offset["exp_at"] == "2030-06-01T10:00:00+00:00", "an offset is converted to UTC"

    entries = [e for e in audit(cli, "line") if e["action"] == "line.update"]
    assert len(entries) == 3
    before, after = entries[0]["before"], entries[0]["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert (before["username"], after["username"]) == ("alice", "alice2")
    assert (before["max_connections"], after["max_connections"]) == (2, 5)
    assert (before["owner_id"], after["owner_id"]) == (None, shop["id"])


def test_line_update_errors(cli: Run) -> None:
    cli("line", "add", "alice")
    cli("line", "add", "bob")
    nothing = cli("line", "update", "alice")
    assert (nothing.code, nothing.err[:43]) == (2, "headend: configuration error: nothing to ch")
    for args, message in (
        (["line", "update", "nobody", "--notes", "x"], "headend: no line named 'nobody'\n"),
        (["line", "update", "alice", "--owner", "ghost"], "headend: no admin account named 'ghost'\n"),
        (["line", "update", "alice", "--package", "Gold"], "headend: no package named 'Gold'\n"),
        (["line", "update", "alice", "--expires", "soon"],
         "headend: --expires 'soon' is not a date (YYYY-MM-DD[THH:MM])\n"),
    ):  # fmt: skip
        result = cli(*args)
        assert (result.code, result.err) == (1, message), args
    for args in (["--username", "bob"], ["--allow-ip", "not-an-ip"], ["--max-connections", "0"],
                 ["--username", "bad name"]):  # fmt: skip
        result = cli("line", "update", "alice", *args)
        assert result.code == 1, args
        assert result.err.startswith("headend: "), result.err
        assert result.err.count("\n") == 1
    assert one(cli("line", "show", "alice", "--json"))["allowed_ips"] == "any", "nothing was written"
    assert not [e for e in audit(cli, "line") if e["action"] == "line.update"]


def test_reseller_sale_and_renewal(cli: Run) -> None:
    cli("package", "add", "Basic", "--days", "30", "--max-connections", "2", "--credit-cost", "2")
    cli("package", "add", "Sport", "--credit-cost", "1")
    cli("package", "add", "Old", "--disabled")
    cli("admin", "create", "shop", "--role", "reseller", "--credits", "5", "--package", "Basic", "Old")
    cli("admin", "create", "desk", "--role", "support")
    sold = one(cli("line", "add", "bob", "--reseller", "shop", "--package", "Basic", "--password", "bob-pass-123",
                   "--notes", "hotel", "--json"))  # fmt: skip
    shop = next(a for a in cli("admin", "list", "--json").json() if a["username"] == "shop")
    assert (sold["owner_id"], sold["reseller"], sold["credits"], sold["packages"]) == (shop["id"], "shop", 3, "Basic")
    assert (sold["max_connections"], sold["notes"], sold["password"]) == (2, "hotel", "bob-pass-123")
    assert credits(cli, "shop") == 3
    generated = one(cli("line", "add", "carol", "--reseller", "shop", "--package", "Basic", "--json"))
    assert isinstance(generated["password"], str)
    assert len(generated["password"]) >= 8
    assert credits(cli, "shop") == 1

    for args, code, message in (
        (["carol2", "--package", "Basic"], 1, "headend: not enough credits\n"),
        (["dave", "--package", "Sport"], 1, "headend: package 2 is not one this reseller may sell\n"),
        (["dave", "--package", "Old"], 1, "headend: package 'Old' is disabled\n"),
        (["dave", "--package", "Basic", "--max-connections", "3"], 1,
         "headend: at most 2 connection(s) with package 'Basic'\n"),
        (["dave", "--package", "Basic", "--days", "3"], 2,
         "headend: configuration error: --days cannot be used with --reseller: the package sets them\n"),
        (["dave"], 2, "headend: configuration error: a sale on a reseller's behalf needs exactly one --package\n"),
        (["dave", "--package", "Basic", "--package", "Sport"], 2,
         "headend: configuration error: a sale on a reseller's behalf needs exactly one --package\n"),
    ):  # fmt: skip
        result = cli("line", "add", *args, "--reseller", "shop")
        assert (result.code, result.err) == (code, message), args
    not_reseller = cli("line", "add", "dave", "--reseller", "desk", "--package", "Basic")
    assert (not_reseller.code, not_reseller.err) == (1, "headend: desk is a support account, not a reseller\n")
    assert credits(cli, "shop") == 1, "a refused sale costs nothing"

    assert cli("admin", "credits", "shop", "4").code == 0
    before = one(cli("line", "show", "bob", "--json"))
    renewed = one(cli("line", "renew", "bob", "--reseller", "shop", "--json"))
    assert str(renewed["exp_at"]) > str(before["exp_at"])
    assert credits(cli, "shop") == 3
    operator_line = one(cli("line", "add", "erin", "--json"))
    foreign = cli("line", "renew", "erin", "--reseller", "shop")
    assert (foreign.code, foreign.err) == (1, f"headend: line {operator_line['id']} does not exist\n")
    days = cli("line", "renew", "bob", "--reseller", "shop", "--days", "3")
    assert days.code == 2
    assert cli("admin", "disable", "shop").code == 0
    disabled = cli("line", "add", "frank", "--reseller", "shop", "--package", "Basic")
    assert (disabled.code, disabled.err) == (1, "headend: reseller shop is disabled\n")
    assert credits(cli, "shop") == 3

    entries = audit(cli, "line")
    assert [e["action"] for e in entries] == ["line.create", "line.create", "line.renew", "line.create"]
    after = entries[0]["after"]
    assert isinstance(after, dict)
    assert (after["owner_id"], after["reseller"], after["credit_cost"], after["username"]) == (shop["id"], "shop", 2,
                                                                                                "bob")  # fmt: skip
    dumped = json.dumps(entries)
    assert "bob-pass-123" not in dumped
    assert str(generated["password"]) not in dumped


def test_existing_line_commands_are_audited(cli: Run) -> None:
    cli("package", "add", "Basic")
    password = one(cli("line", "add", "alice", "--package", "Basic", "--json"))["password"]
    for args in (["disable"], ["enable"], ["ban", "--reason", "resold"], ["unban"], ["renew", "--days", "3"]):
        assert cli("line", args[0], "alice", *args[1:]).code == 0, args
    new_password = one(cli("line", "reset-password", "alice", "--json"))["password"]
    assert cli("line", "delete", "alice").code == 0
    entries = audit(cli, "line")
    assert [e["action"] for e in entries] == ["line.create", "line.disable", "line.enable", "line.ban", "line.unban",
                                              "line.renew", "line.reset_password", "line.delete"]  # fmt: skip
    assert {e["object_id"] for e in entries} == {"1"}
    ban = entries[3]
    assert isinstance(ban["before"], dict)
    assert isinstance(ban["after"], dict)
    assert (ban["before"]["banned"], ban["after"]["banned"], ban["after"]["ban_reason"]) == (False, True, "resold")
    assert entries[-1]["after"] is None
    dumped = json.dumps(entries)
    assert str(password) not in dumped
    assert str(new_password) not in dumped


def test_package_and_bouquet_updates(cli: Run) -> None:
    cli("channel", "add", "One")
    cli("channel", "add", "Two")
    cli("bouquet", "add", "Main", "--channel", "1")
    cli("bouquet", "add", "Extra", "--channel", "2")
    made = one(cli("package", "add", "Basic", "--bouquet", "Main", "--credit-cost", "4", "--json"))
    assert made["credit_cost"] == 4
    changed = one(cli("package", "update", "Basic", "--name", "Plus", "--days", "60", "--max-connections", "3",
                      "--output", "ts", "--trial", "--disable", "--credit-cost", "9", "--bouquet", "Extra",
                      "--bouquet", "Main", "--json"))  # fmt: skip
    assert {k: changed[k] for k in ("name", "duration_days", "max_connections", "allowed_outputs", "is_trial",
                                    "enabled", "credit_cost", "bouquets")} == {
        "name": "Plus", "duration_days": 60, "max_connections": 3, "allowed_outputs": ["ts"], "is_trial": True,
        "enabled": False, "credit_cost": 9, "bouquets": "Extra,Main",
    }  # fmt: skip
    again = one(cli("package", "update", "Plus", "--enable", "--no-trial", "--no-bouquets", "--json"))
    assert (again["enabled"], again["is_trial"], again["bouquets"], again["credit_cost"]) == (True, False, "-", 9)
    assert one(cli("package", "set-bouquets", "Plus", "Main", "--json"))["bouquets"] == "Main"
    shown = cli("package", "show", "Plus")
    assert "CREDIT_COST" in shown.out.splitlines()[0]
    for args, code in ((["Plus"], 2), (["Gone", "--days", "3"], 1), (["Plus", "--credit-cost", "-1"], 1),
                       (["Plus", "--bouquet", "Nope"], 1)):  # fmt: skip
        result = cli("package", "update", *args)
        assert result.code == code, (args, result.err)
        assert result.err.startswith("headend: "), result.err

    moved = one(cli("bouquet", "update", "Extra", "--name", "Bonus", "--position", "5", "--json"))
    assert (moved["name"], moved["position"]) == ("Bonus", 5)
    taken = cli("bouquet", "update", "Bonus", "--name", "Main")
    assert taken.code == 1
    assert "Main" in taken.err
    assert cli("bouquet", "update", "Bonus").code == 2
    assert one(cli("bouquet", "set-channels", "Bonus", "1", "2", "--json"))["channel_ids"] == [1, 2]
    assert cli("bouquet", "delete", "Bonus").code == 0
    assert cli("package", "delete", "Plus").code == 0

    packages = audit(cli, "package")
    assert [e["action"] for e in packages] == ["package.create", "package.update", "package.update",
                                               "package.update", "package.delete"]  # fmt: skip
    first = packages[1]
    assert isinstance(first["before"], dict)
    assert isinstance(first["after"], dict)
    assert (first["before"]["credit_cost"], first["after"]["credit_cost"]) == (4, 9)
    assert (first["before"]["name"], first["after"]["name"]) == ("Basic", "Plus")
    bouquets = audit(cli, "bouquet")
    assert [e["action"] for e in bouquets] == ["bouquet.create", "bouquet.create", "bouquet.update",
                                               "bouquet.channels", "bouquet.delete"]  # fmt: skip
