"""`headend channel import-m3u`: sources become channels, repeats become backups, bad lines are named."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import run

PLAYLIST = """#EXTM3U
#EXTINF:-1 tvg-id="news.ex" tvg-chno="5" tvg-logo="http://l/n.png" group-title="Info",News
http://192.0.2.1/news.ts
#EXTINF:-1 group-title="Info",News
https://backup.example/news.m3u8
#EXTINF:-1,Bad scheme
gopher://example.org/x
#EXTINF:-1 group-title="Music",Radio
udp://239.0.0.1:1234
#EXTINF:-1,Injected\r-i /etc/passwd
http://192.0.2.1/x.ts
"""


def test_import_creates_channels_backups_and_reports_bad_lines(tmp_path: Path) -> None:
    m3u = tmp_path / "sources.m3u"
    m3u.write_text(PLAYLIST)
    dry = run(tmp_path, "channel", "import-m3u", str(m3u), "--dry-run", "--json")
    assert json.loads(dry.stdout)[0]["channels_created"] == 2
    assert json.loads(run(tmp_path, "channel", "list", "--json").stdout) == []

    first = run(tmp_path, "channel", "import-m3u", str(m3u), "--json")
    assert first.returncode == 1, "problems make the exit code non-zero"
    report = json.loads(first.stdout)[0]
    # the CR splits "-i /etc/passwd" onto a line of its own: refused as a source, never an ffmpeg argument
    assert report == {"entries": 6, "channels_created": 2, "sources_added": 1, "unchanged": 0, "problems": 3}
    assert f"{m3u}:7: unsupported source 'gopher" in first.stderr
    assert f"{m3u}:10: unsupported source '-i /etc/passwd'" in first.stderr
    assert f"{m3u}:11: entry has no channel name" in first.stderr

    channels = json.loads(run(tmp_path, "channel", "list", "--json").stdout)
    assert [(c["name"], c["number"], c["tvg_id"]) for c in channels] == [("News", 5, "news.ex"), ("Radio", None, "")]
    shown = run(tmp_path, "channel", "show", str(channels[0]["id"]))
    assert "backup.example" in shown.stdout
    assert "hls" in shown.stdout

    again = json.loads(run(tmp_path, "channel", "import-m3u", str(m3u), "--json").stdout)[0]
    assert (again["channels_created"], again["sources_added"], again["unchanged"]) == (0, 0, 3)


def test_import_refuses_missing_and_oversized_files(tmp_path: Path) -> None:
    missing = run(tmp_path, "channel", "import-m3u", str(tmp_path / "nope.m3u"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    big = tmp_path / "big.m3u"
    big.write_bytes(b"#EXTM3U\n" * 1000)
    refused = run(tmp_path, "channel", "import-m3u", str(big), "--max-bytes", "100")
    assert refused.returncode == 2
    assert "more than --max-bytes" in refused.stderr
