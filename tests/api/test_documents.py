"""``get.php`` and ``xmltv.php`` over HTTP: golden playlist, formats, entitlement, escaping, ids, gzip, refusals."""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from headend import settings as settings_mod
from headend.catalog.records import ChannelPatch
from headend.settings import Settings
from tests.api.bulk import bulk_channels, bulk_line
from tests.api.conftest import LOGO, PASSWORD, World, creds, seeded_world

_ATTRIBUTE = re.compile(r'([A-Za-z-]+)="([^"]*)"')  # how Kodi/most players read #EXTINF attributes


async def _playlist(world: World, username: str = "alice", **params: str) -> str:
    async with world.client() as client:
        response = await client.get("/get.php", params=creds(username, **params))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/x-mpegurl"
    assert response.headers["transfer-encoding"] == "chunked"  # streamed, not buffered
    return response.text


async def test_m3u_plus_golden(world: World) -> None:
    base, ids = world.base, world.channels
    guide = f"{base}/xmltv.php?username=alice&amp;password={PASSWORD}".replace("&amp;", "&")
    hostile = "Evil 'Name', tvg-id\uff1d'x' radio\uff1dtrue #EXTINF:-1,Injected <b>&amp; é"
    expected = (
        f'#EXTM3U x-tvg-url="{guide}" url-tvg="{guide}"\n'
        f'#EXTINF:-1 tvg-id="campus.tv" tvg-name="Campus TV" tvg-logo="{LOGO}" tvg-chno="1" group-title="News",'
        f"Campus TV\n{base}/live/alice/{PASSWORD}/{ids['campus']}.ts\n"
        '#EXTINF:-1 tvg-id="sports.one" tvg-name="Sports One" tvg-logo="" tvg-chno="5" group-title="Sports",'
        f"Sports One\n{base}/live/alice/{PASSWORD}/{ids['sports']}.ts\n"
        f'#EXTINF:-1 tvg-id="" tvg-name="{hostile}" tvg-logo="" tvg-chno="6" group-title="Uncategorised",'
        f"{hostile}\n{base}/live/alice/{PASSWORD}/{ids['hostile']}.ts\n"
    )
    assert await _playlist(world) == expected
    assert await _playlist(world, type="m3u_plus", output="ts") == expected
    async with world.client() as client:
        posted = await client.post("/get.php", data=creds())
        head = await client.head("/get.php", params=creds())
    assert posted.text == expected
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "audio/x-mpegurl"


async def test_plain_m3u(world: World) -> None:
    text = await _playlist(world, type="m3u", output="m3u8")
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1:3] == ["#EXTINF:-1,Campus TV", f"{world.base}/live/alice/{PASSWORD}/{world.channels['campus']}.m3u8"]
    assert len(lines) == 7


@pytest.mark.parametrize(("output", "extension"), [("ts", "ts"), ("mpegts", "ts"), ("m3u8", "m3u8"), ("hls", "m3u8")])
async def test_output_aliases(world: World, output: str, extension: str) -> None:
    urls = [line for line in (await _playlist(world, output=output)).splitlines() if not line.startswith("#")]
    assert urls
    assert all(url.endswith(f".{extension}") for url in urls)


async def test_never_a_format_the_line_may_not_use(world: World) -> None:
    urls = [line for line in (await _playlist(world, "trial")).splitlines() if not line.startswith("#")]
    assert urls
    assert all(url.endswith(".m3u8") for url in urls)
    async with world.client() as client:
        refused = await client.get("/get.php", params=creds("trial", output="ts"))
        assert refused.status_code == 403
        assert refused.text == "output ts is not allowed for this line\n"
        for params in ({"output": "rtmp"}, {"output": "mp4"}, {"type": "enigma2"}):
            bad = await client.get("/get.php", params=creds(**params))
            assert bad.status_code == 400, params


async def test_only_entitled_channels(world: World) -> None:
    alice, bob = await _playlist(world), await _playlist(world, "bob")
    assert "Other Side" not in alice
    assert "Off Air" not in alice
    assert f"/{world.channels['other']}.ts" not in alice
    assert [line for line in bob.splitlines() if line.startswith("#EXTINF")] == [
        '#EXTINF:-1 tvg-id="other.side" tvg-name="Other Side" tvg-logo="" tvg-chno="9" group-title="News",Other Side'
    ]


