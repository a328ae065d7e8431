"""The XMLTV reader on real files: fields, times, missing stops, problems with their lines, caps, compression."""

from __future__ import annotations

import gzip
import io
import lzma
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from headend.epg.entries import (
    CATEGORIES_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    GuideChannel,
    Problem,
    Programme,
    ReadLimits,
    ReadStats,
)
from headend.epg.reader import HEAD_MAX, MAX_GAP_BYTES, open_document, read_xmltv
from headend.epg.xmltv_time import parse_xmltv_time
from headend.errors import ValidationError
from tests.epg.hostile import big_guide

Item = GuideChannel | Programme | Problem
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'

FULL_GUIDE = (
    HEAD
    + """<tv generator-info-name="test">
  <channel id="one.example">
    <display-name lang="en">  One TV  </display-name>
    <display-name>1</display-name>
    <display-name>   </display-name>
    <icon src="https://img.example/one.png"/>
  </channel>
  <channel id="zwei.example"><display-name>Zwei &#8211; Ünïcödé 📺</display-name><icon src="file:///etc/passwd"/></channel>
  <programme start="20260301200000 +0100" stop="20260301213000 +0100" channel="one.example">
    <title lang="de">Tatort &amp; Co</title>
    <title lang="en">Crime scene</title>
    <sub-title>Folge &lt;1&gt;</sub-title>
    <desc lang="de"><![CDATA[Ein <Fall> & mehr.]]>
Zweite Zeile.</desc>
    <credits><director>Someone</director></credits>
    <category>Krimi</category>
    <category lang="en">Crime</category>
    <episode-num system="xmltv_ns">0.4.</episode-num>
    <episode-num system="onscreen">S01 E05</episode-num>
    <icon src="http://img.example/tatort.jpg"/>
    <rating system="FSK"><value>12</value></rating>
  </programme>
  <programme start="20260301213000 +0100" stop="20260301220000 +0100" channel="one.example">
    <title>Caf&#233; &#x1F4FA;</title>
    <episode-num system="xmltv_ns">2 . 9/20 . 0/1</episode-num>
    <icon src="data:image/png;base64,AAAA"/>
  </programme>
</tv>
"""
)


