"""XMLTV timestamps (``start`` / ``stop`` attributes) turned into aware UTC datetimes.

XMLTV writes ``YYYYmmddHHMMSS +HHMM``; real feeds also write ``-HHMM``, no space before the offset, ``+HH:MM``,
``Z`` / ``UTC`` / ``GMT``, no offset at all (taken as UTC, as the XMLTV DTD says) and the shorter
``YYYYmmddHHMM``, ``YYYYmmddHH`` and ``YYYYmmdd`` forms. Anything else is unreadable (``None``).

Every programme's start is usually the previous programme's stop, so results are cached: a guide with
2.5 million programmes parses each distinct timestamp once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

_TIME: Final = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2}))?)?)?"  # date, then optional HH, MM, SS
    r"\s*(?:(Z|UTC|GMT)|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)
_MAX_OFFSET_MINUTES: Final = 15 * 60
_MAX_CHARS: Final = 32  # "20260301201530 +01:00" is 21


def parse_xmltv_time(text: str) -> datetime | None:
    """The instant ``text`` names, as an aware UTC datetime, or ``None`` when it is not an XMLTV time."""
    if len(text) > _MAX_CHARS:  # never cache (or regex) a huge attribute
        text = text.strip()
        if len(text) > _MAX_CHARS:
            return None
    return _parse(text)


@lru_cache(maxsize=16384)
def _parse(text: str) -> datetime | None:
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, _zone, sign, off_h, off_m = match.groups()
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC
        )
    except ValueError:  # month 13, February 30, hour 24 ...
        return None
    if sign is None:
        return local
    offset = int(off_h) * 60 + int(off_m)
    if offset > _MAX_OFFSET_MINUTES or int(off_m) >= 60:
        return None
    if sign == "-":
        offset = -offset
    try:
        return local - timedelta(minutes=offset)
    except OverflowError:  # year 1 or 9999 shifted out of range
        return None


__all__ = ["parse_xmltv_time"]
