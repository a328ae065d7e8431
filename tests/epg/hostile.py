"""Generators of hostile and huge XMLTV documents, and a child-process runner that measures reading them.

Every generator writes to the ``path`` it is given and streams to disk (constant memory), so the tests and
``bench/`` can make a 1 GiB bomb or a 1 GB guide without holding it. :func:`read_in_child` runs
:func:`headend.epg.reader.read_xmltv` (or just drains :func:`open_document`) in a fresh interpreter and reports
the outcome, the elapsed time and the peak RSS over the interpreter's own after-import baseline (T18). Peak RSS
is ``VmHWM`` from ``/proc/self/status`` (Linux): ``ru_maxrss`` survives ``exec`` and would report the parent's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import lzma
import random
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from headend.epg.entries import ReadLimits

MIB: Final = 1024 * 1024
_XML_HEAD: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_GUIDE_BODY: Final = (
    '  <channel id="ok.example"><display-name>OK</display-name></channel>\n'
    '  <programme start="20260101000000 +0000" stop="20260101010000 +0000" channel="ok.example">'
    "<title>Fine</title><desc>{desc}</desc></programme>\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- entity attacks (refused by the prolog scan) ----------------------------------------------------------------


def billion_laughs(path: Path) -> Path:
    """The classic: ten levels of ten references, 10^9 "lol"s (~3 GB) from under 1 KB."""
    entities = ['  <!ENTITY lol0 "lol">']
    entities += [f'  <!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    body = _GUIDE_BODY.format(desc="&lol9;")
    return _write(path, _XML_HEAD + "<!DOCTYPE tv [\n" + "\n".join(entities) + "\n]>\n<tv>\n" + body + "</tv>\n")


def quadratic_blowup(path: Path, size: int = 100_000) -> Path:
    """One entity of ``size`` characters referenced ``size`` times (size² characters, no nesting)."""
    entity = "a" * size
    refs = "&a;" * size
    return _write(
        path,
        _XML_HEAD + f'<!DOCTYPE tv [<!ENTITY a "{entity}">]>\n<tv>\n' + _GUIDE_BODY.format(desc=refs) + "</tv>\n",
    )


def xxe_file(path: Path, target: Path) -> Path:
    """An external entity reading a local file into a programme description."""
    return _write(
        path,
        _XML_HEAD
        + f'<!DOCTYPE tv [<!ENTITY xxe SYSTEM "{target.resolve().as_uri()}">]>\n<tv>\n'
        + _GUIDE_BODY.format(desc="&xxe;")
        + "</tv>\n",
    )


def xxe_url(path: Path, url: str) -> Path:
    """An external entity fetched from ``url`` (point it at a canary)."""
    return _write(
        path,
        _XML_HEAD
        + f'<!DOCTYPE tv [<!ENTITY xxe SYSTEM "{url}">]>\n<tv>\n'
        + _GUIDE_BODY.format(desc="&xxe;")
        + "</tv>\n",
    )


def parameter_entities(path: Path, url: str) -> Path:
    """An external parameter entity expanded inside the internal subset (the out-of-band XXE pattern)."""
    return _write(
        path,
        _XML_HEAD
        + f'<!DOCTYPE tv [\n  <!ENTITY % remote SYSTEM "{url}">\n  %remote;\n]>\n<tv>\n'
        + _GUIDE_BODY.format(desc="&exfil;")
        + "</tv>\n",
    )


def external_dtd(path: Path, url: str, *, entity_ref: bool = True) -> Path:
    """A DOCTYPE with only an external id at ``url`` (accepted, never fetched); optionally using one of its
    entities, which then stays unexpanded."""
    desc = "before &canary; after" if entity_ref else "plain"
    return _write(path, _XML_HEAD + f'<!DOCTYPE tv SYSTEM "{url}">\n<tv>\n' + _GUIDE_BODY.format(desc=desc) + "</tv>\n")


def junk_elements(path: Path, size: int = 64 * MIB, *, inside_programme: bool = False) -> Path:
    """``size`` bytes of tiny unknown elements (``<x/>``: ~30 times their size as parsed nodes), at the top of
    ``<tv>`` or inside one ``<programme>``, which only ends after them."""
    with path.open("wb") as file:
        file.write(b'<?xml version="1.0"?>\n<tv>\n')
        if inside_programme:
            file.write(b'<programme channel="a" start="20260101000000" stop="20260101010000"><title>t</title>')
        for _ in range(size // MIB):
            file.write(b"<x/>" * (MIB // 4))
        file.write(b"</programme>\n</tv>\n" if inside_programme else b"</tv>\n")
    return path


# --- compression bombs --------------------------------------------------------------------------------------------


def _whitespace(total: int) -> Iterator[bytes]:
    block = b" " * MIB
    for _ in range(total // MIB):
        yield block
    if total % MIB:
        yield b" " * (total % MIB)


def gzip_bomb(path: Path, decompressed_bytes: int = 1024 * MIB) -> Path:
    """One gzip member: ``<tv>``, whitespace, ``</tv>``; 1 GiB decompressed is about 1 MB on disk."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with path.open("wb") as file:
        file.write(compressor.compress(b'<?xml version="1.0"?>\n<tv>'))
        for block in _whitespace(max(decompressed_bytes - 40, 0)):
            file.write(compressor.compress(block))
        file.write(compressor.compress(b"</tv>\n"))
        file.write(compressor.flush())
    return path