def write(tmp_path: Path, text: str, name: str = "guide.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_path(path: Path, limits: ReadLimits | None = None) -> tuple[list[Item], ReadStats]:
    limits = limits or ReadLimits()
    stats = ReadStats()
    with open_document(path, limits, stats) as stream:
        items = list(read_xmltv(stream, limits, stats))
    return items, stats


def read_text(tmp_path: Path, text: str, limits: ReadLimits | None = None) -> tuple[list[Item], ReadStats]:
    return read_path(write(tmp_path, text), limits)


def guide(body: str) -> str:
    return HEAD + "<tv>\n" + body + "</tv>\n"


def programme(channel: str = "a", start: str = "20260101000000 +0000", stop: str | None = None, inner: str = "") -> str:
    stop_attr = f' stop="{stop}"' if stop is not None else ""
    return f'<programme start="{start}"{stop_attr} channel="{channel}">{inner or "<title>T</title>"}</programme>\n'


def programmes(items: list[Item]) -> list[Programme]:
    return [item for item in items if isinstance(item, Programme)]


def problems(items: list[Item]) -> list[Problem]:
    return [item for item in items if isinstance(item, Problem)]


def refused(tmp_path: Path, text: str, limits: ReadLimits | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        read_text(tmp_path, text, limits)
    assert caught.value.field == "xmltv"
    return caught.value.message


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 1, hour, minute, tzinfo=UTC)


# --- a normal guide ----------------------------------------------------------------------------------------------


def test_a_full_guide_gives_every_field(tmp_path: Path) -> None:
    items, stats = read_text(tmp_path, FULL_GUIDE)

    assert items == [
        GuideChannel(id="one.example", names=("One TV", "1"), icon="https://img.example/one.png", line=4),
        GuideChannel(id="zwei.example", names=("Zwei \u2013 Ünïcödé 📺",), icon="", line=10),
        Programme(
            channel="one.example",
            start=at(19),
            stop=at(20, 30),
            title="Tatort & Co",
            sub_title="Folge <1>",
            description="Ein <Fall> & mehr.\nZweite Zeile.",
            categories=("Krimi", "Crime"),
            episode_num="S01 E05",
            icon="http://img.example/tatort.jpg",
            rating="12",
            lang="de",
            line=11,
        ),
        Programme(
            channel="one.example",
            start=at(20, 30),
            stop=at(21),
            title="Café 📺",
            episode_num="S03E10",
            line=25,
        ),
    ]
    assert (stats.channels, stats.programmes, stats.problems) == (2, 2, 0)
    assert stats.xml_bytes == stats.compressed_bytes == len(FULL_GUIDE.encode())
    assert stats.skipped == {}


def test_times_come_out_as_aware_utc(tmp_path: Path) -> None:
    items, _ = read_text(tmp_path, FULL_GUIDE)
    for item in programmes(items):
        assert item.start.tzinfo is UTC
        assert item.stop.tzinfo is UTC


@pytest.mark.parametrize("compress", ["gzip", "gzip-members", "xz", "xz-streams", "plain"])
def test_gzip_xz_and_plain_read_the_same(tmp_path: Path, compress: str) -> None:
    raw = FULL_GUIDE.encode()
    half = len(raw) // 2
    packed = {
        "gzip": gzip.compress(raw),
        "gzip-members": gzip.compress(raw[:half]) + gzip.compress(raw[half:]) + b"\0" * 8,
        "xz": lzma.compress(raw),
        "xz-streams": lzma.compress(raw[:half]) + lzma.compress(raw[half:]),
        "plain": raw,
    }[compress]
    path = tmp_path / "guide.xml"  # the name says nothing: the magic decides
    path.write_bytes(packed)
    expected, _ = read_path(write(tmp_path, FULL_GUIDE, "plain.xml"))

    items, stats = read_path(path)

    assert items == expected
    assert stats.compressed_bytes == len(packed)
    assert stats.xml_bytes == len(raw)


def test_read_xmltv_takes_any_binary_stream() -> None:
    stats = ReadStats()
    items = list(read_xmltv(io.BytesIO(FULL_GUIDE.encode()), ReadLimits(), stats))
    assert len(programmes(items)) == 2
    assert stats.channels == 2


def test_generated_big_guide_reads_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    count = big_guide(path, channels=6, days=2, programme_minutes=30, start=datetime(2026, 1, 1, tzinfo=UTC))

    items, stats = read_path(path)

    assert count == 6 * 2 * 48
    assert stats.programmes == count
    assert stats.channels == 6
    assert problems(items) == []
    got = programmes(items)
    assert {p.channel for p in got} == {f"ch{n}.example" for n in range(1, 7)}
    assert all(p.stop - p.start == timedelta(minutes=30) for p in got)
    assert got[-1].stop == datetime(2026, 1, 3, tzinfo=UTC)  # +0100 channels land on the same instants


def test_big_guide_stops_near_target_bytes(tmp_path: Path) -> None:
    path = tmp_path / "sized.xml"
    count = big_guide(
        path, channels=3, days=1, programme_minutes=15, target_bytes=2_000_000, start=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert 1_900_000 < path.stat().st_size < 3_200_000
    _, stats = read_path(path)
    assert stats.programmes == count


# --- times ---------------------------------------------------------------------------------------------------------

T = datetime(2026, 3, 1, 20, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260301201530 +0000", T),
        ("20260301211530 +0100", T),
        ("20260301151530 -0500", T),
        ("20260301211530+0100", T),
        ("20260301211530 +01:00", T),
        ("20260301201530", T),
        ("20260301201530 Z", T),
        ("20260301201530 UTC", T),
        ("  20260301201530 +0000  ", T),
        ("20260302014530 +0530", T),
        ("202603012015", T.replace(second=0)),
        ("202603012015 +0000", T.replace(second=0)),
        ("2026030120", T.replace(minute=0, second=0)),
        ("20260301", datetime(2026, 3, 1, tzinfo=UTC)),
        ("20260301 +0100", datetime(2026, 2, 28, 23, tzinfo=UTC)),
    ],
)
def test_xmltv_time_forms(text: str, expected: datetime) -> None:
    parsed = parse_xmltv_time(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["", "tomorrow", "2026", "202603", "20261301000000", "20260230000000", "20260301250000", "20260301000000 +2500",
     "20260301000000 +0160", "20260301000000 EST", "20260301000000 +01", "00010101000000 +0100", "2026030100000"],
)  # fmt: skip
def test_unreadable_xmltv_times(text: str) -> None:
    assert parse_xmltv_time(text) is None


def test_huge_time_attributes_are_unreadable_not_cached() -> None:
    assert parse_xmltv_time("20260301201530 +0000" + " " * 100) == T
    assert parse_xmltv_time("2" * 1_000_000) is None


def test_offsets_in_a_document(tmp_path: Path) -> None:
    body = (
        programme(start="20260301201530 -0230", stop="20260301211530 -0230")
        + programme(channel="b", start="20260301201530", stop="20260301203000 +0000")
        + programme(channel="c", start="202603012015 +0100", stop="2026030121 +0100")
    )
    items, _ = read_text(tmp_path, guide(body))
    got = [(p.start, p.stop) for p in programmes(items)]
    assert got == [
        (datetime(2026, 3, 1, 22, 45, 30, tzinfo=UTC), datetime(2026, 3, 1, 23, 45, 30, tzinfo=UTC)),
        (T, datetime(2026, 3, 1, 20, 30, tzinfo=UTC)),
        (datetime(2026, 3, 1, 19, 15, tzinfo=UTC), datetime(2026, 3, 1, 20, tzinfo=UTC)),
    ]
    assert got[0][0] == datetime(2026, 3, 1, 20, 15, 30, tzinfo=timezone(timedelta(hours=-2, minutes=-30)))


# --- missing stop times ------------------------------------------------------------------------------------------


def test_a_missing_stop_is_the_next_start_on_the_same_channel(tmp_path: Path) -> None:
    body = (
        programme("a", "20260301180000 +0000", None, "<title>A1</title>")  # line 4
        + programme("b", "20260301180000 +0000", None, "<title>B1</title>")  # line 5
        + programme("a", "20260301183000 +0000", "20260301190000 +0000", "<title>A2</title>")  # line 6
        + programme("b", "20260301184500 +0000", None, "<title>B2</title>")  # line 7
        + programme("a", "20260301190000 +0000", "not a time", "<title>A3</title>")  # line 8: unreadable = missing
        + programme("b", "20260301190000 +0000", "20260301200000 +0000", "<title>B3</title>")  # line 9
    )
    items, stats = read_text(tmp_path, guide(body))

    got = [(p.title, p.start.hour, p.start.minute, p.stop.hour, p.stop.minute, p.line) for p in programmes(items)]
    assert got == [
        ("A1", 18, 0, 18, 30, 4),
        ("A2", 18, 30, 19, 0, 6),
        ("B1", 18, 0, 18, 45, 5),
        ("B2", 18, 45, 19, 0, 7),
        ("B3", 19, 0, 20, 0, 9),
    ]
    assert problems(items) == [Problem(8, "programme on 'a' has no stop time")]  # nothing followed A3
    assert (stats.programmes, stats.problems) == (5, 1)


def test_a_missing_stop_followed_by_an_earlier_start_is_a_problem(tmp_path: Path) -> None:
    body = programme("a", "20260301180000 +0000", None) + programme("a", "20260301170000 +0000", "20260301180000")
    items, _ = read_text(tmp_path, guide(body))
    assert problems(items) == [Problem(4, "programme on 'a' has no usable stop time")]
    assert [p.line for p in programmes(items)] == [5]


def test_programmes_waiting_for_a_stop_are_bounded(tmp_path: Path) -> None:
    body = "".join(programme(channel, "20260301190000") for channel in ("a", "b", "c"))
    items, _ = read_text(tmp_path, guide(body), ReadLimits(max_channels=2))
    assert problems(items) == [
        Problem(6, "programme on 'c' has no stop time"),  # at once: two channels are waiting already
        Problem(4, "programme on 'a' has no stop time"),
        Problem(5, "programme on 'b' has no stop time"),
    ]


# --- problems: skipped elements, with their lines ------------------------------------------------------------------


def test_every_skipped_element_is_a_problem_with_its_line(tmp_path: Path) -> None:
    long_id = "x" * 201
    body = (
        "<channel><display-name>No id</display-name></channel>\n"  # 4
        f'<channel id="{long_id}"/>\n'  # 5
        '<channel id="tab&#9;id"/>\n'  # 6
        '<programme start="20260301180000" stop="20260301190000"><title>No channel</title></programme>\n'  # 7
        + programme("", "20260301180000", "20260301190000")  # 8
        + programme("a", "yesterday", "20260301190000")  # 9
        + programme("a", "", "20260301190000")  # 10
        + programme("a", "20260301190000", "20260301190000")  # 11: start == stop
        + programme("a", "20260301190000", "20260301180000")  # 12: stop before start
        + programme("a", "20260301190000", "20260301200000", "<desc>no title</desc>")  # 13
        + programme("a", "20260301190000", "20260301200000", "<title> \n </title>")  # 14-15
        + programme("a\u0085b", "20260301190000", "20260301200000")  # 16
        + '<programme\n  channel="a"\n  start="2026-03-01"><title>T</title></programme>\n'  # 17-19
        + programme("ok", "20260301190000", "20260301200000")  # 20
    )
    items, stats = read_text(tmp_path, guide(body))

    assert problems(items) == [
        Problem(4, "channel without an id"),
        Problem(5, "channel id longer than 200 characters"),
        Problem(6, "channel id with control characters"),
        Problem(7, "programme channel without an id"),
        Problem(8, "programme channel without an id"),
        Problem(9, "programme on 'a' has an unreadable start time 'yesterday'"),
        Problem(10, "programme on 'a' has an unreadable start time ''"),
        Problem(11, "programme on 'a' does not stop after it starts"),
        Problem(12, "programme on 'a' does not stop after it starts"),
        Problem(13, "programme on 'a' has no title"),
        Problem(14, "programme on 'a' has no title"),
        Problem(16, "programme channel id with control characters"),
        Problem(19, "programme on 'a' has an unreadable start time '2026-03-01'"),  # where its start tag ends,
    ]
    assert [(p.channel, p.line) for p in programmes(items)] == [("ok", 20)]
    assert (stats.channels, stats.programmes, stats.problems) == (0, 1, 13)


def test_line_numbers_beyond_65535(tmp_path: Path) -> None:
    text = guide("\n" * 70_000 + programme("a", "20260301190000"))
    items, _ = read_text(tmp_path, text)
    assert problems(items) == [Problem(70_004, "programme on 'a' has no stop time")]


# --- text cleaning and truncation ----------------------------------------------------------------------------------


def test_control_characters_are_stripped(tmp_path: Path) -> None:
    inner = (
        "<title>A&#x85;B&#9;C\nD&#13;E&#x9f;</title>"
        "<sub-title>\tSub&#x7f;title\n</sub-title>"
        "<desc>Line one&#13;\n\tIndented&#x80;\nLine three</desc>"
        "<category>Cat&#x1b;</category>"
    )
    body = programme("a", "20260301190000", "20260301200000", inner).replace("&#x1b;", "")  # ESC is not XML 1.0
    items, _ = read_text(tmp_path, guide(body + '<channel id="c"><display-name>N&#x85;ame\tX</display-name></channel>'))

    (got,) = programmes(items)
    assert got.title == "AB C D E"
    assert got.sub_title == "Subtitle"
    assert got.description == "Line one\n\tIndented\nLine three"
    assert got.categories == ("Cat",)
    channel = next(item for item in items if isinstance(item, GuideChannel))
    assert channel.names == ("Name X",)


def test_fields_are_truncated_and_counted(tmp_path: Path) -> None:
    categories = "".join(f"<category>c{n}</category>" for n in range(CATEGORIES_MAX + 3))
    inner = (
        f"<title>{'t' * (TITLE_MAX + 50)}</title><desc>{'d' * (DESCRIPTION_MAX + 1)}</desc>{categories}"
        f'<episode-num system="onscreen">{"e" * 300}</episode-num><rating><value>{"r" * 80}</value></rating>'
        f'<icon src="https://img.example/{"i" * 3000}.png"/>'
    )
    items, stats = read_text(tmp_path, guide(programme("a", "20260301190000", "20260301200000", inner)))

    (got,) = programmes(items)
    assert got.title == "t" * TITLE_MAX
    assert got.description == "d" * DESCRIPTION_MAX
    assert got.categories == tuple(f"c{n}" for n in range(CATEGORIES_MAX))
    assert got.episode_num == "e" * 100
    assert got.rating == "r" * 50
    assert got.icon == ""  # a cut URL is no URL
    assert stats.skipped == {"truncated": 5, "icon": 1}
    assert problems(items) == []


@pytest.mark.parametrize(
    ("episodes", "expected"),
    [
        ('<episode-num system="xmltv_ns">0.4.0/1</episode-num>', "S01E05"),
        ('<episode-num system="xmltv_ns"> 2/5 . 9/20 . </episode-num>', "S03E10"),
        ('<episode-num system="xmltv_ns">.4.</episode-num>', "E05"),
        ('<episode-num system="xmltv_ns">1..</episode-num>', "S02"),
        ('<episode-num system="xmltv_ns">..0</episode-num>', ""),
        ('<episode-num system="xmltv_ns">garbage</episode-num>', ""),
        ('<episode-num system="xmltv_ns">9999999999999.1.</episode-num>', "E02"),
        ('<episode-num system="dd_progid">EP0123</episode-num>', ""),
        ('<episode-num system="onscreen"> </episode-num><episode-num system="xmltv_ns">0.0.</episode-num>', "S01E01"),
        (
            '<episode-num system="xmltv_ns">0.0.</episode-num><episode-num system="onscreen">Ep. 1</episode-num>',
            "Ep. 1",
        ),
    ],
)
def test_episode_numbers(tmp_path: Path, episodes: str, expected: str) -> None:
    inner = "<title>T</title>" + episodes
    items, _ = read_text(tmp_path, guide(programme("a", "20260301190000", "20260301200000", inner)))
    assert programmes(items)[0].episode_num == expected


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("https://img.example/a.png", "https://img.example/a.png"),
        ("HTTP://IMG.example/a.png", "HTTP://IMG.example/a.png"),
        ("  http://img.example/a.png  ", "http://img.example/a.png"),
        ("javascript:alert(1)", ""),
        ("file:///etc/passwd", ""),
        ("//img.example/a.png", ""),
        ("http://img.example/a b.png", ""),
        ("", ""),
    ],
)
def test_icons_are_http_urls_only(tmp_path: Path, src: str, expected: str) -> None:
    inner = f'<title>T</title><icon src="{src}"/>'
    body = programme("a", "20260301190000", "20260301200000", inner) + f'<channel id="c"><icon src="{src}"/></channel>'
    items, _ = read_text(tmp_path, guide(body))
    assert programmes(items)[0].icon == expected
    assert next(item for item in items if isinstance(item, GuideChannel)).icon == expected


