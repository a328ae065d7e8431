"""Our answers re-parsed the way the strict clients of the contract parse them (§1.2, §1.4, §1.5, §1.14)."""

from __future__ import annotations

from typing import Any

import pytest
from pyxtream.schemaValidator import SchemaType, schemaValidator

from headend.catalog.subscriber_records import LinePatch
from tests.api.clients import (
    GO_CATEGORY,
    GO_STREAM,
    GoDecodeError,
    go_decode,
    go_decode_login,
    jellyfin_string_bool,
    pyxtream_login,
    pyxtream_stream,
    xstreamity_login,
)
from tests.api.conftest import World, creds


async def _fetch(world: World, username: str = "alice", **params: str) -> Any:
    async with world.client() as client:
        response = await client.get("/player_api.php", params=creds(username, **params))
    return response.json()


async def test_login_passes_every_strict_client(world: World) -> None:
    for username in ("alice", "trial", "expired", "banned", "disabled"):
        login = await _fetch(world, username)
        go_decode_login(login)
        pyxtream_login(login)
        xstreamity_login(login)
        assert jellyfin_string_bool(login["user_info"]["is_trial"]) is (username == "trial")


async def test_never_expiring_line_has_a_numeric_exp_date(world: World) -> None:
    await world.services.subscribers.update_line(world.lines["alice"], LinePatch(exp_at=None))
    login = await _fetch(world, "alice")
    assert login["user_info"]["exp_date"] == "2145916800"  # far future, below the 32-bit time_t limit
    pyxtream_login(login)


async def test_categories_and_streams_pass_go_and_pyxtream(world: World) -> None:
    categories = await _fetch(world, action="get_live_categories")
    streams = await _fetch(world, action="get_live_streams")
    assert categories
    assert streams
    for category in categories:
        go_decode(category, GO_CATEGORY)
        assert schemaValidator(category, SchemaType.GROUP)
        int(category["category_id"])  # pyxtream Group: int(category_id)
    for stream in streams:
        go_decode(stream, GO_STREAM)
        assert schemaValidator(stream, SchemaType.LIVE)
        pyxtream_stream(stream)
        assert isinstance(stream["tv_archive"], int)  # iptvnator Number(...) === 1, XStreamity str(...) == "1"


def test_the_emulated_go_decoder_is_strict() -> None:
    """The emulation itself refuses what real Go refuses (else the tests above would prove nothing)."""
    bad = [
        ({"category_id": 5}, GO_CATEGORY),  # number where ,string wants a quoted int
        ({"category_id": ""}, GO_CATEGORY),  # "" is not an int
        ({"parent_id": "0"}, GO_CATEGORY),  # quoted where a plain int is wanted
        ({"stream_id": "7"}, GO_STREAM),
        ({"added": None}, GO_STREAM),
    ]
    for value, struct in bad:
        with pytest.raises(GoDecodeError):
            go_decode(value, struct)
    with pytest.raises(GoDecodeError):
        go_decode_login(
            {"user_info": {"active_cons": 0}, "server_info": {"port": "80", "timezone": "Mars/Olympus_Mons"}}
        )
    with pytest.raises(AssertionError):
        jellyfin_string_bool(0)
    with pytest.raises(TypeError):
        pyxtream_login({"user_info": {"exp_date": None}, "server_info": {}})
