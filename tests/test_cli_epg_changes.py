"""``headend epg update-source|mappings`` and the audit trail of every EPG change made on the command line
(``epg_source.create/update/refresh/delete``, ``epg_override.set/clear``; locations redacted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.epg.guides import schedule, xmltv
from tests.test_cli_admin import Result, Run, cli_runner

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    with cli_runner(tmp_path, monkeypatch, capsys) as run:
        yield run


def one(result: Result) -> dict[str, object]:
    rows = result.json()
    assert len(rows) == 1, rows
    return rows[0]


def guide(guide_id: str) -> bytes:
    return xmltv([(guide_id, guide_id.upper())], schedule(guide_id, NOW - timedelta(minutes=10), 4))


def test_update_source(cli: Run, tmp_path: Path) -> None:
    url = "https://user:s3cr3t@epg.example/guide.xml"
    assert cli("epg", "add-source", "Remote", "--url", url).code == 0
    changed = one(cli("epg", "update-source", "Remote", "--name", "Provider", "--url",
                      "https://epg.example/other.xml?token=t0ps3cr3t", "--refresh-hours", "6", "--priority", "5",
                      "--disable", "--json"))  # fmt: skip
    settings = (changed["name"], changed["refresh_hours"], changed["priority"], changed["enabled"])
    assert settings == ("Provider", 6, 5, False)
    assert "t0ps3cr3t" not in json.dumps(changed), "credentials are redacted"
    assert str(changed["location"]).startswith("https://epg.example/other.xml")
    assert one(cli("epg", "update-source", "Provider", "--enable", "--json"))["enabled"] is True

    (tmp_path / "a.xml").write_bytes(guide("a.tv"))
    (tmp_path / "b.xml").write_bytes(guide("b.tv"))
    assert cli("epg", "add-source", "Local", "--file", str(tmp_path / "a.xml")).code == 0
    managed = tmp_path / "data" / "epg"
    assert (managed / "a.xml").exists()
    replaced = one(cli("epg", "update-source", "Local", "--file", str(tmp_path / "b.xml"), "--json"))
    assert replaced["location"] == "b.xml"
    assert (managed / "b.xml").read_bytes() == guide("b.tv")
    assert not (managed / "a.xml").exists(), "the old copy goes once no source uses it"

    for args, code, message in (
        (["Local"], 2, "headend: configuration error: nothing to change"),
        (["Local", "--url", "https://epg.example/x.xml"], 1, "headend: EPG source Local is a file source"),
        (["Provider", "--file", str(tmp_path / "a.xml")], 1, "headend: EPG source Provider is a url source"),
        (["Provider", "--name", "Local"], 1, "headend: "),
        (["Provider", "--refresh-hours", "-1"], 1, "headend: "),
        (["Nope", "--priority", "1"], 1, "headend: no EPG source named 'Nope'"),
    ):
        result = cli("epg", "update-source", *args)
        assert result.code == code, (args, result.err)
        assert result.err.startswith(message), result.err
        assert result.err.count("\n") == 1
    assert sorted(p.name for p in managed.iterdir() if not p.name.startswith(".")) == ["b.xml"]


def test_epg_changes_are_audited(cli: Run, tmp_path: Path) -> None:
    channel = one(cli("channel", "add", "Alpha", "--json"))
    (tmp_path / "g.xml").write_bytes(guide("a.tv"))
    cli("epg", "add-source", "Local", "--file", str(tmp_path / "g.xml"))
    cli("epg", "add-source", "Remote", "--url", "https://epg.example/g.xml?password=pw123456")
    cli("epg", "update-source", "Remote", "--priority", "1")
    assert cli("epg", "map", str(channel["id"]), "a.tv", "--source", "Local").code == 0
    mappings = cli("epg", "mappings", "--json").json()
    assert mappings == [{"channel_id": channel["id"], "channel": "Alpha", "guide_id": "a.tv", "source": "Local"}]
    assert cli("epg", "refresh", "Local").code == 0
    assert cli("epg", "map", str(channel["id"]), "--clear").code == 0
    assert cli("epg", "mappings", "--json").json() == []
    assert cli("epg", "remove-source", "Remote").code == 0

    entries = list(reversed(cli("audit", "list", "--actor", "cli", "--limit", "100", "--json").json()))
    assert [(e["action"], e["object_type"]) for e in entries[1:]] == [
        ("epg_source.create", "epg_source"), ("epg_source.create", "epg_source"),
        ("epg_source.update", "epg_source"), ("epg_override.set", "channel"), ("epg_source.refresh", "epg_source"),
        ("epg_override.clear", "channel"), ("epg_source.delete", "epg_source"),
    ]  # fmt: skip
    update = entries[3]
    assert isinstance(update["before"], dict)
    assert isinstance(update["after"], dict)
    assert (update["before"]["priority"], update["after"]["priority"]) == (100, 1)
    assert entries[4]["after"] == {"channel_id": channel["id"], "guide_id": "a.tv", "source_id": 1}
    assert entries[6]["before"] == {"channel_id": channel["id"], "guide_id": "a.tv", "source_id": 1}
    assert "pw123456" not in json.dumps(entries), "locations are redacted in the audit log"