async def test_hostile_name_cannot_break_a_line_or_an_attribute(world: World) -> None:
    lines = (await _playlist(world)).splitlines()  # splitlines: also U+2028, \x85 … (what lenient parsers do)
    assert len(lines) == 7
    assert all(line.startswith(world.base) for line in lines[2::2])
    for info in lines[1::2]:
        attributes, _ = kodi_extinf(info)
        assert attributes["radio"] == ""  # the name's "radio=true" is not an attribute
        assert attributes["tvg-id"] in ("campus.tv", "sports.one", "")
    attributes, name = kodi_extinf(lines[5])
    assert name.startswith("Evil 'Name', tvg-id")
    assert attributes["tvg-logo"] == ""
    assert attributes["group-title"] == "Uncategorised"
    assert [key for key, _ in _ATTRIBUTE.findall(lines[5])] == [  # and a regex scan of the whole line agrees
        "tvg-id", "tvg-name", "tvg-logo", "tvg-chno", "group-title",
    ]  # fmt: skip


def kodi_extinf(line: str) -> tuple[dict[str, str], str]:
    """Read an #EXTINF line the way Kodi's IPTV Simple does: the title starts after the comma that follows
    the last double quote, and an attribute is the first occurrence of ``name=`` in the part before it (its
    value runs to the next quote, or to the next space when it is not quoted)."""
    last_quote = line.rfind('"')
    comma = line.rfind(",")
    if last_quote >= 0 and line[last_quote + 1 :].strip().startswith(","):
        comma = last_quote + line[last_quote + 1 :].find(",") + 1
    info, name = line[line.find(":") + 1 : comma], line[comma + 1 :].strip()
    attributes = {}
    for marker in ("tvg-id", "tvg-name", "tvg-logo", "tvg-chno", "group-title", "radio", "catchup-source"):
        start = info.find(f"{marker}=")
        value = ""
        if start >= 0:
            start += len(marker) + 1
            end_char = '"' if info[start : start + 1] == '"' else " "
            start += end_char == '"'
            end = info.find(end_char, start)
            value = info[start : end if end >= 0 else len(info)]
        attributes[marker] = value
    return attributes, name


async def test_x_tvg_url_points_at_xmltv(world: World) -> None:
    header = (await _playlist(world)).splitlines()[0]
    url = dict(_ATTRIBUTE.findall(header))["x-tvg-url"]
    parts = urlsplit(url)
    assert parts.path == "/xmltv.php"
    assert parse_qs(parts.query) == {"username": ["alice"], "password": [PASSWORD]}
    async with world.client() as client:
        guide = await client.get(url)
    assert guide.status_code == 200
    assert guide.headers["content-type"] == "application/xml"


async def _guide(world: World, username: str = "alice") -> ET.Element:
    async with world.client() as client:
        response = await client.get("/xmltv.php", params=creds(username))
    assert response.status_code == 200
    return ET.fromstring(response.content)


async def test_xmltv_channels_match_epg_channel_id_and_tvg_id(world: World) -> None:
    root = await _guide(world)
    assert root.tag == "tv"
    assert root.attrib == {"generator-info-name": "Headend"}
    ids = [channel.attrib["id"] for channel in root.iter("channel")]
    assert ids == ["campus.tv", "sports.one"]
    campus = root.find("channel[@id='campus.tv']")
    assert campus is not None
    assert campus.findtext("display-name") == "Campus TV"
    icon = campus.find("icon")
    assert icon is not None
    assert icon.attrib["src"] == LOGO
    async with world.client() as client:
        streams = (await client.get("/player_api.php", params=creds(action="get_live_streams"))).json()
    assert [s["epg_channel_id"] for s in streams if s["epg_channel_id"] is not None] == ids
    tvg_ids = [dict(_ATTRIBUTE.findall(line))["tvg-id"] for line in (await _playlist(world)).splitlines()[1::2]]
    assert [tvg for tvg in tvg_ids if tvg] == ids
    assert [channel.attrib["id"] for channel in (await _guide(world, "bob")).iter("channel")] == ["other.side"]


