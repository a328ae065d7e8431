"""Input values validate themselves on construction (pure: no database needed)."""

from __future__ import annotations

from typing import Any

import pytest

from headend.catalog.records import (
    UNSET,
    ChannelInput,
    ChannelPatch,
    ProfileRecord,
    SourceInput,
    check_profile,
)
from headend.errors import ValidationError
from headend.ingest.sources import Profile, ProfileMode, SourceKind, SourceSpec


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": " \t"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "line\nbreak"}, "name"),  # would split an #EXTINF line
        ({"name": "c1\x9bcontrol"}, "name"),
        ({"name": 5}, "name"),
        ({"number": 0}, "number"),
        ({"number": 2**31}, "number"),
        ({"number": True}, "number"),
        ({"number": "5"}, "number"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url"),
        ({"logo_url": "data:image/png;base64,AAAA"}, "logo_url"),
        ({"logo_url": "http://"}, "logo_url"),
        ({"logo_url": "https://x/a b.png"}, "logo_url"),
        ({"logo_url": "https://x/" + "a" * 2048}, "logo_url"),
        ({"tvg_id": "t" * 201}, "tvg_id"),
        ({"category_id": 0}, "category_id"),
        ({"profile_id": -3}, "profile_id"),
        ({"on_demand": "yes"}, "on_demand"),
        ({"enabled": 1}, "enabled"),
    ],
)
def test_channel_input_refuses(fields: dict[str, Any], field: str) -> None:
    values = {"name": "News"} | fields
    with pytest.raises(ValidationError) as info:
        ChannelInput(**values)
    assert info.value.field == field
    with pytest.raises(ValidationError):
        ChannelPatch(**fields)


def test_channel_input_accepts_the_edges() -> None:
    channel = ChannelInput(name="N" * 200, number=2**31 - 1, logo_url="HTTPS://img.example/a.png", tvg_id="")
    assert channel.number == 2**31 - 1


def test_patch_lists_only_what_is_set() -> None:
    assert ChannelPatch().changes() == {}
    assert ChannelPatch(number=None, enabled=False).changes() == {"number": None, "enabled": False}
    assert repr(UNSET) == "UNSET"


def test_source_input_becomes_a_spec() -> None:
    source = SourceInput(kind="hls", url="https://up/live.m3u8", label="main", reconnect=True, user_agent="UA")
    assert source.spec() == SourceSpec(
        SourceKind.HLS, url="https://up/live.m3u8", label="main", reconnect=True, user_agent="UA"
    )
    assert SourceInput(kind=SourceKind.TESTPATTERN).spec().kind is SourceKind.TESTPATTERN


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "gopher"}, "kind"),
        ({"kind": "http", "url": "http://x/\r\n"}, "url"),
        ({"kind": "http", "url": "http://x/" + "a" * 4096}, "url"),
        ({"kind": "http", "url": "http://x/", "user_agent": "u" * 513}, "user_agent"),
        ({"kind": "http", "url": "http://x/", "reconnect": "yes"}, "reconnect"),
        ({"kind": "http", "url": "http://x/", "enabled": None}, "enabled"),
        ({"kind": "udp", "url": "http://x/"}, "url"),
    ],
)
def test_source_input_refuses(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SourceInput(**fields)
    assert info.value.field == field


def test_check_profile() -> None:
    assert check_profile(Profile()) == Profile()
    with pytest.raises(ValidationError):
        check_profile(Profile(name="x", fps=25.5))  # type: ignore[arg-type]
    record = ProfileRecord(id=1, profile=Profile(name="sd", mode=ProfileMode.TRANSCODE))
    assert record.name == "sd"