def test_unexpanded_entities_of_an_external_dtd_are_left_out(tmp_path: Path) -> None:
    inner = "<title>Before &nbsp;after</title><desc>&unknown;</desc>"
    items, _ = read_text(tmp_path, guide(programme("a", "20260301190000", "20260301200000", inner)))
    (got,) = programmes(items)
    assert got.title == "Before"
    assert got.description == ""


# --- documents refused whole ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><rss><channel id="a"/></rss>',
        "<TV></TV>",
        '<x:tv xmlns:x="urn:x"></x:tv>',
        "<!-- a guide --><html><body/></html>",
    ],
)
def test_a_root_that_is_not_tv_is_refused(tmp_path: Path, text: str) -> None:
    assert "not <tv>" in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (guide('<channel id="a">\n<display-name>x</channel>\n'), 5),
        (guide(programme("a", "20260301190000").replace("</programme>", "")), 5),
        (HEAD + "<tv>\n<channel id='a'/>\n", 5),
        (guide("<channel id='a'>&#1;</channel>"), 4),
        (guide("&undefined-and-no-dtd;").replace(HEAD, ""), 2),
        ("", 1),
        ("just text", 1),
    ],
)
def test_syntax_errors_are_refused_with_their_line(tmp_path: Path, text: str, line: int) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(f"XMLTV syntax error at line {line}:"), message


