"""The XMLTV guide (``xtream-contract.md`` §1.12) rendered from plain data, in pieces for streaming::

    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE tv SYSTEM "xmltv.dtd">
    <tv generator-info-name="Headend">
      <channel id="campus.tv"><display-name>Campus TV</display-name><icon src="http://…/logo.png"/></channel>
      <programme start="20251229090000 +0000" stop="20251229100000 +0000" channel="campus.tv">…</programme>
    </tv>

The DTD wants every ``<channel>`` before the first ``<programme>`` (``tv (channel*, programme*)``), and a
programme's children in this order: ``title+, sub-title*, desc*, credits?, date?, category*, keyword*,
language?, orig-language?, length?, icon*, url*, country*, episode-num*, video?, audio?, …, rating*, …``.
Times are UTC (``YYYYmmddHHMMSS +0000``). Text and attribute values go through
:func:`headend.playlists.text.xml_text`, so a hostile title stays text.

A ``<channel id>`` (and a programme's ``channel``) is the channel's EPG id exactly as ``get_live_streams``
reports it in ``epg_channel_id`` and ``get.php`` in ``tvg-id``; callers pass only channels with a usable id
(:func:`headend.playlists.text.usable_epg_id`). A caller streaming a big guide writes :func:`prolog`, the
channel elements, the programme elements batch by batch and :data:`EPILOGUE`; :func:`render` does all of it
for data already in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from headend.playlists.text import chunked, xml_text

GENERATOR: Final = "Headend"
EPILOGUE: Final = "</tv>\n"
EPISODE_SYSTEM: Final = "onscreen"


@dataclass(frozen=True, slots=True)
class GuideChannel:
    id: str  # the EPG id
    name: str
    icon: str  # "" if none


class GuideProgramme(Protocol):
    """What a programme element is made of (the catalog's ``ProgrammeRecord`` has these fields)."""

    @property
    def start(self) -> datetime: ...  # aware
    @property
    def stop(self) -> datetime: ...  # aware, after start
    @property
    def title(self) -> str: ...
    @property
    def sub_title(self) -> str: ...  # "" if none
    @property
    def description(self) -> str: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def episode_num(self) -> str: ...  # the onscreen form ("S01E05"), "" if none
    @property
    def icon(self) -> str: ...
    @property
    def rating(self) -> str: ...
    @property
    def lang(self) -> str: ...  # the title's language, "" if unknown


def prolog(generator: str = GENERATOR) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
        f'<tv generator-info-name="{xml_text(generator)}">\n'
    )


def channel_element(channel: GuideChannel) -> str:
    icon = f'<icon src="{xml_text(channel.icon)}"/>' if channel.icon else ""
    return (
        f'  <channel id="{xml_text(channel.id)}"><display-name>{xml_text(channel.name)}</display-name>'
        f"{icon}</channel>\n"
    )


def xmltv_time(moment: datetime) -> str:
    """``YYYYmmddHHMMSS +0000`` of an aware datetime (written twice per programme: kept cheap)."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    fields = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    return "%04d%02d%02d%02d%02d%02d +0000" % fields  # noqa: UP031 (3x faster than format specifiers here)


def programme_element(programme: GuideProgramme, channel_id: str) -> str:
    """One ``<programme>``; ``channel_id`` is the EPG id (escaped here like everything else). The stored
    language is the title's, so only ``<title>`` carries a ``lang``."""
    return _programme(programme, xml_text(channel_id))


def programme_elements(channel_id: str, programmes: Iterable[GuideProgramme]) -> Iterator[str]:
    """The ``<programme>`` elements of one EPG id (escaped once for all of them)."""
    escaped = xml_text(channel_id)
    for programme in programmes:
        yield _programme(programme, escaped)


def _programme(programme: GuideProgramme, channel: str) -> str:
    lang = f' lang="{xml_text(programme.lang)}"' if programme.lang else ""
    parts = [
        f'  <programme start="{xmltv_time(programme.start)}" stop="{xmltv_time(programme.stop)}" channel="{channel}">',
        f"<title{lang}>{xml_text(programme.title)}</title>",
    ]
    if programme.sub_title:
        parts.append(f"<sub-title>{xml_text(programme.sub_title)}</sub-title>")
    if programme.description:
        parts.append(f"<desc>{xml_text(programme.description)}</desc>")
    parts.extend(f"<category>{xml_text(category)}</category>" for category in programme.categories if category)
    if programme.icon:
        parts.append(f'<icon src="{xml_text(programme.icon)}"/>')
    if programme.episode_num:
        parts.append(f'<episode-num system="{EPISODE_SYSTEM}">{xml_text(programme.episode_num)}</episode-num>')
    if programme.rating:
        parts.append(f"<rating><value>{xml_text(programme.rating)}</value></rating>")
    parts.append("</programme>\n")
    return "".join(parts)


def render(
    channels: Iterable[GuideChannel],
    programmes: Iterable[tuple[str, Iterable[GuideProgramme]]] = (),
    *,
    generator: str = GENERATOR,
) -> Iterator[bytes]:
    """The whole document as UTF-8 chunks of about 64 KiB (the prolog comes first, on its own).

    ``programmes`` pairs an EPG id with its programmes, in the order they are to appear.
    """
    yield prolog(generator).encode()
    elements = itertools.chain(
        map(channel_element, channels),
        itertools.chain.from_iterable(programme_elements(epg_id, listed) for epg_id, listed in programmes),
        [EPILOGUE],
    )
    for chunk in chunked(elements):
        yield chunk.encode()


__all__ = [
    "EPILOGUE",
    "EPISODE_SYSTEM",
    "GENERATOR",
    "GuideChannel",
    "GuideProgramme",
    "channel_element",
    "programme_element",
    "programme_elements",
    "prolog",
    "render",
    "xmltv_time",
]
