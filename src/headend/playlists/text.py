"""Text rules shared by the M3U and XMLTV renderers, so a value cannot break the line or the attribute it is in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

CHUNK_CHARS: Final = 64 * 1024

# Everything str.splitlines() (and so many M3U parsers) treats as a line break, plus the other C0/C1 controls.
_BREAKING: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Characters XML 1.0 does not allow at all (tab, LF and CR are allowed but normalised away in attributes).
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def one_line(value: str) -> str:
    """``value`` with every line-breaking or control character replaced by a space."""
    return _BREAKING.sub(" ", value)


def m3u_attribute(value: str) -> str:
    """A value safe inside ``key="…"`` of an ``#EXTINF`` line: one line, and no double quote to end it early.

    M3U has no escape syntax; a ``"`` becomes ``'`` (what players show is close, and no parser can be made to
    read an attribute the operator did not write). For URLs and ids; free text goes through :func:`m3u_text`.
    """
    return one_line(value).replace('"', "'")


def m3u_text(value: str) -> str:
    """Free text (a channel or group name) for an ``#EXTINF`` line, as an attribute value or the title.

    On top of :func:`m3u_attribute`, ``=`` becomes the fullwidth equals sign U+FF1D (it looks the same): Kodi finds
    an attribute by the first occurrence of ``name=`` in the line, so a channel called ``x radio=true`` or
    ``x catchup-source=…`` would otherwise set attributes the operator never wrote.
    """
    return m3u_attribute(value).replace("=", "\uff1d")


def xml_text(value: str) -> str:
    """Character data for an XML element or a double-quoted attribute."""
    clean = _NOT_XML.sub("", one_line(value))
    return clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def usable_epg_id(value: str) -> bool:
    """Whether ``value`` can be the same EPG id, byte for byte, in the JSON API, the M3U and the XMLTV.

    An id with a double quote, a ``=`` or a control character cannot survive the M3U line unchanged (contract
    §1.12: mismatching ids are the top reason guides stay empty), so such an id is treated as no id at all.
    """
    return bool(value) and value == m3u_text(value) and not _NOT_XML.search(value)


def chunked(pieces: Iterable[str], size: int = CHUNK_CHARS) -> Iterator[str]:
    """``pieces`` joined into chunks of about ``size`` characters (for a streamed response)."""
    parts: list[str] = []
    total = 0
    for piece in pieces:
        parts.append(piece)
        total += len(piece)
        if total >= size:
            yield "".join(parts)
            parts, total = [], 0
    if parts:
        yield "".join(parts)


__all__ = ["CHUNK_CHARS", "chunked", "m3u_attribute", "m3u_text", "one_line", "usable_epg_id", "xml_text"]