def xz_bomb(path: Path, decompressed_bytes: int = 1024 * MIB) -> Path:
    """``<tv>``, whitespace, ``</tv>`` as concatenated xz streams (valid ``xz -d`` input; quick to make): the
    whitespace is one 64 MiB stream compressed once and repeated. 1 GiB decompressed is ~300 KB on disk."""
    unit = 64 * MIB
    body = lzma.compress(b" " * unit, format=lzma.FORMAT_XZ, preset=0)
    full, rest = divmod(max(decompressed_bytes - 40, 0), unit)
    with path.open("wb") as file:
        file.write(lzma.compress(b'<?xml version="1.0"?>\n<tv>', format=lzma.FORMAT_XZ))
        for _ in range(full):
            file.write(body)
        if rest:
            file.write(lzma.compress(b" " * rest, format=lzma.FORMAT_XZ, preset=0))
        file.write(lzma.compress(b"</tv>\n", format=lzma.FORMAT_XZ))
    return path


# --- a big, realistic guide -------------------------------------------------------------------------------------

_WORDS: Final = (
    "news weather sport film drama comedy live report world city night morning talk music quiz garden kitchen "
    "history science nature travel island mountain river ocean planet story mystery detective family school "
    "Zürich Kraków São Paulo Ελλάδα café naïve übermorgen 東京 février"
).split()
_CATEGORIES: Final = ("News", "Sport", "Movie", "Series", "Documentary", "Kids", "Music", "Talk", "Drama &amp; Crime")
_RATINGS: Final = ("TV-G", "TV-PG", "TV-14", "FSK 12", "PG-13")


