"""``headend channel|category|profile``: what the panel and the REST API can do with channels, sources,
categories and profiles, from the command line through ``headend.cli.main`` — each change audited as ``cli``
under the REST API's action names, source credentials never shown or logged, errors in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli_admin import Result, Run, cli_runner

SECRET_URL = "http://user:hunter2@192.0.2.1/feed.ts"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    with cli_runner(tmp_path, monkeypatch, capsys) as run:
        yield run


def one(result: Result) -> dict[str, object]:
    rows = result.json()
    assert len(rows) == 1, rows
    return rows[0]


def audit(cli: Run) -> list[dict[str, object]]:
    """The command line's audit entries, oldest first."""
    return list(reversed(cli("audit", "list", "--actor", "cli", "--limit", "1000", "--json").json()))


def show(cli: Run, channel_id: object) -> tuple[dict[str, object], list[dict[str, object]]]:
    """``channel show --json``: the channel, and its sources in failover order (two JSON documents)."""
    shown = cli("channel", "show", str(channel_id), "--json")
    assert shown.code == 0, shown.err
    decoder = json.JSONDecoder()
    channels, end = decoder.raw_decode(shown.out)
    listed, _ = decoder.raw_decode(shown.out[end:].lstrip())
    return channels[0], listed


def sources(cli: Run, channel_id: object) -> list[tuple[object, object, object]]:
    """(id, position, enabled) of a channel's sources, in failover order."""
    return [(s["id"], s["position"], s["enabled"]) for s in show(cli, channel_id)[1]]


def test_channel_update(cli: Run) -> None:
    assert cli("category", "add", "News").code == 0
    assert (
        cli("profile", "add", "sd", "--mode", "transcode", "--video-bitrate", "1200", "--max-height", "480").code == 0
    )
    made = one(cli("channel", "add", "Lobby", "--number", "7", "--json"))
    assert (made["on_demand"], made["enabled"], made["category_id"]) == (True, True, None)

    changed = one(cli("channel", "update", str(made["id"]), "--name", "Lobby TV", "--number", "8", "--tvg-id",
                      "lobby.tv", "--logo", "https://img.example/lobby.png", "--category", "News", "--profile", "sd",
                      "--always-on", "--disable", "--json"))  # fmt: skip
    news = one(cli("category", "list", "--json"))
    sd = next(p for p in cli("profile", "list", "--json").json() if p["name"] == "sd")
    assert changed | {"created_at": None, "updated_at": None} == made | {
        "name": "Lobby TV", "number": 8, "tvg_id": "lobby.tv", "logo_url": "https://img.example/lobby.png",
        "category_id": news["id"], "profile_id": sd["id"], "on_demand": False, "enabled": False,
        "created_at": None, "updated_at": None,
    }  # fmt: skip

    only_name = one(cli("channel", "update", str(made["id"]), "--name", "Lobby", "--on-demand", "--enable", "--json"))
    kept = (only_name["name"], only_name["number"], only_name["on_demand"], only_name["enabled"])
    assert kept == ("Lobby", 8, True, True), "the options not given are unchanged"
    cleared = one(cli("channel", "update", str(made["id"]), "--number", "0", "--category", "", "--logo", "", "--json"))
    assert (cleared["number"], cleared["category_id"], cleared["logo_url"]) == (None, None, "")
    listed = cli("channel", "list", "--search", "lob", "--json").json()
    assert [c["id"] for c in listed] == [made["id"]]

    entries = [e for e in audit(cli) if e["action"] == "channel.update"]
    assert len(entries) == 3
    first = entries[0]
    assert first["object_type"] == "channel"
    assert first["object_id"] == str(made["id"])
    assert isinstance(first["before"], dict)
    assert isinstance(first["after"], dict)
    assert (first["before"]["name"], first["after"]["name"]) == ("Lobby", "Lobby TV")
    assert (first["before"]["on_demand"], first["after"]["on_demand"]) == (True, False)
    assert "updated_at" not in first["after"]