def test_invalid_utf8_is_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(b"<tv>\n<channel id='a'><display-name>\xff\xfe</display-name></channel></tv>")
    with pytest.raises(ValidationError, match="syntax error at line 2"):
        read_path(path)


def test_latin1_documents_are_read(tmp_path: Path) -> None:
    path = tmp_path / "latin1.xml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        b'<tv><channel id="a"><display-name>Caf\xe9</display-name></channel></tv>'
    )
    items, _ = read_path(path)
    assert items == [GuideChannel(id="a", names=("Café",), line=2)]


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("GB2312", "中文"), ("Shift_JIS", "日本語"), ("EUC-KR", "한국어"), ("Big5", "中文"), ("windows-1251", "Привет")],
)
def test_other_ascii_compatible_encodings_are_read(tmp_path: Path, encoding: str, name: str) -> None:
    path = tmp_path / "encoded.xml"
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<tv><channel id="a"><display-name>{name}</display-name>'
    text += "</channel></tv>"
    path.write_bytes(text.encode(encoding))
    items, _ = read_path(path)
    assert items == [GuideChannel(id="a", names=(name,), line=2)]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('<?xml version="1.0" encoding="UTF-16"?><tv/>'.encode("utf-16"), "UTF-16"),
        ("<tv/>".encode("utf-16-le"), "UTF-16"),
        ("<tv/>".encode("utf-32"), "UTF-16, UTF-32"),
        (b"<tv>\0</tv>", "NUL"),
        (b'<?xml version="1.0" encoding="ISO-2022-JP"?><tv/>', "'ISO-2022-JP' is not supported"),
        (
            '<?xml version="1.0" encoding="cp037"?><!DOCTYPE tv [<!ENTITY a "b">]><tv/>'.encode("cp037"),
            "not start with",
        ),
        (b"\n\n  text<tv/>", "syntax error at line 3: the document does not start with an element"),
        (b'<?xml version="1.0" encoding="UTF-7"?><tv/>', "'UTF-7' is not supported"),
        (b'<?xml version="1.0" encoding="EBCDIC-US"?><tv/>', "not supported"),
        (b"<!DOCTYPE tv [ ]><tv/>", "internal subset"),
        (b'<!DOCTYPE tv SYSTEM "odd[name].dtd"><tv/>', "internal subset"),
        (b"<!-- <!ENTITY x 'y'> --><tv/>", "declares entities"),
        (b"<!--" + b" " * HEAD_MAX + b"--><tv/>", "prolog"),
        (b"<?xml version='1.0'?>\n" + b" " * (HEAD_MAX + 10) + b"<tv/>", "prolog"),
        (b"<tv" + b" " * (HEAD_MAX + 10) + b"/>", "prolog"),
    ],
)
def test_prolog_rules(tmp_path: Path, raw: bytes, words: str) -> None:
    path = tmp_path / "prolog.xml"
    path.write_bytes(raw)
    with pytest.raises(ValidationError, match=words):
        read_path(path)


