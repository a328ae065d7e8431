"""The safe, streaming XMLTV reader: a guide document in, plain :mod:`headend.epg.entries` values out.

Invariants:
* No entity is ever expanded and nothing is ever fetched. Before the parser sees a byte, the prolog (everything
  up to the root start tag, at most :data:`HEAD_MAX` bytes) is scanned (:mod:`headend.epg.prolog`): a DOCTYPE
  with an internal subset (any
  ``[``) or any ``<!ENTITY`` refuses the document, which shuts out billion laughs, quadratic blowup, XXE and
  parameter entities. A DOCTYPE with only an external id (``<!DOCTYPE tv SYSTEM "xmltv.dtd">``) is accepted and
  never loaded. The parser itself runs with entities, DTD loading and network access off as a second wall
  (:data:`SAFE_PARSE_OPTIONS`; lxml >= 6.1, where ``iterparse`` no longer resolves entities by default).
* Memory stays flat however long the document is: lxml only reports ``<channel>``/``<programme>`` ends, each is
  cleared and its previous siblings deleted once converted, and a document in which no such element ends for
  :data:`MAX_GAP_BYTES` (a giant element, junk, a bomb of whitespace) is refused. Decompression caps are
  :func:`headend.epg.decompress.open_document`'s.
* Problems with one element never stop the document: a skipped ``<programme>``/``<channel>`` becomes a
  :class:`Problem` with its line; only what makes the whole document unusable raises ``ValidationError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any, BinaryIO, Final

from lxml import etree

from headend.epg.decompress import open_document
from headend.epg.entries import (
    CATEGORIES_MAX,
    CATEGORY_MAX,
    DESCRIPTION_MAX,
    DISPLAY_NAME_MAX,
    EPISODE_MAX,
    GUIDE_ID_MAX,
    ICON_MAX,
    LANG_MAX,
    RATING_MAX,
    SUB_TITLE_MAX,
    TITLE_MAX,
    GuideChannel,
    Problem,
    Programme,
    ReadLimits,
    ReadStats,
)
from headend.epg.prolog import HEAD_MAX, read_head
from headend.epg.xmltv_time import parse_xmltv_time
from headend.errors import ValidationError

Item = GuideChannel | Programme | Problem

MAX_GAP_BYTES: Final = 1024 * 1024  # ~32 MiB of libxml2 nodes at worst (4-byte <x/> elements)
_GOOD_IDS_MAX: Final = 20_000
_PENDING_CHARS_MAX: Final = 32 * 1024 * 1024  # text held by programmes waiting for a stop time
SAFE_PARSE_OPTIONS: Final[dict[str, Any]] = {
    "events": ("end",),
    "tag": ("channel", "programme"),
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "recover": False,
    "html": False,
    "remove_pis": True,
    "remove_comments": True,
    "remove_blank_text": True,
    "strip_cdata": True,
}
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f]")
_BLOCK_CONTROLS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps \t and \n
_BREAKS: Final = re.compile("[\t\n\r]")
_XMLTV_NS_PART: Final = re.compile(r"\s*(\d{1,6})\s*(?:/.*)?", re.DOTALL)


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, field="xmltv")


class _Replay:
    """What the parser reads: the scanned head again, then the rest of the stream, with the gap watchdog."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream
        self.position = 0
        self.mark = 0  # position when the last <channel>/<programme> ended

    def read(self, size: int = -1) -> bytes:
        if self._head:
            size = len(self._head) if size < 0 else size
            data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._stream.read(size)
        self.position += len(data)
        if self.position - self.mark > MAX_GAP_BYTES:
            raise _refuse(
                f"no <channel> or <programme> ended within {MAX_GAP_BYTES // (1024 * 1024)} MiB of XMLTV "
                "(an oversized element, or not a guide)"
            )
        return data


# --- element conversion ----------------------------------------------------------------------------------------