def test_channel_update_errors(cli: Run) -> None:
    channel = one(cli("channel", "add", "A", "--number", "1", "--json"))
    cli("channel", "add", "B", "--number", "2")
    cid = str(channel["id"])
    nothing = cli("channel", "update", cid)
    assert (nothing.code, nothing.err) == (2, "headend: configuration error: nothing to change: give at least one "
                                              "option (see --help)\n")  # fmt: skip
    for args, message in (
        (["channel", "update", "999", "--name", "X"], "headend: channel 999 does not exist\n"),
        (["channel", "update", cid, "--number", "2"], "headend: channel number 2 is taken by 'B'\n"),
        (["channel", "update", cid, "--category", "Sport"], "headend: no live category named 'Sport'\n"),
        (["channel", "update", cid, "--profile", "4k"], "headend: no profile named '4k'\n"),
        (["channel", "add", "C", "--category", "Sport"], "headend: no live category named 'Sport'\n"),
    ):
        result = cli(*args)
        assert (result.code, result.err) == (1, message), args
    bad_logo = cli("channel", "update", cid, "--logo", "javascript:alert(1)")
    assert bad_logo.code == 1
    assert bad_logo.err.startswith("headend: ")
    assert bad_logo.err.count("\n") == 1
    assert show(cli, cid)[0]["logo_url"] == "", "nothing was written"
    assert not [e for e in audit(cli) if e["action"] == "channel.update"], "a refused change is not audited"


def test_sources_in_failover_order(cli: Run) -> None:
    channel = one(cli("channel", "add", "News", "--source", "testpattern:One", "--source", SECRET_URL, "--json"))
    cid = channel["id"]
    (first, _, _), (second, _, _) = sources(cli, cid)

    added = one(cli("channel", "add-source", str(cid), "testpattern:Zero", "--position", "0", "--user-agent", "VLC/3",
                    "--disabled", "--json"))  # fmt: skip
    assert (added["position"], added["enabled"], added["user_agent"], added["label"]) == (0, False, "VLC/3", "Zero")
    assert sources(cli, cid) == [(added["id"], 0, False), (first, 1, True), (second, 2, True)]

    moved = cli("channel", "move-source", str(second), "0", "--json").json()
    assert [(s["id"], s["position"]) for s in moved] == [(second, 0), (added["id"], 1), (first, 2)]
    assert "hunter2" not in json.dumps(moved), "source credentials are redacted"
    assert cli("channel", "move-source", str(second), "99").code == 0  # past the end: last
    assert sources(cli, cid)[-1] == (second, 2, True)

    assert cli("channel", "enable-source", str(added["id"])).code == 0
    assert cli("channel", "disable-source", str(first)).code == 0
    assert sources(cli, cid) == [(added["id"], 0, True), (first, 1, False), (second, 2, True)]

    labelled = one(cli("channel", "add-source", str(cid), "https://backup.example/b.ts", "--label", "Backup",
                       "--reconnect", "--json"))  # fmt: skip
    options = (labelled["label"], labelled["reconnect"], labelled["kind"], labelled["position"])
    assert options == ("Backup", True, "http", 3)
    assert cli("channel", "remove-source", str(labelled["id"])).code == 0
    removed = cli("channel", "remove-source", str(added["id"]))
    assert (removed.code, removed.out) == (0, f"source {added['id']} removed from channel {cid}\n")
    assert sources(cli, cid) == [(first, 0, False), (second, 1, True)]
    shown = cli("channel", "show", str(cid))
    assert "hunter2" not in shown.out
    assert "testpattern" in shown.out

    for args in (["remove-source", "999"], ["move-source", "999", "0"], ["enable-source", "999"],
                 ["disable-source", "0"]):  # fmt: skip
        result = cli("channel", *args)
        assert result.code == 1, args
        assert result.err.startswith("headend: source "), result.err
        assert result.err.endswith(" does not exist\n"), result.err
    negative = cli("channel", "move-source", str(first), "-1")
    assert negative.code == 1
    assert negative.err.startswith("headend: new_position")
    bad = cli("channel", "add-source", str(cid), "gopher://example.org/x")
    assert bad.code == 1
    assert bad.err.startswith("headend: ")

    actions = [(e["action"], e["object_type"]) for e in audit(cli)]
    assert actions == [("channel.create", "channel"), ("source.create", "source"), ("source.create", "source"),
                       ("source.create", "source"), ("source.update", "source"), ("source.update", "source"),
                       ("source.update", "source"), ("source.update", "source"), ("source.create", "source"),
                       ("source.delete", "source"), ("source.delete", "source")]  # fmt: skip
    logged = json.dumps(audit(cli))
    assert "hunter2" not in logged, "no credential reaches the audit log"
    assert "192.0.2.1" in logged, "the redacted URL is still recorded"
    move = next(e for e in audit(cli) if e["action"] == "source.update")
    assert isinstance(move["before"], dict)
    assert isinstance(move["after"], dict)
    assert (move["before"]["position"], move["after"]["position"]) == (2, 0)


