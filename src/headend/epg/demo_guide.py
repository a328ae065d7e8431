"""A generated XMLTV guide for the demo channels, so a newcomer's player shows a full programme guide.

:func:`write_demo_guide` writes, for each ``(guide id, name)``, programmes from one day before ``now`` to two
days after it: back to back, 15 to 120 minutes long, with titles, descriptions, categories and episode
numbers. The schedule is deterministic: each slot's show is drawn from a hash of the channel and the slot's
start time, so two runs started in the same hour write the same guide.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, TextIO
from xml.sax.saxutils import escape, quoteattr

PAST: Final = timedelta(days=1)
FUTURE: Final = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Show:
    title: str
    category: str
    minutes: tuple[int, ...]  # the lengths it comes in
    blurb: str
    series: bool  # has episode numbers


SHOWS: Final = (
    Show("Morning Headlines", "News", (15, 30), "The news of the hour, the weather and the traffic.", False),
    Show("World Report", "News", (30, 60), "Correspondents on the stories that matter today.", False),
    Show("The Test Card Hour", "Documentary", (60,), "A loving history of the patterns that filled the screen.", True),
    Show("Signals", "Documentary", (45, 60, 90), "How a picture travels from a camera to your living room.", True),
    Show("Kitchen Loop", "Cooking", (30, 45), "One dish, cooked again and again until it is perfect.", True),
    Show("Quiz at Eight", "Entertainment", (30, 60), "Four contestants, three rounds, one colour bar.", True),
    Show("Late Film", "Movie", (90, 120), "A classic feature, restored and remastered.", False),
    Show("Matchday", "Sports", (60, 90, 120), "Live coverage, analysis and every goal.", False),
    Show("Small Screens", "Kids", (15, 30), "Cartoons and stories for younger viewers.", True),
    Show("Tone & Bars", "Music", (30, 45, 60), "Sine waves from 440 Hz to 1 kHz, with guests.", True),
)


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))  # a TV schedule, not a secret


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S +0000")


def programmes(guide_id: str, start: datetime, stop: datetime) -> Iterator[tuple[datetime, datetime, Show, int]]:
    """Back-to-back ``(start, stop, show, episode)`` from ``start`` to at least ``stop`` (``start`` on a slot)."""
    when = start
    while when < stop:
        rng = _rng(guide_id, when.isoformat())
        show = rng.choice(SHOWS)
        minutes = rng.choice(show.minutes)
        episode = rng.randint(1, 24)
        end = when + timedelta(minutes=minutes)
        yield when, end, show, episode
        when = end


def _write_channel(out: TextIO, guide_id: str, name: str) -> None:
    out.write(f"  <channel id={quoteattr(guide_id)}>\n    <display-name>{escape(name)}</display-name>\n  </channel>\n")


def _write_programme(out: TextIO, guide_id: str, start: datetime, stop: datetime, show: Show, episode: int) -> None:
    out.write(f'  <programme start="{_stamp(start)}" stop="{_stamp(stop)}" channel={quoteattr(guide_id)}>\n')
    out.write(f'    <title lang="en">{escape(show.title)}</title>\n')
    if show.series:
        season = 1 + start.timetuple().tm_yday % 7
        out.write(f'    <sub-title lang="en">Part {episode}</sub-title>\n')
    out.write(f'    <desc lang="en">{escape(show.blurb)}</desc>\n')
    out.write(f'    <category lang="en">{escape(show.category)}</category>\n')
    if show.series:
        out.write(f'    <episode-num system="onscreen">S{season:02d}E{episode:02d}</episode-num>\n')
        out.write(f'    <episode-num system="xmltv_ns">{season - 1}.{episode - 1}.</episode-num>\n')
    out.write("  </programme>\n")


def write_demo_guide(path: Path, channels: Sequence[tuple[str, str]], now: datetime) -> int:
    """Write the guide for ``channels`` (``(guide id, display name)``) around ``now``; returns the programme count.

    Written to a temporary file next to ``path`` and renamed over it.
    """
    hour = now.replace(minute=0, second=0, microsecond=0)
    start, stop = hour - PAST, hour + FUTURE + timedelta(hours=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8") as out:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n<tv generator-info-name="headend demo">\n')
            for guide_id, name in channels:
                _write_channel(out, guide_id, name)
            for guide_id, _ in channels:
                for programme in programmes(guide_id, start, stop):
                    _write_programme(out, guide_id, *programme)
                    count += 1
            out.write("</tv>\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


__all__ = ["FUTURE", "PAST", "SHOWS", "Show", "programmes", "write_demo_guide"]
