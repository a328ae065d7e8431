"""Pre-encoded catalogue bodies: LRU per catalog version, one build per key, gzip + ETag on the wire."""

from __future__ import annotations

import asyncio
import gzip
import time

import httpx
import pytest

from headend.api.cache import Encoded, ResponseCache, accepts_gzip, encode
from headend.app import create_app
from headend.catalog.records import ChannelPatch
from tests.api.bulk import bulk_channels, bulk_line
from tests.api.conftest import PASSWORD, World, creds


def _encoded(tag: str) -> Encoded:
    return Encoded(body=tag.encode(), gzipped=None, etag=f'"{tag}"')


async def test_lru_and_version_invalidation() -> None:
    cache = ResponseCache(max_entries=2)
    builds: list[str] = []

    def builder(tag: str):  # type: ignore[no-untyped-def]
        async def build() -> Encoded:
            builds.append(tag)
            return _encoded(tag)

        return build

    assert (await cache.get("a", 1, builder("a1"))).body == b"a1"
    assert (await cache.get("a", 1, builder("again"))).body == b"a1"  # hit
    await cache.get("b", 1, builder("b1"))
    await cache.get("a", 1, builder("again"))  # a is now the most recent
    await cache.get("c", 1, builder("c1"))  # evicts b
    assert len(cache) == 2
    assert (await cache.get("b", 1, builder("b1'"))).body == b"b1'"
    assert (await cache.get("a", 2, builder("a2"))).body == b"a2"  # a newer version empties the cache
    assert len(cache) == 1
    assert (await cache.get("a", 1, builder("stale"))).body == b"stale"  # an older version: built, not stored
    assert (await cache.get("a", 2, builder("no"))).body == b"a2"
    assert builds == ["a1", "b1", "c1", "b1'", "a2", "stale"]
    assert (cache.hits, cache.misses) == (3, 6)


async def test_concurrent_misses_build_once() -> None:
    cache = ResponseCache()
    calls = 0
    gate = asyncio.Event()

    async def build() -> Encoded:
        nonlocal calls
        calls += 1
        await gate.wait()
        return _encoded("x")

    waiters = [asyncio.ensure_future(cache.get("k", 1, build)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert {w.body for w in await asyncio.gather(*waiters)} == {b"x"}
    assert calls == 1


async def test_a_failed_build_is_not_cached() -> None:
    cache = ResponseCache()

    async def broken() -> Encoded:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await cache.get("k", 1, broken)
    assert len(cache) == 0
    assert (await cache.get("k", 1, encode_value)).body == b"[1]"


async def encode_value() -> Encoded:
    return await encode([1])


async def test_encode_gzips_big_bodies_only() -> None:
    small = await encode({"a": 1})
    assert small.gzipped is None
    big = await encode([{"name": f"channel {i}"} for i in range(20_000)])
    assert big.gzipped is not None
    assert gzip.decompress(big.gzipped) == big.body
    assert len(big.gzipped) < len(big.body) / 5
    assert big.etag.startswith('"')
    assert big.etag != small.etag


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True), ("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.8", True), ("*", True), ("x-gzip", True),
        ("", False), ("identity", False), ("gzip;q=0", False), ("*;q=0", False), ("deflate", False),
        ("gzip;q=0, *", False), ("GZIP", True), ("gzip;q=bad", False),
    ],
)  # fmt: skip
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


async def test_etag_gzip_and_invalidation_over_http(world: World) -> None:
    params = creds(action="get_live_streams")
    async with world.client() as client:
        first = await client.get("/player_api.php", params=params, headers={"accept-encoding": "identity"})
        etag = first.headers["etag"]
        assert "content-encoding" not in first.headers  # too small to gzip
        unchanged = await client.get("/player_api.php", params=params, headers={"if-none-match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        await world.services.channels.update_channel(world.channels["campus"], ChannelPatch(name="Campus TV 2"))
        changed = await client.get("/player_api.php", params=params, headers={"if-none-match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert changed.json()[0]["name"] == "Campus TV 2"
        bob = await client.get("/player_api.php", params=creds("bob", action="get_live_streams"))
        assert bob.headers["etag"] != changed.headers["etag"]  # another entitlement, another body


async def test_lines_with_the_same_bouquets_share_the_cached_body(world: World) -> None:
    app = create_app(world.services)  # in process: the app's own XtreamContext is at hand
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tv.example.org") as client:
        for username in ("alice", "trial", "alice", "bob"):
            response = await client.get("/player_api.php", params=creds(username, action="get_live_categories"))
            assert response.status_code == 200
        login = await client.get("/player_api.php", params=creds())
    assert login.json()["server_info"]["url"] == "tv.example.org"
    cache = app.state.xtream.cache
    assert isinstance(cache, ResponseCache)
    assert (cache.hits, cache.misses) == (2, 2)  # alice and trial share bouquet A; bob has his own


async def test_five_thousand_channels(world: World) -> None:
    """The S8 shape (performance.md): 5,000 entitled channels; second request served from the cache, gzipped."""
    started = time.perf_counter()
    ids = await bulk_channels(world.services, 5000)
    await bulk_line(world.services, ids, "bulk", PASSWORD)
    seeded = time.perf_counter() - started
    params = creds("bulk", action="get_live_streams")
    async with world.client() as client:
        first = await client.get("/player_api.php", params=params, headers={"accept-encoding": "gzip"})
        again = await client.get("/player_api.php", params=params, headers={"accept-encoding": "gzip"})
        one_category = await client.get("/player_api.php", params=params | {"category_id": str(_category(first))})
    streams = first.json()
    assert len(streams) == 5000
    assert [s["stream_id"] for s in streams] == ids
    assert first.headers["content-encoding"] == "gzip"
    assert int(first.headers["content-length"]) < 200_000  # ~1.6 MB of JSON
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert len(one_category.json()) == 250
    assert seeded < 10  # generous: a fixture, not a benchmark


def _category(response: object) -> int:
    return int(response.json()[0]["category_id"])  # type: ignore[attr-defined]
