"""What a line sees and what it is told: only its bouquets' channels; truthful status, limits and outputs."""

from __future__ import annotations

from typing import Any

import pytest

from headend.catalog.records import ChannelPatch
from headend.catalog.subscriber_records import LinePatch
from tests.api.conftest import PASSWORD, World, creds

INACTIVE = [("expired", "Expired"), ("banned", "Banned"), ("disabled", "Disabled")]


async def _api(world: World, username: str = "alice", path: str = "/player_api.php", **params: str) -> Any:
    async with world.client() as client:
        response = await client.get(path, params=creds(username, **params))
    assert response.status_code == 200
    return response.json()


async def test_a_line_sees_only_its_bouquets_channels(world: World) -> None:
    alice = await _api(world, action="get_live_streams")
    bob = await _api(world, "bob", action="get_live_streams")
    ids = world.channels
    assert [s["stream_id"] for s in alice] == [ids["campus"], ids["sports"], ids["hostile"]]  # bouquet order
    assert [s["stream_id"] for s in bob] == [ids["other"]]
    bob_categories = await _api(world, "bob", action="get_live_categories")
    assert [c["category_name"] for c in bob_categories] == ["News"]
    # asking for the other line's category or channel by id reveals nothing
    assert await _api(world, action="get_live_streams", category_id=str(world.categories["news"])) == alice[:1]
    assert await _api(world, "bob", action="get_live_streams", category_id=str(world.categories["sports"])) == []
    panel = await _api(world, "bob", "/panel_api.php")
    assert list(panel["available_channels"]) == [str(ids["other"])]


async def test_disabled_channels_never_appear(world: World) -> None:
    off = world.channels["off"]
    assert off not in [s["stream_id"] for s in await _api(world, action="get_live_streams")]
    await world.services.channels.update_channel(world.channels["sports"], ChannelPatch(enabled=False))
    names = [s["name"] for s in await _api(world, action="get_live_streams")]
    assert "Sports One" not in names
    assert "Sports" not in [c["category_name"] for c in await _api(world, action="get_live_categories")]


@pytest.mark.parametrize(("username", "status"), INACTIVE)
async def test_inactive_lines_report_their_status(world: World, username: str, status: str) -> None:
    login = await _api(world, username)
    assert login["user_info"]["auth"] == 0
    assert login["user_info"]["status"] == status
    assert login["user_info"]["username"] == username
    assert "server_info" in login
    account = await _api(world, username, action="get_account_info")
    assert account | {"server_info": login["server_info"]} == login  # server_info's clock may have ticked
    for action in ("get_live_streams", "get_live_categories", "get_vod_streams", "get_short_epg", "get_series_info"):
        assert await _api(world, username, action=action) == {"user_info": {"auth": 0, "status": status}}
    panel = await _api(world, username, "/panel_api.php")
    assert panel["user_info"]["status"] == status
    assert "available_channels" not in panel


async def test_expired_line_exp_date_is_in_the_past(world: World) -> None:
    login = await _api(world, "expired")
    assert int(login["user_info"]["exp_date"]) < login["server_info"]["timestamp_now"]


async def test_trial_line_and_outputs(world: World) -> None:
    user = (await _api(world, "trial"))["user_info"]
    assert user["is_trial"] == "1"
    assert user["allowed_output_formats"] == ["m3u8"]
    assert user["max_connections"] == "2"


async def test_active_cons_counts_the_lines_sessions(world: World) -> None:
    sessions = world.services.sessions
    for device in ("10.0.0.1|mpv", "10.0.0.2|vlc"):
        sessions.open(
            line_id=world.lines["alice"],
            max_connections=2,
            channel_id=world.channels["campus"],
            device=device,
            kind="ts",
        )
    assert (await _api(world))["user_info"]["active_cons"] == "2"


async def test_allow_lists_refuse_other_clients(world: World) -> None:
    subs = world.services.subscribers
    await subs.update_line(world.lines["alice"], LinePatch(allowed_ips=("10.0.0.0/8",)))
    assert await _api(world) == {"user_info": {"auth": 0}}
    async with world.client() as client:
        refused = await client.get("/get.php", params=creds())
    assert (refused.status_code, refused.text) == (403, "this line may not be used from this address or device\n")
    await subs.update_line(world.lines["alice"], LinePatch(allowed_ips=(), allowed_user_agents=("TiviMate",)))
    assert await _api(world) == {"user_info": {"auth": 0}}
    async with world.client(headers={"user-agent": "TiviMate/5.1"}) as client:
        allowed = await client.get("/player_api.php", params=creds())
    assert allowed.json()["user_info"]["auth"] == 1


async def test_password_is_echoed_as_sent_and_changes_take_effect(world: World) -> None:
    assert (await _api(world))["user_info"]["password"] == PASSWORD
    await world.services.subscribers.reset_password(world.lines["alice"], "new-password-1")
    assert await _api(world) == {"user_info": {"auth": 0}}
    assert (await _api(world, password="new-password-1"))["user_info"]["auth"] == 1