class _Text:
    """Cleans element text: control characters out, trimmed, cut at a field's maximum (counted)."""

    def __init__(self, stats: ReadStats) -> None:
        self._stats = stats

    def truncated(self) -> None:
        self._stats.skipped["truncated"] = self._stats.skipped.get("truncated", 0) + 1

    def cut(self, value: str, limit: int) -> str:
        if len(value) > limit:
            self.truncated()
            return value[:limit].rstrip()
        return value

    def line(self, value: str | None, limit: int) -> str:
        """One-line text: tabs and line breaks become spaces, other control characters go."""
        if not value:
            return ""
        if not value.isprintable():
            value = _CONTROLS.sub("", _BREAKS.sub(" ", value))
        value = value.strip()
        return value if len(value) <= limit else self.cut(value, limit)

    def block(self, value: str | None, limit: int) -> str:
        """Multi-line text (a description): keeps ``\\n`` and ``\\t``."""
        if not value:
            return ""
        if not value.isprintable():
            value = _BLOCK_CONTROLS.sub("", value)
        value = value.strip()
        return value if len(value) <= limit else self.cut(value, limit)

    def icon(self, element: Any) -> str:
        """An ``<icon src>`` if it is a plausible http(s) URL, else ""."""
        src = (element.get("src") or "").strip()
        if not src.lower().startswith(("http://", "https://")) or not src.isprintable() or " " in src:
            return ""
        if len(src) > ICON_MAX:
            self._stats.skipped["icon"] = self._stats.skipped.get("icon", 0) + 1
            return ""
        return src


def _held_chars(programme: Programme) -> int:
    return len(programme.description) + len(programme.title) + len(programme.sub_title) + 400


def _guide_id_problem(value: str | None, what: str) -> str | None:
    if not value:
        return f"{what} without an id"
    if len(value) > GUIDE_ID_MAX:
        return f"{what} id longer than {GUIDE_ID_MAX} characters"
    if _CONTROLS.search(value):
        return f"{what} id with control characters"
    return None


def _xmltv_ns(value: str) -> str:
    """``"s.e.p"`` (0-based, each part optional, ``n/total`` allowed) as ``S01E05``, ``S01`` or ``E05``."""
    return _xmltv_ns_cached(value) if len(value) <= 64 else ""


@lru_cache(maxsize=4096)
def _xmltv_ns_cached(value: str) -> str:
    parts = value.split(".")
    if len(parts) < 2:
        return ""
    season, episode = (_XMLTV_NS_PART.fullmatch(part) for part in parts[:2])
    text = f"S{int(season.group(1)) + 1:02d}" if season else ""
    if episode:
        text += f"E{int(episode.group(1)) + 1:02d}"
    return text


