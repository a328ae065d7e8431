"""EPG imports end to end on a real database (SQLite and PostgreSQL): what is stored, what is skipped, and that
a failed, refused or cancelled import leaves the previous guide exactly as it was."""

from __future__ import annotations

import asyncio
import functools
import gzip
from datetime import timedelta
from pathlib import Path

import pytest

from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind, MatchMethod, ProgrammeRecord
from headend.catalog.records import ChannelInput
from headend.epg.importer import BATCH, ImportProgress
from headend.errors import NotFound
from tests.epg.guide_server import GuideServer
from tests.epg.guides import BILLION_LAUGHS, schedule, xmltv
from tests.epg.importer_env import GUIDE_CHANNELS, NOW, Env, env, epg_settings, good_guide, server

__all__ = ["env", "epg_settings", "server"]  # fixtures


def titles(guide: dict[int, list[ProgrammeRecord]]) -> dict[int, list[str]]:
    return {cid: [p.title for p in programmes] for cid, programmes in guide.items()}


async def test_a_good_import_stores_only_carried_channels_inside_the_window(env: Env) -> None:
    shows = []
    for guide_id, _ in GUIDE_CHANNELS:
        shows += schedule(guide_id, NOW - timedelta(hours=2), 8, minutes=30)
    shows += schedule("a.tv", NOW - timedelta(days=3), 2, prefix="old ")  # ended before now - past_days
    shows += schedule("a.tv", NOW + timedelta(days=5), 2, prefix="far ")  # starts after now + future_days
    shows += schedule("a.tv", NOW - timedelta(days=1, minutes=10), 1, prefix="edge ")  # ends inside the window
    data = xmltv(GUIDE_CHANNELS, shows)
    source_id = await env.file_source("guide.xml", data)
    seen: list[ImportProgress] = []

    report = await env.importer.run(source_id, seen.append)

    assert report.ok, report.message
    assert (report.source, report.source_id) == ("guide.xml", source_id)
    assert (report.guide_channels, report.channels_matched) == (3, 2)
    assert report.unmatched_channel_ids == (env.charlie,)
    assert report.programmes_read == 3 * 8 + 5
    assert report.skipped_unmatched == 8  # x.tv is not carried
    assert report.skipped_window == 4
    assert report.skipped == 12
    assert report.programmes_stored == 2 * 8 + 1
    assert report.bytes == len(data)
    assert report.problems == ()
    assert report.seconds >= 0
    assert seen[-1].phase == "done"
    assert seen[-1].programmes_stored == report.programmes_stored
    guide = titles(await env.guide())
    assert guide[env.alpha] == ["edge a.tv #0", *[f"a.tv #{i}" for i in range(8)]]
    assert guide[env.bravo] == [f"b.tv #{i}" for i in range(8)]
    assert guide[env.charlie] == []
    source = await env.store.get_source(source_id)
    assert (source.last_status, source.channels_matched, source.programmes) == ("ok", 2, 17)
    assert source.last_message == report.message
    methods = {m.channel_id: m.method for m in await env.store.matches()}
    assert methods == {env.alpha: MatchMethod.TVG_ID, env.bravo: MatchMethod.NAME}


async def test_one_guide_channel_feeds_several_of_ours_and_overrides_apply(env: Env) -> None:
    await env.store.set_override(env.charlie, "X.TV")  # any source; the id is matched ignoring case
    alpha2 = await env.channels.create_channel(ChannelInput(name="Alpha", tvg_id="a.tv"))
    source_id = await env.file_source("guide.xml", good_guide(count=3))
    report = await env.importer.run(source_id)
    assert report.ok, report.message
    assert report.channels_matched == 4
    assert report.programmes_stored == 3 * 4
    guide = titles(
        await env.store.programmes(
            [env.alpha, alpha2.id, env.charlie], NOW - timedelta(hours=2), NOW + timedelta(hours=3)
        )
    )
    assert guide[alpha2.id] == guide[env.alpha] == ["a.tv #0", "a.tv #1", "a.tv #2"]
    assert guide[env.charlie] == ["x.tv #0", "x.tv #1", "x.tv #2"]
    methods = {m.channel_id: m.method for m in await env.store.matches()}
    assert methods[env.charlie] is MatchMethod.OVERRIDE


