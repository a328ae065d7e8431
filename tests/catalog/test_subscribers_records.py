"""Subscriber inputs validate themselves on construction; records compute status; no database here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from headend.catalog.records import UNSET
from headend.catalog.subscriber_records import (
    Entitlement,
    LineInput,
    LinePatch,
    LineRecord,
    LineStatus,
    PackageInput,
    PackagePatch,
)
from headend.errors import ValidationError
from headend.types import ChannelId

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("username", ["a", "alice", "A.B_c-d@example.org", "x" * 64, "007"])
def test_usernames_that_are_url_path_safe_are_accepted(username: str) -> None:
    assert LineInput(username=username).username == username


@pytest.mark.parametrize(
    "username",
    [
        "",
        "x" * 65,
        "has space",
        "slash/name",
        "new\nline",
        "ünï",
        "a:b",
        "a?b",
        "a%2f",
        "trailing\n",
        7,
        None,
        ".",
        "..",
        "...",
    ],
)
def test_bad_usernames_are_refused(username: Any) -> None:
    with pytest.raises(ValidationError) as info:
        LineInput(username=username)
    assert info.value.field == "username"


@pytest.mark.parametrize(
    "password", ["short", "x" * 65, "has space", "a/b/c/d/e", "pässwörd1", "pass\x00word", "p%2fpassword"]
)
def test_bad_given_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError) as info:
        LineInput(username="alice", password=password)
    assert info.value.field == "password"


def test_the_password_never_appears_in_repr() -> None:
    assert "s3cret-Passw0rd" not in repr(LineInput(username="alice", password="s3cret-Passw0rd"))


def test_lists_are_normalised_to_unique_tuples() -> None:
    data = LineInput(
        username="alice",
        package_ids=[3, 1, 3],  # type: ignore[arg-type]
        allowed_outputs=["m3u8", "ts", "m3u8"],  # type: ignore[arg-type]
        allowed_ips=["10.1.2.3/8", "192.0.2.7", " 2001:db8::1/128 ", "10.0.0.0/8"],  # type: ignore[arg-type]
        allowed_user_agents=("VLC", "VLC", "TiviMate"),
    )
    assert data.package_ids == (3, 1)
    assert data.allowed_outputs == ("m3u8", "ts")
    assert data.allowed_ips == ("10.0.0.0/8", "192.0.2.7", "2001:db8::1")
    assert data.allowed_user_agents == ("VLC", "TiviMate")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"allowed_outputs": ("rtmp",)}, "allowed_outputs"),
        ({"allowed_outputs": ()}, "allowed_outputs"),
        ({"allowed_outputs": "ts"}, "allowed_outputs"),
        ({"allowed_ips": ("10.0.0.300",)}, "allowed_ips"),
        ({"allowed_ips": ("example.org",)}, "allowed_ips"),
        ({"allowed_ips": tuple(f"10.0.0.{i}" for i in range(101))}, "allowed_ips"),
        ({"allowed_user_agents": ("",)}, "allowed_user_agents"),
        ({"allowed_user_agents": ("VLC\r\nX-Evil: 1",)}, "allowed_user_agents"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": True}, "max_connections"),
        ({"days": 0}, "days"),
        ({"days": 5, "exp_at": NOW}, "days"),
        ({"exp_at": datetime(2026, 1, 1)}, "exp_at"),  # noqa: DTZ001 - naive: the point of the test
        ({"package_ids": (0,)}, "package_ids"),
        ({"package_ids": ("1",)}, "package_ids"),
        ({"notes": "x" * 2001}, "notes"),
        ({"is_trial": "yes"}, "is_trial"),
    ],
)
def test_bad_line_settings_name_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        LineInput(username="alice", **values)
    assert info.value.field == field


def test_exp_at_is_converted_to_utc() -> None:
    paris = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert LineInput(username="a", exp_at=paris).exp_at == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_patch_lists_only_what_is_set_and_checks_it() -> None:
    assert LinePatch().changes() == {}
    assert LinePatch(exp_at=None, notes="vip").changes() == {"exp_at": None, "notes": "vip"}
    for bad in ({"max_connections": None}, {"allowed_outputs": None}, {"is_trial": None}, {"username": "a b"}):
        with pytest.raises(ValidationError):
            LinePatch(**bad)


def test_package_inputs_are_checked() -> None:
    assert PackageInput(name="Basic").allowed_outputs == ("ts", "m3u8")
    for bad in ({"name": " "}, {"duration_days": 0}, {"max_connections": 1001}, {"bouquet_ids": (-1,)}):
        with pytest.raises(ValidationError):
            PackageInput(**{"name": "Basic"} | bad)
    assert PackagePatch(enabled=False).changes() == {"enabled": False}
    assert PackagePatch().name is UNSET


def _record(**values: Any) -> LineRecord:
    base: dict[str, Any] = {
        "id": 1, "username": "alice", "exp_at": None, "enabled": True, "banned": False, "ban_reason": "",
        "is_trial": False, "max_connections": 1, "allowed_outputs": ("ts",), "allowed_ips": (),
        "allowed_user_agents": (), "notes": "", "created_at": NOW, "last_seen_at": None, "package_ids": (),
    }  # fmt: skip
    return LineRecord(**base | values)


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({}, LineStatus.ACTIVE),
        ({"exp_at": NOW + timedelta(seconds=1)}, LineStatus.ACTIVE),
        ({"exp_at": NOW}, LineStatus.EXPIRED),
        ({"exp_at": NOW, "enabled": False}, LineStatus.DISABLED),
        ({"exp_at": NOW, "enabled": False, "banned": True}, LineStatus.BANNED),
        ({"banned": True}, LineStatus.BANNED),
    ],
)
def test_status_precedence_banned_disabled_expired_active(values: dict[str, Any], status: LineStatus) -> None:
    assert _record(**values).status(NOW) is status


def test_status_values_are_the_xtream_strings() -> None:
    assert [s.value for s in LineStatus] == ["Active", "Banned", "Disabled", "Expired"]


def test_entitlement_membership() -> None:
    entitlement = Entitlement(line_id=1, channel_ids=(ChannelId(5), ChannelId(2)), key="k")
    assert entitlement.allows(5)
    assert not entitlement.allows(3)
    assert entitlement == Entitlement(line_id=1, channel_ids=(ChannelId(5), ChannelId(2)), key="k")