class _Converter:
    """Turns ``<channel>`` and ``<programme>`` elements into entries, keeping the per-channel pending stops."""

    def __init__(self, limits: ReadLimits, stats: ReadStats) -> None:
        self._limits = limits
        self._stats = stats
        self._text = _Text(stats)
        self._pending: dict[str, Programme] = {}  # channel -> programme waiting for a stop time
        self._pending_chars = 0
        self._programme_elements = 0
        self._channel_elements = 0
        self._good_ids: set[str] = set()  # programme channel ids already checked
        self.settled: list[Item] = []

    def problem(self, line: int, message: str) -> Problem:
        self._stats.problems += 1
        return Problem(line, message)

    def channel(self, element: Any) -> Item:
        line = element.sourceline or 0
        self._channel_elements += 1
        if self._channel_elements > self._limits.max_channels:
            raise _refuse(f"the XMLTV document has more than {self._limits.max_channels} channels (line {line})")
        guide_id = element.get("id")
        problem = _guide_id_problem(guide_id, "channel")
        if problem is not None:
            return self.problem(line, problem)
        names: list[str] = []
        icon = ""
        for child in element:
            tag = child.tag
            if tag == "display-name":
                name = self._text.line(child.text, DISPLAY_NAME_MAX)
                if name:
                    names.append(name)
            elif tag == "icon" and not icon:
                icon = self._text.icon(child)
        self._stats.channels += 1
        return GuideChannel(id=guide_id, names=tuple(names), icon=icon, line=line)

    def programme(self, element: Any) -> Item | None:
        """This ``<programme>`` as an entry, or None while it waits for the next start on its channel as its stop.

        A pending programme that this one settles is appended to :attr:`settled` first (take it before this one).
        """
        line = element.sourceline or 0
        self._programme_elements += 1
        if self._programme_elements > self._limits.max_programmes:
            raise _refuse(f"the XMLTV document has more than {self._limits.max_programmes} programmes (line {line})")
        channel = element.get("channel")
        if channel not in self._good_ids and (problem := self._channel_problem(channel)):
            return self.problem(line, problem)
        raw_start = element.get("start") or ""
        start = parse_xmltv_time(raw_start)
        if start is None:
            shown = _CONTROLS.sub("", raw_start[:40])
            return self.problem(line, f"programme on {channel!r} has an unreadable start time {shown!r}")
        if self._pending and channel in self._pending:
            waiting = self._pending.pop(channel)
            self._pending_chars -= _held_chars(waiting)
            self.settled.append(self._settle(waiting, start))
        stop = parse_xmltv_time(element.get("stop") or "")  # unreadable or missing: the next start, later
        if stop is not None and stop <= start:
            return self.problem(line, f"programme on {channel!r} does not stop after it starts")
        programme = self._fields(element, channel, start, stop or start, line)
        if isinstance(programme, Problem):
            return programme
        if stop is not None:
            self._stats.programmes += 1
            return programme
        return self._wait(programme)

    def _channel_problem(self, channel: str | None) -> str | None:
        problem = _guide_id_problem(channel, "programme channel")
        if problem is None and channel is not None and len(self._good_ids) < _GOOD_IDS_MAX:
            self._good_ids.add(channel)
        return problem

    def _wait(self, programme: Programme) -> Problem | None:
        """Keep a programme without a stop time until the next start on its channel (in bounded memory)."""
        held = _held_chars(programme)
        if len(self._pending) >= self._limits.max_channels or self._pending_chars + held > _PENDING_CHARS_MAX:
            return self.problem(programme.line, f"programme on {programme.channel!r} has no stop time")
        self._pending[programme.channel] = programme
        self._pending_chars += held
        return None

    def take_settled(self) -> list[Item]:
        settled, self.settled = self.settled, []
        return settled

    def _settle(self, pending: Programme, next_start: datetime) -> Item:
        if next_start <= pending.start:
            return self.problem(pending.line, f"programme on {pending.channel!r} has no usable stop time")
        self._stats.programmes += 1
        return replace(pending, stop=next_start)

    def flush(self) -> Iterator[Problem]:
        """Programmes still waiting for a stop time at the end of the document."""
        for pending in self._pending.values():
            yield self.problem(pending.line, f"programme on {pending.channel!r} has no stop time")
        self._pending.clear()
        self._pending_chars = 0

    def _fields(self, element: Any, channel: str, start: datetime, stop: datetime, line: int) -> Programme | Problem:
        """The programme's fields, in one pass over its children (the first of each kind counts)."""
        first: dict[Any, Any] = {}
        categories: list[str | None] = []
        episodes: list[Any] = []
        for child in element:
            tag = child.tag
            if tag == "category":
                categories.append(child.text)
            elif tag == "episode-num":
                episodes.append(child)
            elif tag not in first:
                first[tag] = child
        text = self._text
        title_element = first.get("title")
        if title_element is None or not (title := text.line(title_element.text, TITLE_MAX)):
            return self.problem(line, f"programme on {channel!r} has no title")
        return Programme(
            channel=channel,
            start=start,
            stop=stop,
            title=title,
            sub_title=self._child_text(first, "sub-title", SUB_TITLE_MAX),
            description=self._child_text(first, "desc", DESCRIPTION_MAX),
            categories=self._categories(categories) if categories else (),
            episode_num=self._episode(episodes) if episodes else "",
            icon=text.icon(first["icon"]) if "icon" in first else "",
            rating=self._rating(first["rating"]) if "rating" in first else "",
            lang=text.line(title_element.get("lang"), LANG_MAX),
            line=line,
        )

    def _child_text(self, first: dict[Any, Any], tag: str, limit: int) -> str:
        element = first.get(tag)
        if element is None:
            return ""
        if tag == "desc":
            return self._text.block(element.text, limit)
        return self._text.line(element.text, limit)

    def _categories(self, texts: list[str | None]) -> tuple[str, ...]:
        cleaned = [category for value in texts if (category := self._text.line(value, CATEGORY_MAX))]
        if len(cleaned) > CATEGORIES_MAX:
            self._text.truncated()  # the list is cut at CATEGORIES_MAX
        return tuple(cleaned[:CATEGORIES_MAX])

    def _episode(self, elements: list[Any]) -> str:
        """The ``onscreen`` episode number if there is one, else the first ``xmltv_ns`` one rendered alike."""
        for element in elements:
            if element.get("system") == "onscreen" and (onscreen := self._text.line(element.text, EPISODE_MAX)):
                return onscreen
        for element in elements:
            if element.get("system") == "xmltv_ns" and (rendered := _xmltv_ns(element.text or "")):
                return rendered
        return ""

    def _rating(self, element: Any) -> str:
        for child in element:
            if child.tag == "value":
                return self._text.line(child.text, RATING_MAX)
        return ""


