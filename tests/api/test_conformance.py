"""Every ``player_api.php`` / ``panel_api.php`` answer against the wire contract (xtream-contract.md §1).

Golden bodies (field names, order and values), then every field's JSON type against the §1.15 table, the
empty shapes (``[]`` vs ``{}``), unknown actions, form POST and the misspelt EPG alias.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.conftest import LOGO, PASSWORD, World, creds
from tests.api.contract import check_types

LIVE_STREAM_FIELDS = [
    "num", "name", "stream_type", "stream_id", "stream_icon", "epg_channel_id", "added", "is_adult",
    "category_id", "category_ids", "custom_sid", "tv_archive", "direct_source", "tv_archive_duration", "thumbnail",
]  # fmt: skip
EMPTY_SHAPES = {
    "get_vod_categories": [],
    "get_vod_streams": [],
    "get_series_categories": [],
    "get_series": [],
    "get_vod_info": {"info": {}, "movie_data": {}},
    "get_series_info": {"seasons": [], "info": {}, "episodes": {}},
    "get_short_epg": {"epg_listings": []},
    "get_simple_data_table": {"epg_listings": []},
    "get_simple_date_table": {"epg_listings": []},
}


async def _get(world: World, path: str = "/player_api.php", **params: str) -> Any:
    async with world.client() as client:
        response = await client.get(path, params=creds(**params))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def _added(world: World, key: str) -> str:
    record = await world.services.channels.get_channel(world.channels[key])
    return str(int(record.created_at.timestamp()))


def _volatile(login: dict[str, Any]) -> dict[str, Any]:
    """The login payload with its clock-dependent values checked and replaced by placeholders."""
    user, server = dict(login["user_info"]), dict(login["server_info"])
    assert abs(server["timestamp_now"] - datetime.now(UTC).timestamp()) < 60
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", server["time_now"])
    for field in ("exp_date", "created_at"):
        assert user[field].isdigit()
        user[field] = "<epoch>"
    server["timestamp_now"], server["time_now"] = 0, "<now>"
    return {"user_info": user, "server_info": server}


def _golden_login(world: World, *, auth: int = 1, status: str = "Active", user: str = "alice") -> dict[str, Any]:
    return {
        "user_info": {
            "username": user, "password": PASSWORD, "message": "", "auth": auth, "status": status,
            "exp_date": "<epoch>", "is_trial": "0", "active_cons": "0", "created_at": "<epoch>",
            "max_connections": "2", "allowed_output_formats": ["ts", "m3u8"],
        },
        "server_info": {
            "url": "127.0.0.1", "port": str(world.headend.port), "https_port": "0", "server_protocol": "http",
            "rtmp_port": "0", "timezone": "UTC", "timestamp_now": 0, "time_now": "<now>", "process": True,
        },
    }  # fmt: skip


async def _golden_streams(world: World) -> list[dict[str, Any]]:
    def stream(key: str, num: int, name: str, icon: str, epg: str | None, cat: int, added: str) -> dict[str, Any]:
        return {
            "num": num, "name": name, "stream_type": "live", "stream_id": world.channels[key], "stream_icon": icon,
            "epg_channel_id": epg, "added": added, "is_adult": "0", "category_id": str(cat), "category_ids": [cat],
            "custom_sid": "", "tv_archive": 0, "direct_source": "", "tv_archive_duration": 0, "thumbnail": "",
        }  # fmt: skip

    from tests.api.conftest import HOSTILE_NAME

    news, sports = world.categories["news"], world.categories["sports"]
    return [
        stream("campus", 1, "Campus TV", LOGO, "campus.tv", news, await _added(world, "campus")),
        stream("sports", 5, "Sports One", "", "sports.one", sports, await _added(world, "sports")),
        stream("hostile", 6, HOSTILE_NAME, "", None, 0, await _added(world, "hostile")),
    ]


def _golden_categories(world: World) -> list[dict[str, Any]]:
    return [
        {"category_id": str(world.categories["news"]), "category_name": "News", "parent_id": 0},
        {"category_id": str(world.categories["sports"]), "category_name": "Sports", "parent_id": 0},
        {"category_id": "0", "category_name": "Uncategorised", "parent_id": 0},
    ]


@pytest.mark.parametrize("action", [None, "get_account_info", "no_such_action", "get_epg", "200"])
async def test_login_actions_answer_the_golden_login_payload(world: World, action: str | None) -> None:
    body = await (_get(world) if action is None else _get(world, action=action))
    assert check_types(body) == 22
    assert list(body["user_info"]) == list(_golden_login(world)["user_info"])  # field order too
    assert list(body["server_info"]) == list(_golden_login(world)["server_info"])
    assert _volatile(body) == _golden_login(world)


async def test_get_live_streams_golden_and_typed(world: World) -> None:
    body = await _get(world, action="get_live_streams")
    assert body == await _golden_streams(world)
    assert all(list(item) == LIVE_STREAM_FIELDS for item in body)
    assert check_types(body) == 15 * 3


async def test_get_live_streams_by_category(world: World) -> None:
    golden = await _golden_streams(world)
    news = await _get(world, action="get_live_streams", category_id=str(world.categories["news"]))
    assert news == [golden[0]]
    uncategorised = await _get(world, action="get_live_streams", category_id="0")
    assert uncategorised == [golden[2]]
    for nothing in ("999999", "abc", "-1", "1.5", "\uff11"):  # no such category, or not an id at all
        assert await _get(world, action="get_live_streams", category_id=nothing) == []
    assert await _get(world, action="get_live_streams", category_id="") == golden  # empty: no filter


async def test_get_live_categories_golden_and_typed(world: World) -> None:
    body = await _get(world, action="get_live_categories")
    assert body == _golden_categories(world)  # "Empty" holds no channel of the line: not listed
    assert check_types(body) == 9


@pytest.mark.parametrize(("action", "shape"), EMPTY_SHAPES.items())
async def test_empty_catalogue_shapes(world: World, action: str, shape: object) -> None:
    body = await _get(world, action=action, vod_id="1", series_id="1", stream_id=str(world.channels["campus"]))
    assert body == shape
    check_types(body)


async def test_panel_api_golden(world: World) -> None:
    body = await _get(world, "/panel_api.php")
    assert list(body) == ["user_info", "server_info", "categories", "available_channels"]
    check_types(body)
    assert _volatile({"user_info": body["user_info"], "server_info": body["server_info"]}) == _golden_login(world)
    assert body["categories"] == {"live": _golden_categories(world), "movie": [], "series": []}
    streams = await _golden_streams(world)
    assert body["available_channels"] == {str(s["stream_id"]): s for s in streams}


async def test_panel_api_empty_channels_is_an_object(world: World) -> None:
    subs = world.services.subscribers
    empty = await subs.create_bouquet("Nothing")
    from headend.catalog.subscriber_records import LineInput, PackageInput

    package = await subs.create_package(PackageInput(name="Nothing", bouquet_ids=(empty.id,)))
    await subs.create_line(LineInput(username="nobody", password=PASSWORD, package_ids=(package.id,)))
    body = await _get(world, "/panel_api.php", username="nobody")
    assert body["available_channels"] == {}
    assert body["categories"] == {"live": [], "movie": [], "series": []}
    assert await _get(world, action="get_live_streams", username="nobody") == []
    assert await _get(world, action="get_live_categories", username="nobody") == []


async def test_form_post_works_like_get(world: World) -> None:
    async with world.client() as client:
        for action, path in (("get_live_streams", "/player_api.php"), ("", "/panel_api.php")):
            got = await client.get(path, params=creds(action=action))
            posted = await client.post(path, data=creds(action=action))
            assert posted.status_code == 200
            assert _strip_clock(posted.json()) == _strip_clock(got.json())
        # form fields win over the query string; a wrong query password is overridden
        mixed = await client.post("/player_api.php", params={"password": "wrong-pass1"}, data=creds())
        assert mixed.json()["user_info"]["auth"] == 1
        bad_form = await client.post("/player_api.php", data={f"f{i}": "x" for i in range(100)})
        assert bad_form.status_code == 200
        assert bad_form.json() == {"user_info": {"auth": 0}}


def _strip_clock(body: Any) -> Any:
    if isinstance(body, dict) and "server_info" in body:
        body["server_info"]["timestamp_now"] = body["server_info"]["time_now"] = None
    return body


async def test_cross_origin_and_head(world: World) -> None:
    async with world.client() as client:
        response = await client.get("/player_api.php", params=creds(action="get_live_categories"))
        assert response.headers["access-control-allow-origin"] == "*"
        head = await client.head("/player_api.php", params=creds(action="get_live_categories"))
        assert head.status_code == 200
        assert head.content == b""
        again = await client.get("/player_api.php", params=creds(action="get_live_categories"))
        assert again.json() == response.json()  # the keep-alive connection survived the HEAD


async def test_unknown_path_is_not_the_api(world: World) -> None:
    async with world.client() as client:
        response = await client.get("/player_api.phpx", params=creds())
    assert response.status_code == 404


def test_client_api_routes_take_get_head_and_post() -> None:
    from headend.app import PolicyRoute, routes
    from headend.http.policy import Policy

    found = {r.path: r for r in routes() if isinstance(r, PolicyRoute) and r.policy is Policy.SUBSCRIBER}
    assert set(found) == {"/player_api.php", "/panel_api.php", "/get.php", "/xmltv.php"}
    for route in found.values():
        assert route.methods == {"GET", "HEAD", "POST"}
