"""load_secret: the configured key, else one file created once, atomically, owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.auth.secret import SECRET_FILE, load_secret
from headend.errors import ConfigError
from headend.settings import Settings


def _settings(tmp_path: Path, secret_key: str = "") -> Settings:
    base = settings_mod.load(env={})
    return settings_mod.replace(base, paths={"data_dir": tmp_path / "data"}, security={"secret_key": secret_key})


def test_the_configured_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    assert load_secret(_settings(tmp_path, "a-long-enough-operator-key")) == b"a-long-enough-operator-key"
    assert not (tmp_path / "data").exists()


def test_a_short_configured_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        load_secret(_settings(tmp_path, "short"))


def test_the_file_is_created_once_private_and_stable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = load_secret(settings)
    path = tmp_path / "data" / SECRET_FILE
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.hex()
    assert load_secret(settings) == first
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no temporary file left behind


def test_a_file_created_meanwhile_by_another_process_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from headend.auth import secret as secret_mod

    path = tmp_path / "data" / SECRET_FILE
    theirs = "ab" * 32
    real_create = secret_mod._create

    def race(target: Path) -> None:
        target.parent.mkdir(parents=True)
        target.write_text(theirs + "\n")  # the other process linked its key first
        real_create(target)

    monkeypatch.setattr(secret_mod, "_create", race)
    assert load_secret(_settings(tmp_path)) == bytes.fromhex(theirs)
    assert path.read_text().strip() == theirs


@pytest.mark.parametrize("content", ["not hex at all", "abcd", ""])
def test_a_damaged_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "data" / SECRET_FILE
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ConfigError, match="secret key"):
        load_secret(_settings(tmp_path))


def test_an_unwritable_data_dir_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the directory should be")
    with pytest.raises(ConfigError, match="cannot create the secret key"):
        load_secret(_settings(tmp_path))