def test_categories(cli: Run) -> None:
    assert one(cli("category", "add", "News", "--json"))["position"] == 0
    assert one(cli("category", "add", "Sport", "--json"))["position"] == 1
    assert one(cli("category", "add", "News", "--kind", "movie", "--json"))["kind"] == "movie"
    assert [c["name"] for c in cli("category", "list", "--json").json()] == ["News", "Sport"]
    assert [c["name"] for c in cli("category", "list", "--kind", "movie", "--json").json()] == ["News"]
    assert cli("category", "list").out.splitlines()[0].split() == ["ID", "KIND", "NAME", "POSITION"]

    duplicate = cli("category", "add", "News")
    assert (duplicate.code, duplicate.err) == (1, "headend: a live category named 'News' already exists\n")
    empty = cli("category", "add", "")
    assert empty.code == 1
    assert empty.err.startswith("headend: name")

    channel = one(cli("channel", "add", "Ch", "--category", "Sport", "--json"))
    deleted = cli("category", "delete", "Sport")
    assert (deleted.code, deleted.out) == (0, "live category Sport deleted\n")
    assert show(cli, channel["id"])[0]["category_id"] is None, "its channels keep existing without one"
    missing = cli("category", "delete", "Sport")
    assert (missing.code, missing.err) == (1, "headend: no live category named 'Sport'\n")
    assert [c["name"] for c in cli("category", "list", "--kind", "movie", "--json").json()] == ["News"]

    entries = [(e["action"], e["before"], e["after"]) for e in audit(cli) if e["object_type"] == "category"]
    assert [a for a, _, _ in entries] == ["category.create"] * 3 + ["category.delete"]
    assert entries[0][2] == {"id": 1, "kind": "live", "name": "News", "position": 0}
    assert entries[-1][1] == {"id": 2, "kind": "live", "name": "Sport", "position": 1}


def test_profiles(cli: Run) -> None:
    listed = cli("profile", "list", "--json").json()
    assert "remux" in [p["name"] for p in listed]
    made = one(cli("profile", "add", "mobile", "--mode", "transcode", "--video-bitrate", "800", "--max-height",
                   "360", "--fps", "30", "--gop-seconds", "1", "--preset", "faster", "--audio-bitrate", "96",
                   "--json"))  # fmt: skip
    assert {k: made[k] for k in ("name", "mode", "video_bitrate_kbps", "max_height", "fps", "gop_seconds",
                                 "x264_preset", "audio_bitrate_kbps")} == {
        "name": "mobile", "mode": "transcode", "video_bitrate_kbps": 800, "max_height": 360, "fps": 30,
        "gop_seconds": 1.0, "x264_preset": "faster", "audio_bitrate_kbps": 96,
    }  # fmt: skip
    channel = one(cli("channel", "add", "Phone", "--profile", "mobile", "--json"))
    assert channel["profile_id"] == made["id"]

    duplicate = cli("profile", "add", "mobile")
    assert (duplicate.code, duplicate.err) == (1, "headend: a profile named 'mobile' already exists\n")
    low = cli("profile", "add", "tiny", "--video-bitrate", "10")
    assert low.code == 1
    assert low.err.startswith("headend: ")
    assert "video_bitrate_kbps" in low.err
    entries = [e for e in audit(cli) if e["object_type"] == "profile"]
    assert [e["action"] for e in entries] == ["profile.create"]
    assert isinstance(entries[0]["after"], dict)
    assert entries[0]["after"]["name"] == "mobile"


def test_add_delete_and_import_are_audited(cli: Run, tmp_path: Path) -> None:
    channel = one(cli("channel", "add", "X", "--source", SECRET_URL, "--disabled", "--json"))
    assert channel["enabled"] is False
    assert cli("channel", "delete", str(channel["id"])).code == 0
    playlist = tmp_path / "list.m3u"
    playlist.write_text("#EXTM3U\n#EXTINF:-1,One\ntestpattern:One\n#EXTINF:-1,Two\nudp://239.1.1.1:1234\n")
    assert cli("channel", "import-m3u", str(playlist), "--dry-run").code == 0
    assert cli("channel", "import-m3u", str(playlist)).code == 0
    entries = audit(cli)
    assert [(e["action"], e["object_type"]) for e in entries] == [
        ("channel.create", "channel"), ("source.create", "source"), ("channel.delete", "channel"),
        ("channel.import", "channel"), ("channel.import", "channel"),
    ]  # fmt: skip
    assert all(e["actor"] == "cli" and e["actor_id"] is None for e in entries)
    deleted = entries[2]
    assert isinstance(deleted["before"], dict)
    assert deleted["before"]["name"] == "X"
    dry, real = entries[3]["after"], entries[4]["after"]
    assert isinstance(dry, dict)
    assert isinstance(real, dict)
    assert (dry["dry_run"], dry["channels_created"], dry["file"]) == (True, 2, "list.m3u")
    assert (real["dry_run"], real["channels_created"], real["sources_added"]) == (False, 2, 0)
    assert "hunter2" not in json.dumps(entries)