def test_a_prolog_with_comments_pis_and_external_doctype_is_fine(tmp_path: Path) -> None:
    text = (
        '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<?xml-stylesheet href="x.xsl"?>\n<!-- made by a grabber -->\n'
        '<!DOCTYPE tv PUBLIC "-//XMLTV//DTD" "http://127.0.0.1:9/xmltv.dtd">\n<!-- ok -->\n'
        '<tv source-info-name="a > b"><channel id="a"/></tv>'
    )
    items, _ = read_text(tmp_path, text)
    assert items == [GuideChannel(id="a", names=(), line=6)]


def test_max_programmes_and_max_channels(tmp_path: Path) -> None:
    channels = "".join(f'<channel id="c{n}"/>\n' for n in range(3))
    body = channels + "".join(programme("a", f"2026030119{n:02d}00", f"2026030119{n + 1:02d}00") for n in range(3))
    text = guide(body)

    assert len(read_text(tmp_path, text, ReadLimits(max_programmes=3, max_channels=3))[0]) == 6
    assert (
        refused(tmp_path, text, ReadLimits(max_programmes=2))
        == "the XMLTV document has more than 2 programmes (line 9)"
    )
    assert refused(tmp_path, text, ReadLimits(max_channels=2)) == "the XMLTV document has more than 2 channels (line 6)"


