"""The command line: clear one-line errors (never a traceback), tables for people and JSON for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEADEND = [sys.executable, "-m", "headend"]


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEADEND_")}
    base["HEADEND_PATHS_DATA_DIR"] = str(tmp_path / "data")
    base.update(env or {})
    return subprocess.run([*HEADEND, *args], capture_output=True, text=True, env=base, check=False, timeout=60)


def test_channel_add_list_show_delete(tmp_path: Path) -> None:
    added = run(tmp_path, "channel", "add", "Lobby TV", "--number", "10", "--json",
                "--source", "http://user:secret@192.0.2.1/feed.ts", "--source", "testpattern:Lobby")  # fmt: skip
    assert added.returncode == 0, added.stderr
    channel = json.loads(added.stdout)[0]
    assert channel["name"] == "Lobby TV"
    assert channel["number"] == 10
    listed = run(tmp_path, "channel", "list")
    assert "Lobby TV" in listed.stdout
    assert listed.stdout.startswith("ID")
    shown = run(tmp_path, "channel", "show", str(channel["id"]))
    assert "testpattern" in shown.stdout
    assert "hls" not in shown.stdout
    assert "secret" not in shown.stdout, "source credentials must be redacted in listings"
    assert run(tmp_path, "channel", "delete", str(channel["id"])).returncode == 0
    assert run(tmp_path, "channel", "list", "--json").stdout.strip() == "[]"


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    for args in (
        ["channel", "add", "X", "--source", "gopher://example.org/feed"],
        ["channel", "add", "X", "--source", "relative/path.ts"],
        ["channel", "show", "12345"],
        ["channel", "add", "", "--source", "testpattern"],
    ):
        result = run(tmp_path, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("headend: "), result.stderr
        assert "Traceback" not in result.stderr


def test_config_errors_exit_2(tmp_path: Path) -> None:
    missing = run(tmp_path, "--config", str(tmp_path / "nope.toml"), "channel", "list")
    assert missing.returncode == 2
    assert "config file not found" in missing.stderr
    typo = run(tmp_path, "channel", "list", env={"HEADEND_HTTP_PROT": "1"})
    assert typo.returncode == 2
    assert "HEADEND_HTTP_PROT" in typo.stderr


def test_settings_markdown_matches_docs(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
    assert run(tmp_path, "settings", "--markdown").stdout == docs.read_text()
