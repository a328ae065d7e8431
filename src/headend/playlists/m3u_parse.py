"""A streaming parser for an operator's M3U playlist of sources (``headend channel import-m3u``).

Invariants:
* Memory is bounded whatever the input: the file is read line by line, a line longer than ``max_line_bytes``
  is skipped (never buffered whole) and reported with its number, and parsing stops after ``max_entries``.
* Nothing is lost silently: every line that cannot become an entry yields a :class:`ParseProblem` with its
  1-based line number; everything else yields an :class:`M3uEntry`.
* Tolerant of what real files contain: a UTF-8 BOM, CRLF or CR line ends, Latin-1 where UTF-8 fails,
  ``#EXTGRP``, ``#EXTVLCOPT:http-user-agent=…``, blank lines and unknown directives.
* Values are returned as text; this module validates nothing about URLs (the catalog does) and does no I/O
  beyond reading the binary stream it is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

MAX_LINE_BYTES: Final = 64 * 1024
MAX_ENTRIES: Final = 100_000
_ATTRIBUTE: Final = re.compile(r'([A-Za-z0-9_-]+)="([^"]*)"')
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class M3uEntry:
    line: int  # line number of the URL
    name: str
    url: str
    attributes: dict[str, str] = field(default_factory=dict)  # tvg-id, tvg-name, tvg-logo, tvg-chno, group-title …
    group: str = ""  # group-title, or the last #EXTGRP
    user_agent: str = ""  # from #EXTVLCOPT:http-user-agent=


@dataclass(frozen=True, slots=True)
class ParseProblem:
    line: int
    message: str


@dataclass(slots=True)
class _Pending:
    line: int = 0
    name: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    group: str = ""
    user_agent: str = ""


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _lines(stream: BinaryIO, max_line_bytes: int) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each line; text is None for a line that was too long (its rest is skipped)."""
    number = 0
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while (rest := stream.readline(max_line_bytes)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        for piece in raw.rstrip(b"\r\n").split(b"\r"):  # old Mac line ends inside one "line"
            yield number, _decode(piece).strip()


def parse_extinf(text: str) -> tuple[dict[str, str], str]:
    """Attributes and title of ``#EXTINF:-1 key="value" …,Title``."""
    body = text.partition(":")[2]
    head, comma, title = _split_title(body)
    attributes = {key.lower(): value.strip() for key, value in _ATTRIBUTE.findall(head)}
    return attributes, title.strip() if comma else ""


def _split_title(body: str) -> tuple[str, str, str]:
    """Split at the first comma that is outside a quoted attribute value."""
    quoted = False
    for index, char in enumerate(body):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return body[:index], ",", body[index + 1 :]
    return body, "", ""


def parse(
    stream: BinaryIO, *, max_line_bytes: int = MAX_LINE_BYTES, max_entries: int = MAX_ENTRIES
) -> Iterator[M3uEntry | ParseProblem]:
    """Entries and problems, in file order."""
    pending: _Pending | None = None
    group = ""
    entries = 0
    for number, text in _lines(stream, max_line_bytes):
        if text is None:
            yield ParseProblem(number, f"line longer than {max_line_bytes} bytes skipped")
            pending = None
            continue
        if not text or text.upper().startswith("#EXTM3U"):
            continue
        if _CONTROL.search(text):
            yield ParseProblem(number, "control character in line")
            pending = None
            continue
        if text.startswith("#"):
            pending, group = _directive(text, number, pending, group)
            continue
        if entries >= max_entries:
            yield ParseProblem(number, f"more than {max_entries} entries: the rest of the file was not read")
            return
        entries += 1
        yield _entry(number, text, pending, group)
        pending = None


def _directive(text: str, number: int, pending: _Pending | None, group: str) -> tuple[_Pending | None, str]:
    upper = text.upper()
    if upper.startswith("#EXTINF"):
        attributes, title = parse_extinf(text)
        return _Pending(number, title, attributes, attributes.get("group-title", "")), group
    if upper.startswith("#EXTGRP:"):
        return pending, text.partition(":")[2].strip()
    if upper.startswith("#EXTVLCOPT:HTTP-USER-AGENT=") and pending is not None:
        pending.user_agent = text.partition("=")[2].strip()
    return pending, group


def _entry(number: int, url: str, pending: _Pending | None, group: str) -> M3uEntry:
    if pending is None:
        return M3uEntry(line=number, name="", url=url, group=group)
    name = pending.name or pending.attributes.get("tvg-name", "")
    return M3uEntry(
        line=number,
        name=name,
        url=url,
        attributes=pending.attributes,
        group=pending.group or group,
        user_agent=pending.user_agent,
    )