def test_programmes_over_the_cap_count_even_when_they_are_problems(tmp_path: Path) -> None:
    body = "".join(programme("", "20260301190000") for _ in range(3))
    assert "more than 2 programmes" in refused(tmp_path, guide(body), ReadLimits(max_programmes=2))


def test_no_channel_or_programme_for_too_long_is_refused(tmp_path: Path) -> None:
    junk = "<junk>" + "<x/>" * (MAX_GAP_BYTES // 4 + 20_000) + "</junk>\n"
    message = refused(tmp_path, guide(programme("a", "20260301190000", "20260301200000") + junk))
    assert "no <channel> or <programme> ended within 1 MiB" in message


def test_the_stream_caps_stop_the_reader(tmp_path: Path) -> None:
    text = guide("".join(f'<channel id="c{n}"/>\n' for n in range(2000)))
    size = len(text.encode())
    assert "larger than 1000 bytes" in refused(tmp_path, text, ReadLimits(max_compressed_bytes=1000))
    assert "once decompressed" in refused(tmp_path, text, ReadLimits(max_xml_bytes=size - 1))
    assert len(read_text(tmp_path, text, ReadLimits(max_xml_bytes=size, max_compressed_bytes=size))[0]) == 2000


# --- open_document: decompression caps and broken files ---------------------------------------------------------


def drain(path: Path, limits: ReadLimits | None = None) -> ReadStats:
    stats = ReadStats()
    with open_document(path, limits or ReadLimits(), stats) as stream:
        while stream.read(100_000):
            pass
    return stats


def refused_open(path: Path, limits: ReadLimits | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        drain(path, limits)
    assert caught.value.field == "xmltv"
    return caught.value.message


@pytest.mark.parametrize("kind", ["gzip", "xz"])
def test_compressed_caps(tmp_path: Path, kind: str) -> None:
    compress = gzip.compress if kind == "gzip" else lzma.compress
    path = tmp_path / "doc"
    path.write_bytes(compress(b"<tv>" + b" " * (20 * 1024 * 1024) + b"</tv>"))
    size = path.stat().st_size

    assert "compression bomb" in refused_open(path)  # ratio ~1000 > 100, past 16 MiB
    stats = drain(path, ReadLimits(max_compression_ratio=10**6))
    assert stats.xml_bytes == 20 * 1024 * 1024 + 9
    assert stats.compressed_bytes == size
    assert "larger than 1 MiB once decompressed" in refused_open(path, ReadLimits(max_xml_bytes=1024 * 1024))
    assert f"larger than {size - 1} bytes" in refused_open(path, ReadLimits(max_compressed_bytes=size - 1))


def test_small_files_may_compress_very_well(tmp_path: Path) -> None:
    path = tmp_path / "small.gz"
    path.write_bytes(gzip.compress(b"<tv>" + b" " * (8 * 1024 * 1024) + b"</tv>"))
    assert drain(path).xml_bytes == 8 * 1024 * 1024 + 9


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda raw: gzip.compress(raw)[:-20], "truncated"),
        (lambda raw: gzip.compress(raw)[:5], "truncated"),
        (lambda raw: lzma.compress(raw)[:-30], "truncated"),
        (lambda raw: gzip.compress(raw)[:30] + b"\x00garbage" * 20 + gzip.compress(raw)[30:], "gzip data is corrupt"),
        (lambda raw: gzip.compress(raw)[:-8] + b"\0\0\0\0\0\0\0\0", "gzip data is corrupt"),
        (lambda raw: lzma.compress(raw)[:40] + b"garbage" + lzma.compress(raw)[40:], "xz data is corrupt"),
        (lambda raw: gzip.compress(raw) + b"trailing junk", "unexpected bytes after the end of a gzip stream"),
        (lambda raw: b"PK\x03\x04" + raw, "zip archive"),
        (lambda raw: b"BZh91AY&SY" + raw, "bzip2"),
        (lambda raw: b"\x28\xb5\x2f\xfd" + raw, "zstd"),
    ],
)
def test_broken_or_unsupported_files(tmp_path: Path, make: Callable[[bytes], bytes], words: str) -> None:
    path = tmp_path / "broken"
    path.write_bytes(make(FULL_GUIDE.encode()))
    message = refused_open(path)
    assert words in message


def test_xz_needing_a_huge_dictionary_is_refused(tmp_path: Path) -> None:
    filters: list[dict[str, int]] = [{"id": lzma.FILTER_LZMA2, "dict_size": 1536 * 1024 * 1024}]
    path = tmp_path / "bigdict.xz"
    path.write_bytes(lzma.compress(FULL_GUIDE.encode(), format=lzma.FORMAT_XZ, filters=filters))
    assert "too much memory" in refused_open(path)


def test_the_stream_closes_its_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL_GUIDE)
    stats = ReadStats()
    stream = open_document(path, ReadLimits(), stats)
    assert stream.read(5) == b"<?xml"
    stream.close()
    assert stream.closed
    with pytest.raises(ValueError, match="closed"):
        stream.read(1)


def test_a_file_over_the_size_cap_is_refused_on_open(tmp_path: Path) -> None:
    path = write(tmp_path, FULL_GUIDE)
    with pytest.raises(ValidationError, match="larger than 100 bytes"):
        open_document(path, ReadLimits(max_compressed_bytes=100), ReadStats())
