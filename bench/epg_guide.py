"""A two-week guide for the bench catalogue, stored through the real import path of :class:`EpgStore`.

:func:`store_guide` gives every channel back-to-back programmes of 30, 45 or 60 minutes (varying per
channel and slot) from ``start`` over ``days`` days, with titles, descriptions, categories, episode numbers,
icons and ratings in the mix of a real XMLTV grab, and stores them the way the importer does:
``begin_import`` → ``add_programmes`` (batches of :data:`BATCH_ROWS`, one short transaction each) →
``finish_import`` with one tvg-id match per channel. The source has ``refresh_hours=0`` (never due), so the
running server's EPG scheduler leaves it alone.

The programmes are a pure function of (channel index, slot), so every run of the bench sees the same guide.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from headend.catalog.epg_records import ChannelMatch, EpgSourceInput, EpgSourceKind, MatchMethod
from headend.epg.entries import Programme
from headend.services import Services

BATCH_ROWS: Final = 20_000
LENGTHS: Final = (30, 45, 60, 30, 60, 45, 30)  # minutes; mean ~43
_WORDS: Final = (
    "news weather sport live report world local city night morning evening update special story history "
    "nature science travel food kitchen garden house family drama comedy crime detective mystery police "
    "doctor hospital school music concert classic legend island river mountain ocean planet space secret "
    "journey quest return rise fall last first great little big old new wild lost hidden golden silver"
).split()
_CATEGORIES: Final = ("News", "Sports", "Movie", "Series", "Documentary", "Kids", "Music", "Entertainment", "Talk")
_RATINGS: Final = ("TV-G", "TV-PG", "TV-14", "PG-13", "R")


@dataclass(frozen=True)
class _Pools:
    titles: tuple[str, ...]
    descs: tuple[str, ...]


def _pools(seed: int = 11) -> _Pools:
    rng = random.Random(seed)
    titles = [" ".join(rng.choices(_WORDS, k=rng.randint(1, 4))).title() for _ in range(997)]
    titles[::50] = ["Tom & Jerry <Classic>"] * len(titles[::50])  # text that must be escaped in XML
    descs = [" ".join(rng.choices(_WORDS, k=rng.randint(12, 40))).capitalize() + "." for _ in range(1999)]
    return _Pools(tuple(titles), tuple(descs))


def programmes(index: int, guide_id: str, start: datetime, until: datetime, pools: _Pools) -> Iterator[Programme]:
    """Channel ``index``'s back-to-back programmes from ``start`` to (at least) ``until``."""
    at, slot = start, 0
    while at < until:
        key = index * 7919 + slot
        stop = at + timedelta(minutes=LENGTHS[key % len(LENGTHS)])
        yield Programme(
            channel=guide_id,
            start=at,
            stop=stop,
            title=pools.titles[key % 997],
            sub_title=f"Part {slot % 9 + 1}" if key % 3 == 0 else "",
            description=pools.descs[key % 1999],
            categories=(_CATEGORIES[key % 9],) if key % 2 else (_CATEGORIES[key % 9], _CATEGORIES[(key + 4) % 9]),
            episode_num=f"S{key % 12 + 1:02d}E{slot % 24 + 1:02d}" if key % 2 == 0 else "",
            icon=f"https://img.example/p/{key % 100_000}.jpg" if key % 5 == 0 else "",
            rating=_RATINGS[key % 5] if key % 4 == 2 else "",
            lang="en",
        )
        at, slot = stop, slot + 1


async def store_guide(
    svc: Services, channels: Sequence[tuple[int, str]], start: datetime, days: float
) -> dict[str, Any]:
    """Store the guide of ``channels`` ((our id, tvg-id) pairs); returns counts and timings."""
    t0 = time.monotonic()
    store = svc.epg
    source = await store.create_source(
        EpgSourceInput(name="bench guide", kind=EpgSourceKind.FILE, location="bench-guide.xml", refresh_hours=0)
    )
    import_id = await store.begin_import(source.id)
    pools = _pools()
    until = start + timedelta(days=days)
    batch: list[tuple[int, Programme]] = []
    total = 0
    for index, (channel_id, guide_id) in enumerate(channels):
        batch.extend((channel_id, p) for p in programmes(index, guide_id, start, until, pools))
        if len(batch) >= BATCH_ROWS:
            await store.add_programmes(import_id, source.id, batch)
            total += len(batch)
            batch = []
    if batch:
        await store.add_programmes(import_id, source.id, batch)
        total += len(batch)
    matches = [
        ChannelMatch(channel_id=cid, source_id=source.id, guide_id=gid, method=MatchMethod.TVG_ID)
        for cid, gid in channels
    ]
    await store.finish_import(import_id, source.id, matches=matches, message="bench guide")
    return {
        "channels": len(channels),
        "programmes": total,
        "start": start.isoformat(),
        "days": days,
        "store_s": time.monotonic() - t0,
    }


__all__ = ["BATCH_ROWS", "programmes", "store_guide"]
