"""``get_short_epg`` and ``get_simple_data_table`` over real HTTP (contract §1.10, §1.15): the listing object and
its types, strict base64, wall-clock times across DST changes, ``limit``, ``now_playing``, the window, the
archive hook, entitlement, caching across programme boundaries and guide changes. The clock is the client
API's injected ``now``; the server timezone is Europe/London."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from headend import settings as settings_mod
from headend.api import epg as epg_api
from headend.api.views import LiveStream
from headend.catalog.epg_records import ProgrammeRecord
from headend.settings import Settings
from tests.api.conftest import World, creds
from tests.api.contract import EPG_LISTING, check_types
from tests.api.epg_data import Clock, add_guide, clocked_server, schedule, slot, utc

LISTING_FIELDS = [
    "id", "epg_id", "title", "lang", "start", "end", "stop", "description", "channel_id", "start_timestamp",
    "stop_timestamp", "stream_id", "now_playing", "has_archive",
]  # fmt: skip
SUMMER = utc(2026, 7, 1, 12, 0)  # BST: London is UTC+1
TITLE = 'Ünïcødé ☃ 🎉 <News> & "quotes"'
DESCRIPTION = "Déjà vu\nline two \u2013 東京"
NUMERIC = re.compile(r"[0-9]+")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings_mod.replace(
        settings, epg={"refresh": False, "future_days": 14}, subscribers={"timezone": "Europe/London"}
    )


async def _epg(client: httpx.AsyncClient, action: str, stream_id: object, username: str = "alice", **extra: str) -> Any:
    response = await client.get(
        "/player_api.php", params=creds(username, action=action, stream_id=str(stream_id), **extra)
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _listings(body: Any) -> list[dict[str, Any]]:
    assert isinstance(body, dict)
    assert list(body) == ["epg_listings"]
    listings = body["epg_listings"]
    assert isinstance(listings, list)
    return listings


def _text(value: str) -> str:
    return base64.b64decode(value, validate=True).decode("utf-8")  # strict, like Jellyfin/XStreamity/Go


def _titles(body: Any) -> list[str]:
    return [_text(listing["title"]) for listing in _listings(body)]


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


async def test_listing_object_is_the_contracts(world: World) -> None:
    campus = world.channels["campus"]
    current = slot(SUMMER - timedelta(minutes=30), 60, TITLE, description=DESCRIPTION, lang="fr")
    source = await add_guide(world.services, {campus: [current, slot(SUMMER + timedelta(minutes=30), 30, "Next")]})
    stored = await world.services.epg.upcoming(campus, SUMMER, 10)
    async with clocked_server(world.services, Clock(SUMMER)) as client:
        body = await _epg(client, "get_short_epg", campus)
        table = await _epg(client, "get_simple_data_table", campus)
    listings = _listings(body)
    assert listings[0] == {
        "id": str(stored[0].id), "epg_id": str(source), "title": base64.b64encode(TITLE.encode()).decode(),
        "lang": "fr", "start": "2026-07-01 12:30:00", "end": "2026-07-01 13:30:00", "stop": "2026-07-01 13:30:00",
        "description": base64.b64encode(DESCRIPTION.encode()).decode(), "channel_id": "campus.tv",
        "start_timestamp": _epoch(SUMMER - timedelta(minutes=30)),
        "stop_timestamp": _epoch(SUMMER + timedelta(minutes=30)),
        "stream_id": str(campus), "now_playing": 1, "has_archive": 0,
    }  # fmt: skip
    assert _listings(table) == listings
    for listing in listings:
        assert list(listing) == LISTING_FIELDS
        assert listing["end"] == listing["stop"]
        for field in ("id", "epg_id", "start_timestamp", "stop_timestamp", "stream_id"):
            assert NUMERIC.fullmatch(listing[field]), field  # Go `json:",string"` on an int
        assert set(listing) == set(EPG_LISTING)
    assert check_types(body) == 1 + 2 * len(EPG_LISTING)  # every field typed by §1.15
    assert _text(listings[0]["title"]) == TITLE
    assert _text(listings[0]["description"]) == DESCRIPTION
    assert listings[1]["title"] == "TmV4dA=="  # "Next": padded
    assert _text(listings[1]["description"]) == ""
    assert [listing["now_playing"] for listing in listings] == [1, 0]


def test_the_strict_decoder_refuses_what_it_should() -> None:
    """base64 without padding or with URL-safe characters fails ``validate=True`` (so the check above bites)."""
    for bad in ("TmV4dA", "-_8=", "TmV4dA==\n"):
        with pytest.raises(ValueError):
            _text(bad)


async def test_short_epg_limit(world: World) -> None:
    campus = world.channels["campus"]
    await add_guide(world.services, {campus: schedule(SUMMER - timedelta(minutes=5), 150, minutes=10)})
    cases = {None: 4, "2": 2, "0": 1, "1": 1, "100": 100, "101": 100, "1000": 100, "abc": 4, "-3": 4, "": 4,
             " 7 ": 7, "2.5": 4, "\uff11": 4, "9" * 40: 4}  # fmt: skip
    async with clocked_server(world.services, Clock(SUMMER)) as client:
        for raw, expected in cases.items():
            extra = {} if raw is None else {"limit": raw}
            titles = _titles(await _epg(client, "get_short_epg", campus, **extra))
            assert titles == [f"Show {i}" for i in range(expected)], raw
        table = _listings(await _epg(client, "get_simple_data_table", campus, limit="2"))
    assert len(table) == 150  # the table ignores limit: the whole window
    assert [listing["now_playing"] for listing in table].count(1) == 1


async def test_data_table_window_and_the_alias(world: World) -> None:
    campus = world.channels["campus"]
    await add_guide(
        world.services,
        {
            campus: [
                slot(SUMMER - timedelta(hours=2), 60, "Past"),
                slot(SUMMER - timedelta(hours=1), 60, "Ended at now"),
                slot(SUMMER, 60, "Starts at now"),
                slot(SUMMER + timedelta(days=13), 60, "In 13 days"),
                slot(SUMMER + timedelta(days=14), 60, "In 14 days"),
            ]
        },
    )
    async with clocked_server(world.services, Clock(SUMMER)) as client:
        table = await _epg(client, "get_simple_data_table", campus)
        alias = await _epg(client, "get_simple_date_table", campus)
        short = await _epg(client, "get_short_epg", campus)
    assert _titles(table) == ["Starts at now", "In 13 days"]  # no archive yet: nothing past; future_days 14
    assert [listing["now_playing"] for listing in _listings(table)] == [1, 0]
    assert alias == table
    assert _titles(short) == ["Starts at now", "In 13 days", "In 14 days"]  # current + upcoming, up to limit


async def test_streams_the_line_may_not_see_list_nothing(world: World) -> None:
    ids = world.channels
    everything = {key: [slot(SUMMER - timedelta(minutes=10), 60, f"{key} show")] for key in ids}
    await add_guide(world.services, {ids[key]: listed for key, listed in everything.items()})
    async with clocked_server(world.services, Clock(SUMMER)) as client:
        for action in ("get_short_epg", "get_simple_data_table", "get_simple_date_table"):
            for stream_id in (
                ids["other"],
                ids["off"],
                999_999,
                "abc",
                "",
                "-1",
                "1e3",
                f" {ids['other']}",
                "\uff11",
                "9" * 40,
            ):
                assert await _epg(client, action, stream_id) == {"epg_listings": []}, (action, stream_id)
            assert await _epg(client, action, ids["campus"], "bob") == {"epg_listings": []}
            assert _titles(await _epg(client, action, ids["other"], "bob")) == ["other show"]
            assert _titles(await _epg(client, action, ids["campus"])) == ["campus show"]
        nameless = _listings(await _epg(client, "get_short_epg", ids["hostile"]))
        inactive = [await _epg(client, "get_short_epg", ids["campus"], name) for name in ("expired", "banned")]
        no_stream = await client.get("/player_api.php", params=creds(action="get_short_epg"))
        wrong = await client.get(
            "/player_api.php",
            params=creds(password="wrong-password", action="get_short_epg", stream_id=str(ids["campus"])),
        )
    assert [(n["channel_id"], _text(n["title"])) for n in nameless] == [("", "hostile show")]  # no EPG id: ""
    assert inactive == [
        {"user_info": {"auth": 0, "status": "Expired"}},
        {"user_info": {"auth": 0, "status": "Banned"}},
    ]
    assert no_stream.json() == {"epg_listings": []}
    assert wrong.json() == {"user_info": {"auth": 0}}


async def test_wall_clock_across_the_spring_change(world: World) -> None:
    """Europe/London, 2026-03-29 01:00 UTC: 01:00 GMT becomes 02:00 BST."""
    campus = world.channels["campus"]
    change = utc(2026, 3, 29, 1, 0)
    await add_guide(world.services, {campus: schedule(change - timedelta(minutes=60), 4, minutes=30)})
    async with clocked_server(world.services, Clock(change - timedelta(minutes=45))) as client:
        table = _listings(await _epg(client, "get_simple_data_table", campus))
        login = (await client.get("/player_api.php", params=creds())).json()
    assert login["server_info"]["timezone"] == "Europe/London"
    assert [(t["start"], t["stop"]) for t in table] == [
        ("2026-03-29 00:00:00", "2026-03-29 00:30:00"),  # GMT
        ("2026-03-29 00:30:00", "2026-03-29 02:00:00"),  # spans the change: 30 minutes long
        ("2026-03-29 02:00:00", "2026-03-29 02:30:00"),  # BST
        ("2026-03-29 02:30:00", "2026-03-29 03:00:00"),
    ]
    starts = [change - timedelta(minutes=60 - 30 * i) for i in range(4)]
    assert [t["start_timestamp"] for t in table] == [_epoch(s) for s in starts]
    assert [t["stop_timestamp"] for t in table] == [_epoch(s + timedelta(minutes=30)) for s in starts]
    assert [t["now_playing"] for t in table] == [1, 0, 0, 0]


async def test_wall_clock_across_the_autumn_change(world: World) -> None:
    """Europe/London, 2026-10-25 01:00 UTC: 02:00 BST becomes 01:00 GMT (01:00-02:00 happens twice)."""
    campus = world.channels["campus"]
    change = utc(2026, 10, 25, 1, 0)
    await add_guide(world.services, {campus: schedule(change - timedelta(hours=2), 4)})
    async with clocked_server(world.services, Clock(change - timedelta(minutes=30))) as client:
        table = _listings(await _epg(client, "get_simple_data_table", campus))
        short = _listings(await _epg(client, "get_short_epg", campus))
    assert [(t["start"], t["stop"]) for t in table] == [
        ("2026-10-25 01:00:00", "2026-10-25 01:00:00"),  # 00:00-01:00 UTC: 01:00 BST to 01:00 GMT
        ("2026-10-25 01:00:00", "2026-10-25 02:00:00"),  # GMT
        ("2026-10-25 02:00:00", "2026-10-25 03:00:00"),
    ]
    assert [int(t["stop_timestamp"]) - int(t["start_timestamp"]) for t in table] == [3600] * 3
    assert table[0]["start_timestamp"] == _epoch(change - timedelta(hours=1))
    assert [t["now_playing"] for t in table] == [1, 0, 0]
    assert short == table  # limit 4, three programmes left


async def test_now_playing_follows_the_clock_through_the_cache(world: World) -> None:
    campus = world.channels["campus"]
    await add_guide(world.services, {campus: schedule(SUMMER - timedelta(hours=1), 3)})  # 11-12, 12-13, 13-14
    clock = Clock(SUMMER)
    async with clocked_server(world.services, clock) as client:

        async def playing() -> list[tuple[str, int]]:
            body = await _epg(client, "get_short_epg", campus)
            return [(_text(item["title"]), item["now_playing"]) for item in _listings(body)]

        assert await playing() == [("Show 1", 1), ("Show 2", 0)]  # at a boundary: the one starting now
        assert await playing() == [("Show 1", 1), ("Show 2", 0)]  # (cached)
        clock.move(seconds=-1)
        assert await playing() == [("Show 0", 1), ("Show 1", 0), ("Show 2", 0)]
        clock.move(hours=1, microseconds=999_999)  # 12:59:59.999999
        assert await playing() == [("Show 1", 1), ("Show 2", 0)]
        clock.move(microseconds=1)
        assert await playing() == [("Show 2", 1)]
        clock.move(hours=1)
        assert await playing() == []


async def test_a_new_guide_shows_at_once(world: World) -> None:
    campus = world.channels["campus"]
    await add_guide(world.services, {campus: [slot(SUMMER, 60, "Old guide")]}, priority=100)
    async with clocked_server(world.services, Clock(SUMMER)) as client:
        first = await client.get("/player_api.php", params=creds(action="get_short_epg", stream_id=str(campus)))
        assert _titles(first.json()) == ["Old guide"]
        unchanged = await client.get(
            "/player_api.php",
            params=creds(action="get_short_epg", stream_id=str(campus)),
            headers={"if-none-match": first.headers["etag"]},
        )
        assert unchanged.status_code == 304
        await add_guide(world.services, {campus: [slot(SUMMER, 60, "Better guide")]}, priority=10)
        assert _titles(await _epg(client, "get_short_epg", campus)) == ["Better guide"]
        assert _titles(await _epg(client, "get_simple_data_table", campus)) == ["Better guide"]


async def test_the_archive_hook_decides_has_archive(world: World) -> None:
    campus = world.channels["campus"]
    await add_guide(
        world.services, {campus: [slot(SUMMER, 30, "Recorded"), slot(SUMMER + timedelta(minutes=30), 30, "Not")]}
    )
    seen: list[tuple[int, str]] = []

    def archived(stream: LiveStream, programme: ProgrammeRecord, now: datetime) -> bool:
        assert now == SUMMER
        seen.append((stream.stream_id, programme.title))
        return programme.title == "Recorded"

    async with clocked_server(world.services, Clock(SUMMER), has_archive=archived) as client:
        table = _listings(await _epg(client, "get_simple_data_table", campus))
    assert [(_text(t["title"]), t["has_archive"]) for t in table] == [("Recorded", 1), ("Not", 0)]
    assert seen == [(campus, "Recorded"), (campus, "Not")]


async def test_the_listing_cache_is_bounded_by_bytes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(epg_api, "LISTING_CACHE_BYTES", 150_000)
    svc = world.services
    ids = sorted(world.channels.values())
    await add_guide(svc, {cid: schedule(SUMMER - timedelta(hours=1), 150, title="A long title " * 8) for cid in ids})
    guide = epg_api.Guide(svc.epg, svc.settings, writes=lambda: svc.db.writes)
    sizes = []
    for cid in ids:
        stream = LiveStream(num=cid, name=f"c{cid}", stream_id=cid, icon="", epg_channel_id="", added=0, category_id=0)
        body = await guide.listings("table", stream, SUMMER, 4, catalog_version=1)
        sizes.append(len(body.body) + len(body.gzipped or b""))
    assert max(sizes) < 150_000 < sum(sizes)  # more than the bound was built...
    assert 0 < guide.cached_bytes <= 150_000  # ...and the oldest bodies were let go