async def test_a_guide_without_programmes_still_maps(env: Env) -> None:
    source_id = await env.file_source("empty.xml", xmltv(GUIDE_CHANNELS, []))
    report = await env.importer.run(source_id)
    assert report.ok
    assert (report.channels_matched, report.programmes_stored) == (2, 0)


async def test_problems_carry_line_numbers(env: Env) -> None:
    good = good_guide(count=2).decode()
    broken = good.replace("</tv>", '<programme start="garbage" channel="a.tv"><title>Bad</title></programme>\n</tv>')
    source_id = await env.file_source("guide.xml", broken.encode())
    report = await env.importer.run(source_id)
    assert report.ok
    assert report.problems_total == 1
    (problem,) = report.problems
    assert problem.line == broken.count("\n", 0, broken.index('start="garbage"')) + 1
    assert report.message.endswith(", 1 problem")


def syntax_error_guide() -> bytes:
    shows = schedule("a.tv", NOW - timedelta(hours=12), 3 * BATCH, minutes=1, prefix="new ")
    return xmltv(GUIDE_CHANNELS, shows, tail="<programme start=<<<broken\n")


@functools.cache
def gzip_bomb() -> bytes:
    """~200 KB of gzip that inflates to 30 MB of (valid) programmes: refused by the compression-ratio cap."""
    one = schedule("z.tv", NOW, 1)[0]
    return gzip.compress(xmltv([("z.tv",)], [one] * 200_000), 9)


EXPECTED = {
    "syntax error half-way": "XMLTV syntax error at line",
    "billion laughs": "internal subset",
    "gzip bomb": "decompresses more than 100 times",
    "dead url": "ConnectError",
    "http 404": "answered HTTP 404",
}


@pytest.mark.parametrize("failure", ["syntax error half-way", "billion laughs", "gzip bomb", "dead url", "http 404"])
async def test_a_failing_import_leaves_the_previous_guide(
    env: Env, server: GuideServer, failure: str, tmp_path: Path
) -> None:
    server.route("/guide.xml", body=good_guide())
    source_id = await env.url_source("remote", server.url("/guide.xml"))
    first = await env.importer.run(source_id)
    assert first.ok, first.message
    before = await env.guide()
    assert len(before[env.alpha]) == 6
    bodies = {
        "syntax error half-way": syntax_error_guide(),
        "billion laughs": BILLION_LAUGHS,
        "gzip bomb": gzip_bomb(),
    }
    if failure in bodies:
        server.route("/guide.xml", body=bodies[failure])
    elif failure == "dead url":
        await env.store.update_source(source_id, location="http://127.0.0.1:1/guide.xml")
    else:
        server.route("/guide.xml", status=404, body=b"gone")
    seen: list[ImportProgress] = []

    second = await env.importer.run(source_id, seen.append)

    assert not second.ok
    assert EXPECTED[failure] in second.message
    if failure == "syntax error half-way":
        assert max(p.programmes_stored for p in seen) >= BATCH, "batches were written before the error"
    assert await env.guide() == before, "the previous guide is untouched"
    source = await env.store.get_source(source_id)
    assert source.last_status == "failed"
    assert source.last_message == second.message
    assert (source.channels_matched, source.programmes) == (2, 12)
    assert list((env.settings.epg_dir / ".downloads").iterdir()) == [], "the download is deleted"


