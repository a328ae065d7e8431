"""``headend epg``: the operator's guide workflow through ``headend.cli.main``: sources, a refresh with its
progress line and summary, the exit code of a failed refresh, mapping, a channel's guide in the operator's
timezone, and one-line errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from headend.cli import main
from tests.epg.guide_server import GuideServer
from tests.epg.guides import schedule, xmltv


@dataclass
class Result:
    code: int
    out: str
    err: str

    def rows(self) -> list[dict[str, object]]:
        assert self.code == 0, self.err
        rows: list[dict[str, object]] = json.loads(self.out)
        return rows


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str) -> Result:
        self._capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = self._capsys.readouterr()
        code = exited.value.code
        return Result(code if isinstance(code, int) else 1, out, err)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    import os

    for name in [n for n in os.environ if n.startswith("HEADEND_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HEADEND_PATHS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEADEND_SUBSCRIBERS_TIMEZONE", "Asia/Kolkata")  # +05:30: shows the conversion
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield Cli(capsys)
    finally:  # main() sets up logging for a process; give pytest its handlers back
        root.handlers[:] = handlers
        root.setLevel(level)


NOW = datetime.now(UTC).replace(second=0, microsecond=0)
CHANNELS = [("a.tv", "Alpha"), ("b.tv", "Bravo"), ("x.tv", "Xray")]


def guide(prefix: str = "") -> bytes:
    shows = []
    for guide_id, _ in CHANNELS:
        shows += schedule(guide_id, NOW - timedelta(minutes=10), 8, prefix=prefix)
    text = xmltv(CHANNELS, shows).decode()
    bad = '<programme start="soon" channel="a.tv"><title>Bad time</title></programme>\n'
    return text.replace("</tv>", bad + "</tv>").encode()


def add_channels(cli: Cli) -> tuple[int, int, int]:
    ids = []
    for args in (["Alpha TV", "--tvg-id", "a.tv"], ["Bravo HD"], ["Charlie"]):
        rows = cli("channel", "add", *args, "--json").rows()
        ids.append(int(str(rows[0]["id"])))
    return ids[0], ids[1], ids[2]


def test_file_source_refresh_show_map_and_remove(cli: Cli, tmp_path: Path) -> None:
    alpha, bravo, charlie = add_channels(cli)
    (tmp_path / "my guide.xml").write_bytes(guide())

    added = cli("epg", "add-source", "Main guide", "--file", str(tmp_path / "my guide.xml"), "--refresh-hours", "12")
    assert added.code == 0, added.err
    assert added.out.split()[:3] == ["ID", "NAME", "KIND"]
    assert "my-guide.xml" in added.out
    assert (tmp_path / "data" / "epg" / "my-guide.xml").read_bytes() == guide(), "copied into the managed dir"
    assert "headend epg refresh 'Main guide'" in added.err
    (listed,) = cli("epg", "list", "--json").rows()
    assert (listed["last_status"], listed["refresh_hours"], listed["programmes"]) == ("never", 12, 0)

    refreshed = cli("epg", "refresh", "Main guide")
    assert refreshed.code == 0, refreshed.err
    header, row = refreshed.out.splitlines()
    assert header.split() == ["SOURCE", "STATUS", "GUIDE_CHANNELS", "CHANNELS_MATCHED", "PROGRAMMES_READ",
                              "PROGRAMMES_STORED", "SKIPPED", "PROBLEMS", "MIB", "SECONDS"]  # fmt: skip
    assert row.split()[2:9] == ["ok", "3", "2", "24", "16", "8", "1"]
    assert "\r  Main guide: " in refreshed.err
    assert "24 programmes read, 16 stored" in refreshed.err, "the progress line"
    bad_line = guide().decode().count("\n", 0, guide().decode().index('start="soon"')) + 1
    assert f"Main guide:{bad_line}: " in refreshed.err
    assert "'soon'" in refreshed.err

    (listed,) = cli("epg", "list", "--json").rows()
    assert (listed["last_status"], listed["channels_matched"], listed["programmes"]) == ("ok", 2, 16)

    shown = cli("epg", "show", str(alpha), "--hours", "2")
    assert shown.code == 0, shown.err
    assert "times in Asia/Kolkata" in shown.out
    first_start = (NOW - timedelta(minutes=10)).astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M")
    assert first_start in shown.out, "times are shown in the operator timezone"
    assert "a.tv #0" in shown.out
    shows = cli("epg", "show", str(alpha), "--hours", "1", "--json").rows()
    assert [s["title"] for s in shows] == ["a.tv #0", "a.tv #1", "a.tv #2"]
    assert shows[0]["categories"] == "News"

    unmatched = cli("epg", "unmatched", "--json").rows()
    assert [u["id"] for u in unmatched] == [charlie]
    mapped = cli("epg", "map", str(charlie), "x.tv", "--source", "Main guide", "--json").rows()
    assert mapped == [{"channel_id": charlie, "channel": "Charlie", "guide_id": "x.tv", "source": "Main guide"}]
    assert cli("epg", "refresh", "--all").code == 0
    assert cli("epg", "unmatched", "--json").rows() == []
    assert cli("epg", "show", str(charlie), "--hours", "1", "--json").rows()[0]["title"] == "x.tv #0"
    assert cli("epg", "map", str(charlie), "--clear").out.strip() == f"channel {charlie} (Charlie): mapping cleared"
    assert [s["title"] for s in cli("epg", "show", str(bravo), "--hours", "1", "--json").rows()][:1] == ["b.tv #0"]

    removed = cli("epg", "remove-source", "Main guide")
    assert removed.out.strip() == "EPG source Main guide deleted"
    assert cli("epg", "list", "--json").rows() == []
    assert not (tmp_path / "data" / "epg" / "my-guide.xml").exists(), "its managed file is deleted too"


def test_a_failed_refresh_exits_1_and_keeps_the_guide(cli: Cli) -> None:
    alpha, _, _ = add_channels(cli)
    with GuideServer() as server:
        server.route("/guide.xml", body=guide())
        url = server.url("/guide.xml?token=s3cr3t")
        assert cli("epg", "add-source", "Remote", "--url", url).code == 0
        assert cli("epg", "refresh", "Remote").code == 0
        before = cli("epg", "show", str(alpha), "--json").rows()
        assert len(before) == 8

        server.route("/guide.xml", body=guide("new ").replace(b"</tv>", b"<programme start=<<"))
        failed = cli("epg", "refresh", "Remote", "--json")
        assert failed.code == 1
        (report,) = json.loads(failed.out)
        assert report["status"] == "failed"
        assert "syntax error" in report["message"]
        last = failed.err.splitlines()[-1]
        assert last.startswith("headend: EPG source Remote failed: XMLTV syntax error at line"), failed.err
        assert "WARNING" not in failed.err, "one message for one failure"
        assert cli("epg", "show", str(alpha), "--json").rows() == before, "the previous guide stays"

        server.route("/guide.xml", status=404, body=b"gone")
        gone = cli("epg", "refresh", "--all")
        assert gone.code == 1
        assert "answered HTTP 404" in gone.err
        assert "s3cr3t" not in gone.err + gone.out, "credentials in the URL are redacted"
        (listed,) = cli("epg", "list", "--json").rows()
        assert listed["last_status"] == "failed"
        assert "s3cr3t" not in json.dumps(listed)
        assert listed["programmes"] == 16


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["epg", "refresh", "nope"], 1, "headend: no EPG source named 'nope'"),
        (["epg", "refresh"], 2, "headend: configuration error: name the sources to refresh, or use --all"),
        (["epg", "add-source", "X", "--url", "ftp://example.org/g.xml"], 1, "headend: location must be an http(s) URL"),
        (["epg", "add-source", "X", "--file", "/nonexistent/g.xml"], 1, "headend: cannot read /nonexistent/g.xml"),
        (["epg", "map", "1"], 2, "headend: configuration error: give either a GUIDE_ID or --clear"),
        (["epg", "map", "999", "x.tv"], 1, "headend: channel 999"),
        (["epg", "show", "999"], 1, "headend: channel 999"),
        (["epg", "show", "1", "--hours", "0"], 1, "headend: --hours must be between 1 and 744"),
        (["epg", "remove-source", "nope"], 1, "headend: no EPG source named 'nope'"),
    ],
)
def test_errors_are_one_line(cli: Cli, args: list[str], code: int, message: str) -> None:
    cli("channel", "add", "One")
    result = cli(*args)
    assert result.code == code, result.err
    assert result.err.startswith(message), result.err
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err
