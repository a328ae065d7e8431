"""``xmltv.php`` and ``/epg.xml`` with programmes, over real HTTP: which channels, which window, the DTD,
ids equal to ``epg_channel_id`` and ``tvg-id`` byte for byte, hostile text, gzip, streaming, the operator
route's token. The clock is the client API's injected ``now`` (a second server on the same services)."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import httpx
import pytest
from lxml import etree

from headend import settings as settings_mod
from headend.api.epg import BATCH_CHANNELS
from headend.catalog.records import ChannelInput
from headend.settings import Settings
from tests.api.bulk import bulk_channels, bulk_line
from tests.api.conftest import PASSWORD, World, creds
from tests.api.epg_data import Clock, add_guide, clocked_server, schedule, slot, utc
from tests.playlists.test_xmltv_programmes import assert_valid, parse

NOW = utc(2026, 3, 20, 12, 0)
_ATTRIBUTE = re.compile(r'([A-Za-z-]+)="([^"]*)"')
OPERATOR = {"Authorization": "Bearer test-operator-token"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings_mod.replace(settings, epg={"refresh": False, "future_days": 14})


async def _guide(client: httpx.AsyncClient, username: str = "alice") -> etree._Element:
    response = await client.get("/xmltv.php", params=creds(username))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml"
    root = parse(response.content)
    assert_valid(root)
    return root


def _titles(root: etree._Element, channel: str | None = None) -> list[str]:
    return [
        programme.findtext("title")
        for programme in root.iter("programme")
        if channel is None or programme.attrib["channel"] == channel
    ]


async def test_only_the_lines_channels_and_the_window(world: World) -> None:
    ids = world.channels
    await add_guide(
        world.services,
        {
            ids["campus"]: [
                slot(NOW - timedelta(hours=3), 60, "Ended long ago"),
                slot(NOW - timedelta(hours=1), 60, "Ended just now"),  # stop == now: over
                slot(NOW - timedelta(minutes=30), 60, "On now"),
                slot(NOW + timedelta(minutes=30), 60, "Next"),
                slot(NOW + timedelta(days=14, minutes=-1), 60, "Last in window"),
                slot(NOW + timedelta(days=14), 60, "Beyond the window"),
            ],
            ids["sports"]: [slot(NOW - timedelta(minutes=10), 90, "Match")],
            ids["other"]: [slot(NOW, 60, "Bob only")],
            ids["off"]: [slot(NOW, 60, "Disabled channel")],
            ids["hostile"]: [slot(NOW, 60, "No EPG id")],
        },
    )
    async with clocked_server(world.services, Clock(NOW)) as client:
        alice = await _guide(client)
        bob = await _guide(client, "bob")
    assert [c.attrib["id"] for c in alice.iter("channel")] == ["campus.tv", "sports.one"]
    assert _titles(alice) == ["On now", "Next", "Last in window", "Match"]
    assert _titles(alice, "campus.tv") == ["On now", "Next", "Last in window"]
    first = alice.find("programme")
    assert first is not None
    assert (first.attrib["start"], first.attrib["stop"]) == ("20260320113000 +0000", "20260320123000 +0000")
    assert [c.attrib["id"] for c in bob.iter("channel")] == ["other.side"]
    assert _titles(bob) == ["Bob only"]


async def test_the_window_follows_the_clock(world: World) -> None:
    await add_guide(world.services, {world.channels["campus"]: schedule(NOW, 4)})  # 12:00 … 16:00
    clock = Clock(NOW)
    async with clocked_server(world.services, clock) as client:
        assert _titles(await _guide(client)) == ["Show 0", "Show 1", "Show 2", "Show 3"]
        clock.move(hours=2, minutes=30)
        assert _titles(await _guide(client)) == ["Show 2", "Show 3"]
        clock.move(days=-15)  # before the schedule, beyond the 14 future days
        assert _titles(await _guide(client)) == []


ODD_IDS = ["a&b.tv", "x<y>.tv", "it's.tv", "ünï©ødé.tv", "sp ace.tv", "tab&amp;.tv", "shared.tv"]


async def test_ids_match_epg_channel_id_and_tvg_id_byte_for_byte(world: World) -> None:
    store = world.services.channels
    made: list[int] = []
    for index, tvg_id in enumerate([*ODD_IDS, "shared.tv", 'quote"d.tv', "eq=ual.tv"]):
        made.append((await store.create_channel(ChannelInput(name=f"Odd {index}", tvg_id=tvg_id))).id)
    await bulk_line(world.services, made, "odd", PASSWORD)
    await add_guide(world.services, {channel_id: [slot(NOW, 60, f"P{i}")] for i, channel_id in enumerate(made)})
    async with clocked_server(world.services, Clock(NOW)) as client:
        response = await client.get("/xmltv.php", params=creds("odd"))
        streams = (await client.get("/player_api.php", params=creds("odd", action="get_live_streams"))).json()
        playlist = (await client.get("/get.php", params=creds("odd"))).text
    root = parse(response.content)
    assert_valid(root)
    channel_ids = [c.attrib["id"] for c in root.iter("channel")]
    json_ids = [s["epg_channel_id"] for s in streams]
    tvg_ids = [dict(_ATTRIBUTE.findall(line))["tvg-id"] for line in playlist.splitlines()[1::2]]
    assert channel_ids == ODD_IDS  # shared.tv once; ids an M3U line cannot carry unchanged are no ids
    assert json_ids == [*ODD_IDS, "shared.tv", None, None]
    assert tvg_ids == [*ODD_IDS, "shared.tv", "", ""]
    for ours in channel_ids:  # byte for byte, not just equal after some normalisation
        assert ours.encode() in {i.encode() for i in json_ids if i} & {t.encode() for t in tvg_ids}
    programme_channels = [p.attrib["channel"] for p in root.iter("programme")]
    assert programme_channels == ODD_IDS  # one list per EPG id: the shared id's first channel speaks for it
    assert _titles(root, "shared.tv") == ["P6"]
    assert b'id="a&amp;b.tv"' in response.content
    assert b'channel="x&lt;y&gt;.tv"' in response.content
    assert b'id="tab&amp;amp;.tv"' in response.content


async def test_shared_id_falls_back_to_a_channel_with_programmes(world: World) -> None:
    store = world.services.channels
    first = (await store.create_channel(ChannelInput(name="Feed A", tvg_id="same.tv"))).id
    second = (await store.create_channel(ChannelInput(name="Feed B", tvg_id="same.tv"))).id
    await bulk_line(world.services, [first, second], "same", PASSWORD)
    await add_guide(world.services, {second: [slot(NOW, 60, "From B")]})
    async with clocked_server(world.services, Clock(NOW)) as client:
        root = await _guide(client, "same")
    assert [c.attrib["id"] for c in root.iter("channel")] == ["same.tv"]
    assert [c.findtext("display-name") for c in root.iter("channel")] == ["Feed A"]
    assert _titles(root) == ["From B"]


HOSTILE = "<b>x</b> ]]> <![CDATA[y]]> &lt; &#0; \x01\x1b\x7f\x9f é\u2028<!DOCTYPE z>"


async def test_hostile_programme_text_comes_out_as_text(world: World) -> None:
    programme = slot(
        NOW,
        60,
        HOSTILE,
        sub_title=HOSTILE,
        description=HOSTILE,
        categories=(HOSTILE, "News"),
        episode_num=HOSTILE,
        icon='http://i.example/?a="1"&b=<2>',
        rating=HOSTILE,
        lang='en"x',
    )
    await add_guide(world.services, {world.channels["campus"]: [programme]})
    async with clocked_server(world.services, Clock(NOW)) as client:
        root = await _guide(client)
    element = root.find("programme")
    assert element is not None
    clean = re.sub("[\x01\x1b\x7f\x9f\u2028]", " ", HOSTILE)
    texts = [element.findtext(tag) for tag in ("title", "sub-title", "desc", "episode-num", "rating/value")]
    assert texts == [clean, clean, clean, clean, clean[:50]]  # the store keeps 50 characters of a rating
    assert [c.text for c in element.iter("category")] == [clean, "News"]
    assert [child.tag for child in element] == [
        "title", "sub-title", "desc", "category", "category", "icon", "episode-num", "rating",
    ]  # fmt: skip
    assert element.find("icon").attrib["src"] == 'http://i.example/?a="1"&b=<2>'
    assert element.find("title").attrib["lang"] == 'en"x'
    assert not list(root.iter("b"))


async def test_gzip_is_the_same_document(world: World) -> None:
    ids = await bulk_channels(world.services, 50)
    await bulk_line(world.services, ids, "bulk", PASSWORD)
    await add_guide(world.services, {channel_id: schedule(NOW, 24) for channel_id in ids})
    params = creds("bulk")
    async with clocked_server(world.services, Clock(NOW)) as client:
        plain = await client.get("/xmltv.php", params=params, headers={"accept-encoding": "identity"})
        async with client.stream("GET", "/xmltv.php", params=params, headers={"accept-encoding": "gzip"}) as raw:
            wire = b"".join([chunk async for chunk in raw.aiter_raw()])
            headers = raw.headers
        unchanged = await client.get("/xmltv.php", params=params, headers={"if-none-match": plain.headers["etag"]})
        head = await client.head("/xmltv.php", params=params)
    assert "content-encoding" not in plain.headers
    assert plain.headers["transfer-encoding"] == "chunked"  # streamed
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert wire[:2] == b"\x1f\x8b"
    assert gzip.decompress(wire) == plain.content
    assert len(wire) < len(plain.content) / 5
    assert unchanged.status_code == 304
    assert (head.status_code, head.content) == (200, b"")
    root = parse(plain.content)
    assert_valid(root)
    assert len(list(root.iter("programme"))) == 50 * 24


async def test_a_guide_bigger_than_one_batch_streams_every_channel(world: World) -> None:
    count = BATCH_CHANNELS * 2 + 50
    ids = await bulk_channels(world.services, count)
    await bulk_line(world.services, ids, "big", PASSWORD)
    await add_guide(world.services, {channel_id: schedule(NOW - timedelta(hours=1), 6) for channel_id in ids})
    async with clocked_server(world.services, Clock(NOW + timedelta(minutes=1))) as client:
        async with client.stream("GET", "/xmltv.php", params=creds("big")) as response:
            assert response.headers["transfer-encoding"] == "chunked"  # sent while rendered: no length known
            assert "content-length" not in response.headers
            body = await response.aread()
    root = parse(body)
    assert_valid(root)
    expected = [f"bulk{i}.example" for i in range(count)]
    assert [c.attrib["id"] for c in root.iter("channel")] == expected
    programmes = [(p.attrib["channel"], p.findtext("title")) for p in root.iter("programme")]
    assert programmes == [(epg_id, f"Show {n}") for epg_id in expected for n in range(1, 6)]  # Show 0 is over


async def test_refusals_are_unchanged(world: World) -> None:
    async with clocked_server(world.services, Clock(NOW)) as client:
        wrong = await client.get("/xmltv.php", params=creds(password="wrong-password"))
        expired = await client.get("/xmltv.php", params=creds("expired"))
    assert (wrong.status_code, wrong.text) == (401, "invalid username or password\n")
    assert (expired.status_code, expired.text) == (403, "this line is expired\n")


async def test_operator_guide_needs_the_token_and_lists_every_enabled_channel(world: World) -> None:
    ids = world.channels
    await add_guide(
        world.services, {ids["campus"]: [slot(NOW, 60, "Campus show")], ids["other"]: [slot(NOW, 30, "Other show")]}
    )
    async with clocked_server(world.services, Clock(NOW)) as client:
        refused = [
            await client.get("/epg.xml"),
            await client.get("/epg.xml", headers={"Authorization": "Bearer wrong"}),
            await client.get("/epg.xml", params=creds()),  # a subscriber's credentials are not enough
        ]
        allowed = await client.get("/epg.xml", headers=OPERATOR)
        zipped = await client.get("/epg.xml", headers=OPERATOR | {"accept-encoding": "gzip"})
    for response in refused:
        assert response.status_code in (401, 403)
        assert b"Campus show" not in response.content
    assert allowed.status_code == 200
    assert allowed.headers["content-type"] == "application/xml"
    root = parse(allowed.content)
    assert_valid(root)
    assert [c.attrib["id"] for c in root.iter("channel")] == ["campus.tv", "sports.one", "other.side"]
    assert _titles(root) == ["Campus show", "Other show"]
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == allowed.content


async def test_the_xml_has_no_entities_or_doctype_surprises(world: World) -> None:
    await add_guide(
        world.services, {world.channels["campus"]: [slot(NOW, 60, "&ext; <!ENTITY ext SYSTEM 'file:///etc/passwd'>")]}
    )
    async with clocked_server(world.services, Clock(NOW)) as client:
        body = (await client.get("/xmltv.php", params=creds())).content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv ')
    assert b"<!ENTITY" not in body
    root = parse(body)
    assert {element.tag for element in root.iter()} <= {"tv", "channel", "display-name", "icon", "programme", "title"}
    assert _titles(root) == ["&ext; <!ENTITY ext SYSTEM 'file:///etc/passwd'>"]