# --- the document ----------------------------------------------------------------------------------------------


def _syntax_error(exc: Any) -> ValidationError:
    """The first fatal error of this parse (with ``resolve_entities=False`` lxml may raise a later, vaguer one)."""
    line, message = exc.lineno, exc.msg
    for entry in exc.error_log:
        if entry.level_name == "FATAL":
            line, message = entry.line, entry.message
            break
    message = _CONTROLS.sub(" ", str(message or exc)).strip()[:300]
    return _refuse(f"XMLTV syntax error at line {line or 1}: {message}")


def read_xmltv(stream: BinaryIO, limits: ReadLimits, stats: ReadStats) -> Iterator[Item]:
    """Stream the XMLTV document in ``stream`` (decompressed bytes, e.g. from :func:`open_document`).

    Yields a :class:`GuideChannel` per ``<channel>``, a :class:`Programme` per usable ``<programme>`` (a programme
    without a stop gets the next start on its channel, in document order) and a :class:`Problem` per skipped
    element; ``stats`` counts them as it goes. Raises :class:`ValidationError` (``field="xmltv"``) and stops for
    what makes the whole document unusable: an internal DTD subset or entity declaration, an XML syntax error
    (the message names the line), a root that is not ``<tv>``, more than ``limits.max_programmes`` programmes or
    ``limits.max_channels`` channels, and the stream's own caps.
    """
    source = _Replay(read_head(stream), stream)
    convert = _Converter(limits, stats)
    etree.clear_error_log()  # this thread's log: _syntax_error reads this parse's first error from it
    try:
        for _event, element in etree.iterparse(source, **SAFE_PARSE_OPTIONS):
            source.mark = source.position
            if element.tag == "programme":
                item = convert.programme(element)
                if convert.settled:
                    yield from convert.take_settled()
                if item is not None:
                    yield item
            else:
                yield convert.channel(element)
            element.clear(keep_tail=False)
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    yield from convert.flush()


__all__ = ["HEAD_MAX", "MAX_GAP_BYTES", "SAFE_PARSE_OPTIONS", "open_document", "read_xmltv"]