async def test_cancellation_mid_read_leaves_the_previous_guide(env: Env) -> None:
    source_id = await env.file_source("guide.xml", good_guide("old "))
    assert (await env.importer.run(source_id)).ok
    before = await env.guide()
    env.write("guide.xml", xmltv(GUIDE_CHANNELS, schedule("a.tv", NOW, 40 * BATCH, minutes=1)))
    stored = asyncio.Event()

    def progress(p: ImportProgress) -> None:
        if p.programmes_stored >= BATCH:
            stored.set()

    task = asyncio.create_task(env.importer.run(source_id, progress))
    await asyncio.wait_for(stored.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not env.importer.running(source_id)
    assert await env.guide() == before
    source = await env.store.get_source(source_id)
    assert (source.last_status, source.last_message) == ("failed", "cancelled")


async def test_cancellation_mid_download_deletes_the_partial_file(env: Env, server: GuideServer) -> None:
    server.route("/slow.xml", body=good_guide() * 100, stall_after=5000)
    source_id = await env.url_source("slow", server.url("/slow.xml"))
    downloading = asyncio.Event()
    task = asyncio.create_task(env.importer.run(source_id, lambda p: downloading.set()))
    await asyncio.wait_for(downloading.wait(), 30)
    assert list((env.settings.epg_dir / ".downloads").iterdir()) != []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list((env.settings.epg_dir / ".downloads").iterdir()) == []
    assert (await env.store.get_source(source_id)).last_status == "failed"


async def test_concurrent_refreshes_of_one_source_share_one_import(env: Env, server: GuideServer) -> None:
    server.route("/guide.xml", body=good_guide())
    source_id = await env.url_source("remote", server.url("/guide.xml"))
    one: list[ImportProgress] = []
    two: list[ImportProgress] = []
    first, second = await asyncio.gather(
        env.importer.run(source_id, one.append), env.importer.run(source_id, two.append)
    )
    assert first is second
    assert first.ok
    assert server.requests["/guide.xml"] == 1
    assert one[-1] == two[-1]
    third = await env.importer.run(source_id)  # after it finished, a new import runs
    assert third is not first
    assert server.requests["/guide.xml"] == 2


async def test_a_joined_import_survives_one_caller_leaving(env: Env, server: GuideServer) -> None:
    server.route("/slow.xml", body=good_guide(), stall_after=100)
    source_id = await env.url_source("slow", server.url("/slow.xml"))
    started = asyncio.Event()
    leaving = asyncio.create_task(env.importer.run(source_id, lambda p: started.set()))
    staying = asyncio.create_task(env.importer.run(source_id))
    await asyncio.wait_for(started.wait(), 30)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert env.importer.running(source_id), "the other caller still waits for it"
    report = await staying  # the stalled download times out (fetch_timeout_s = 2)
    assert not report.ok
    assert "no data" in report.message


async def test_prune_after_import_drops_programmes_past_retention(env: Env) -> None:
    first = await env.file_source("one.xml", good_guide())
    assert (await env.importer.run(first)).ok
    env.clock.value = NOW + timedelta(days=2)  # past_days = 1: everything of the first guide ended too long ago
    later = xmltv([("b.tv", "Bravo")], schedule("b.tv", env.clock.value, 2, prefix="later "))
    second = await env.file_source("two.xml", later)
    assert (await env.importer.run(second)).ok
    assert (await env.store.get_source(first)).programmes == 0


async def test_unknown_source_and_missing_file(env: Env) -> None:
    with pytest.raises(NotFound):
        await env.importer.run(9999)
    source = await env.store.create_source(EpgSourceInput(name="gone", kind=EpgSourceKind.FILE, location="gone.xml"))
    report = await env.importer.run(source.id)
    assert not report.ok
    assert "does not exist" in report.message


async def test_aclose_cancels_running_imports(env: Env, server: GuideServer) -> None:
    server.route("/slow.xml", body=good_guide(), stall_after=100)
    source_id = await env.url_source("slow", server.url("/slow.xml"))
    started = asyncio.Event()
    task = asyncio.create_task(env.importer.run(source_id, lambda p: started.set()))
    await asyncio.wait_for(started.wait(), 30)
    await env.importer.aclose()
    with pytest.raises(Exception, match="cancelled"):
        await task
    assert (await env.store.get_source(source_id)).last_message == "cancelled"