async def test_xmltv_escapes_and_gzip(world: World) -> None:
    await world.services.channels.update_channel(world.channels["campus"], ChannelPatch(name='A & B <"C">'))
    root = await _guide(world)
    assert root.find("channel[@id='campus.tv']/display-name").text == 'A & B <"C">'  # type: ignore[union-attr]
    await bulk_line(world.services, await bulk_channels(world.services, 100), "bulk", PASSWORD)
    params = creds("bulk")
    async with world.client() as client:
        zipped = await client.get("/xmltv.php", params=params, headers={"accept-encoding": "gzip"})
        plain = await client.get("/xmltv.php", params=params, headers={"accept-encoding": "identity"})
        async with client.stream("GET", "/xmltv.php", params=params, headers={"accept-encoding": "gzip"}) as raw:
            wire = b"".join([chunk async for chunk in raw.aiter_raw()])
        unchanged = await client.get("/xmltv.php", params=params, headers={"if-none-match": plain.headers["etag"]})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in plain.headers
    assert wire[:2] == b"\x1f\x8b"
    assert gzip.decompress(wire) == plain.content
    assert zipped.content == plain.content
    assert len(ET.fromstring(plain.content).findall("channel")) == 100
    assert unchanged.status_code == 304


async def test_refusals(world: World) -> None:
    async with world.client() as client:
        for path in ("/get.php", "/xmltv.php"):
            unknown = await client.get(path, params=creds("nobody-here"))
            wrong = await client.get(path, params=creds(password="wrong-password"))
            assert (
                (unknown.status_code, unknown.text)
                == (wrong.status_code, wrong.text)
                == (
                    401,
                    "invalid username or password\n",
                )
            )
            assert (await client.get(path)).status_code == 401
            for line, status in (("expired", "expired"), ("banned", "banned"), ("disabled", "disabled")):
                refused = await client.get(path, params=creds(line))
                assert (refused.status_code, refused.text) == (403, f"this line is {status}\n")


async def test_forged_host_header_cannot_reach_the_playlist(world: World) -> None:
    port = world.headend.port
    async with world.client() as client:
        for host in ('evil.example"x', "a b", "x.example/path", "user@x.example", "x.example:99999", "-bad-.x"):
            text = (await client.get("/get.php", params=creds(), headers={"host": host})).text
            assert text.splitlines()[2].startswith(f"http://127.0.0.1:{port}/live/alice/"), host
        named = await client.get("/get.php", params=creds(), headers={"host": "TV.Example.org:8000"})
        assert named.text.splitlines()[2].startswith("http://tv.example.org:8000/live/alice/")
        v6 = await client.get("/player_api.php", params=creds(), headers={"host": "[::1]:8080"})
        assert v6.json()["server_info"]["url"] == "[::1]"


async def test_public_url_setting_wins(settings: Settings) -> None:
    public = settings_mod.replace(settings, http={"public_url": "https://tv.example.org/iptv/"})
    async with seeded_world(public) as world, world.client() as client:
        login = (await client.get("/player_api.php", params=creds(), headers={"host": "other.example"})).json()
        text = (await client.get("/get.php", params=creds())).text
    assert login["server_info"] | {"timestamp_now": 0, "time_now": ""} == {
        "url": "tv.example.org", "port": "443", "https_port": "443", "server_protocol": "https", "rtmp_port": "0",
        "timezone": "UTC", "timestamp_now": 0, "time_now": "", "process": True,
    }  # fmt: skip
    assert f"https://tv.example.org/iptv/live/alice/{PASSWORD}/" in text
    assert 'x-tvg-url="https://tv.example.org/iptv/xmltv.php?username=alice&password=' in text


async def test_playlist_urls_reach_the_stream_routes(world: World) -> None:
    """The /live/ form in get.php (and pyxtream) and the short form are routed to the stream routes (which answer 401
    to a wrong password; an unrouted path would be a 404)."""
    url = (await _playlist(world)).splitlines()[2]
    assert url == f"{world.base}/live/alice/{PASSWORD}/{world.channels['campus']}.ts"
    async with world.client() as client:
        for path in (
            f"/alice/wrong-password/{world.channels['campus']}.ts",
            f"/live/alice/wrong-password/{world.channels['campus']}.ts",
            f"/live/alice/wrong-password/{world.channels['campus']}.m3u8",
        ):
            assert (await client.get(path)).status_code == 401, path
