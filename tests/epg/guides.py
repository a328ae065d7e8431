"""Small XMLTV documents for importer, scheduler and CLI tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE tv [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<tv><channel id="a.tv"><display-name>&lol3;</display-name></channel></tv>
"""


@dataclass(frozen=True)
class Show:
    channel: str
    start: datetime
    stop: datetime
    title: str


def stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S +0000")


def schedule(channel: str, start: datetime, count: int, *, minutes: int = 30, prefix: str = "") -> list[Show]:
    """``count`` back-to-back shows of ``minutes`` on ``channel`` from ``start``, titled ``{prefix}{channel} #n``."""
    step = timedelta(minutes=minutes)
    return [Show(channel, start + i * step, start + (i + 1) * step, f"{prefix}{channel} #{i}") for i in range(count)]


def channel_xml(guide_id: str, *names: str) -> str:
    shown = "".join(f"<display-name>{escape(name)}</display-name>" for name in names or (guide_id,))
    return f"<channel id={quoteattr(guide_id)}>{shown}</channel>\n"


def show_xml(show: Show) -> str:
    return (
        f'<programme start="{stamp(show.start)}" stop="{stamp(show.stop)}" channel={quoteattr(show.channel)}>'
        f'<title lang="en">{escape(show.title)}</title><desc>About {escape(show.title)}</desc>'
        "<category>News</category></programme>\n"
    )


def xmltv(channels: Sequence[tuple[str, ...]], shows: Sequence[Show], *, tail: str = "</tv>\n") -> bytes:
    """A document: ``channels`` as ``(guide_id, display names...)``, then ``shows``, then ``tail``."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<tv generator-info-name="tests">\n']
    parts += [channel_xml(guide_id, *names) for guide_id, *names in channels]
    parts += [show_xml(show) for show in shows]
    parts.append(tail)
    return "".join(parts).encode()