def _pools(seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    titles = [" ".join(rng.choices(_WORDS, k=rng.randint(1, 4))).title() for _ in range(997)]
    titles[::50] = ["Tom &amp; Jerry &lt;Classic&gt;"] * len(titles[::50])
    descs = [" ".join(rng.choices(_WORDS, k=rng.randint(12, 60))).capitalize() + "." for _ in range(1999)]
    return titles, descs


def _slot_times(start: datetime, slots: int, minutes: int) -> tuple[list[str], list[str]]:
    """Each slot boundary as an XMLTV time, in UTC and in +0100 (the same instant)."""
    utc: list[str] = []
    cet: list[str] = []
    for index in range(slots + 1):
        moment = start + timedelta(minutes=index * minutes)
        utc.append(moment.strftime("%Y%m%d%H%M%S +0000"))
        cet.append((moment + timedelta(hours=1)).strftime("%Y%m%d%H%M%S +0100"))
    return utc, cet


@dataclass(slots=True)
class _GuideWriter:
    titles: list[str]
    descs: list[str]

    def programme(self, channel: int, slot: int, start: str, stop: str) -> str:
        key = channel * 7919 + slot
        parts = [
            f'  <programme start="{start}" stop="{stop}" channel="ch{channel}.example">\n'
            f'    <title lang="en">{self.titles[key % 997]}</title>\n'
        ]
        if key % 3 == 0:
            parts.append(f"    <sub-title>Part {slot % 9 + 1}</sub-title>\n")
        parts.append(f'    <desc lang="en">{self.descs[key % 1999]}</desc>\n')
        parts.append(f"    <category>{_CATEGORIES[key % 9]}</category>\n")
        if key % 2 == 0:
            parts.append(f'    <episode-num system="xmltv_ns">{key % 12}.{slot % 24}.0/1</episode-num>\n')
        if key % 4 == 1:
            parts.append(f'    <episode-num system="onscreen">S{key % 12 + 1:02d}E{slot % 24 + 1:02d}</episode-num>\n')
        if key % 5 == 0:
            parts.append(f'    <icon src="https://img.example/p/{key % 100_000}.jpg"/>\n')
        if key % 4 == 2:
            parts.append(f'    <rating system="VCHIP"><value>{_RATINGS[key % 5]}</value></rating>\n')
        parts.append("  </programme>\n")
        return "".join(parts)


def _blocks(channels: int, slots: int, *, extend: bool) -> Iterator[tuple[int, int, int]]:
    """(channel, first slot, end slot) in writing order: ~2000 programmes (~1 MB) at a time."""
    for channel in range(1, channels + 1):
        for first in range(0, slots, 2000):
            yield channel, first, min(first + 2000, slots)
    if extend:  # up to twice the slots, a block per channel in turn
        for first in range(slots, 2 * slots, 2000):
            for channel in range(1, channels + 1):
                yield channel, first, first + 2000


def big_guide(
    path: Path,
    *,
    channels: int,
    days: int,
    programme_minutes: int,
    target_bytes: int | None = None,
    start: datetime,
) -> int:
    """Write a realistic XMLTV guide, channel by channel (as grabbers do), and return its programme count.

    Channels are ``ch{n}.example`` (n from 1); each has back-to-back programmes of ``programme_minutes`` from
    ``start`` over ``days`` days (every third channel writes +0100 times). With ``target_bytes``, ``days`` is
    replaced by an estimate that makes the file about that size; if it falls short, further blocks of later
    programmes are appended channel by channel until the file is at least ``target_bytes`` (+ at most ~1 MB).
    """
    writer = _GuideWriter(*_pools())
    slots = days * 24 * 60 // programme_minutes
    if target_bytes is not None:
        sample = sum(
            len(writer.programme(n, n * 13, "20260101000000 +0000", "20260101000000 +0000")) for n in range(400)
        )
        slots = max(1, int(target_bytes / (channels * sample / 400)))
    utc, cet = _slot_times(start, 2 * slots + 2000, programme_minutes)
    with path.open("wb") as file:
        head = [_XML_HEAD, '<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="headend-tests">\n']
        head += [
            f'  <channel id="ch{n}.example">\n    <display-name>Channel {n}</display-name>\n'
            f'    <display-name>{n}</display-name>\n    <icon src="https://img.example/ch/{n}.png"/>\n  </channel>\n'
            for n in range(1, channels + 1)
        ]
        written = file.write("".join(head).encode())
        count = 0
        for channel, first, last in _blocks(channels, slots, extend=target_bytes is not None):
            if target_bytes is not None and written >= target_bytes:
                break
            times = cet if channel % 3 == 0 else utc
            chunk = [writer.programme(channel, slot, times[slot], times[slot + 1]) for slot in range(first, last)]
            count += len(chunk)
            written += file.write("".join(chunk).encode())
        file.write(b"</tv>\n")
    return count


# --- measuring a read in a fresh interpreter ------------------------------------------------------------------

_CHILD: Final = r"""
import json, sys, time
from pathlib import Path
from headend.epg.entries import ReadLimits, ReadStats
from headend.epg.reader import open_document, read_xmltv
from headend.errors import ValidationError

path, mode, limits = Path(sys.argv[1]), sys.argv[2], ReadLimits(**json.loads(sys.argv[3]))
def peak_rss_kib():  # VmHWM: ru_maxrss would carry the parent's peak over fork + exec
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")

stats = ReadStats()
baseline = peak_rss_kib()
started = time.perf_counter()
error, items, shown = None, 0, []
try:
    with open_document(path, limits, stats) as stream:
        if mode == "drain":
            while stream.read(65536):
                pass
        else:
            for item in read_xmltv(stream, limits, stats):
                items += 1
                if len(shown) < 50:
                    shown.append(repr(item))
except ValidationError as exc:
    error = exc.message
elapsed = time.perf_counter() - started
peak = peak_rss_kib()
print(json.dumps({
    "error": error, "items": items, "shown": shown, "elapsed": elapsed, "rss_delta_kib": peak - baseline,
    "baseline_kib": baseline, "xml_bytes": stats.xml_bytes, "compressed_bytes": stats.compressed_bytes,
    "programmes": stats.programmes, "channels": stats.channels, "problems": stats.problems,
}))
"""


@dataclass(frozen=True, slots=True)
class ChildRead:
    error: str | None  # the ValidationError message, None if the document was read to the end
    items: int
    shown: list[str]  # repr of the first 50 items
    elapsed: float  # seconds, open_document + reading
    rss_delta_kib: int  # peak RSS (VmHWM) while reading minus peak RSS after the imports
    baseline_kib: int
    xml_bytes: int
    compressed_bytes: int
    programmes: int
    channels: int
    problems: int
    output: str  # everything the child wrote (stdout + stderr)


async def read_in_child(path: Path, *, mode: str = "read", limits: ReadLimits | None = None) -> ChildRead:
    """Read ``path`` in a fresh interpreter: ``mode="read"`` runs read_xmltv, ``"drain"`` only decompresses."""
    limits_json = json.dumps(dataclasses.asdict(limits or ReadLimits()))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD,
        str(path),
        mode,
        limits_json,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    output = stdout.decode("utf-8", "replace") + stderr.decode("utf-8", "replace")
    if process.returncode != 0:
        raise AssertionError(f"reader child failed ({process.returncode}):\n{output}")
    report = json.loads(stdout)
    return ChildRead(**report, output=output)


__all__ = [
    "ChildRead",
    "big_guide",
    "billion_laughs",
    "external_dtd",
    "gzip_bomb",
    "junk_elements",
    "parameter_entities",
    "quadratic_blowup",
    "read_in_child",
    "xxe_file",
    "xxe_url",
    "xz_bomb",
]
