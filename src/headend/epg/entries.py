"""What the XMLTV reader hands out: plain frozen values, no XML objects.

:func:`headend.epg.reader.read_xmltv` yields a :class:`GuideChannel` for every ``<channel>``, a
:class:`Programme` for every usable ``<programme>`` and a :class:`Problem` (with the line number) for every
element it had to skip or trim. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

TITLE_MAX: Final = 500
SUB_TITLE_MAX: Final = 500
DESCRIPTION_MAX: Final = 8000
CATEGORY_MAX: Final = 100
CATEGORIES_MAX: Final = 10
EPISODE_MAX: Final = 100
ICON_MAX: Final = 2048
RATING_MAX: Final = 50
LANG_MAX: Final = 16
GUIDE_ID_MAX: Final = 200
DISPLAY_NAME_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class GuideChannel:
    """A ``<channel>`` of an XMLTV document: its id and display names, in document order."""

    id: str
    names: tuple[str, ...]
    icon: str = ""  # http(s) URL or ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class Programme:
    """A ``<programme>``: ``channel`` is the guide channel id it belongs to (not ours)."""

    channel: str
    start: datetime  # aware, UTC
    stop: datetime  # aware, UTC, > start
    title: str
    sub_title: str = ""
    description: str = ""
    categories: tuple[str, ...] = ()
    episode_num: str = ""  # the onscreen form when present ("S01E05"), else xmltv_ns rendered as onscreen
    icon: str = ""  # http(s) URL or ""
    rating: str = ""  # e.g. "PG-13"
    lang: str = ""  # the title's lang attribute
    line: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the reader skipped or trimmed; ``line`` is the source line (0 if unknown)."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Caps applied while reading one document (see ``EpgSettings``)."""

    max_compressed_bytes: int = 2048 * 1024 * 1024
    max_xml_bytes: int = 2048 * 1024 * 1024
    max_compression_ratio: int = 100
    max_programmes: int = 5_000_000
    max_channels: int = 100_000
    max_problems: int = 1000  # problems kept for the report (the count goes on)


@dataclass(slots=True)
class ReadStats:
    """Counters the reader updates as it goes (read by progress displays from the same thread)."""

    compressed_bytes: int = 0
    xml_bytes: int = 0
    channels: int = 0
    programmes: int = 0
    problems: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


__all__ = [
    "CATEGORIES_MAX",
    "CATEGORY_MAX",
    "DESCRIPTION_MAX",
    "DISPLAY_NAME_MAX",
    "EPISODE_MAX",
    "GUIDE_ID_MAX",
    "ICON_MAX",
    "LANG_MAX",
    "RATING_MAX",
    "SUB_TITLE_MAX",
    "TITLE_MAX",
    "GuideChannel",
    "Problem",
    "Programme",
    "ReadLimits",
    "ReadStats",
]
