"""``<programme>`` elements on plain data: golden output, the XMLTV DTD's element order (validated by lxml against
the DTD's content model in ``xmltv.dtd`` next to this file), escaping of hostile text, UTC times, chunking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from lxml import etree

from headend.catalog.epg_records import ProgrammeRecord
from headend.playlists.xmltv import GuideChannel, programme_element, render, xmltv_time

DTD_PATH = Path(__file__).with_name("xmltv.dtd")
START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
HOSTILE = '<b>Bold</b> ]]> &amp; "q" \x01\x07\x1b\x7f\x85 é\u2028 <!ENTITY x "y"> &x;'


def record(**fields: object) -> ProgrammeRecord:
    values: dict[str, object] = {
        "id": 1, "source_id": 1, "channel_id": 1, "start": START, "stop": START + timedelta(hours=1),
        "title": "News", "sub_title": "", "description": "", "categories": (), "episode_num": "", "icon": "",
        "rating": "", "lang": "",
    }  # fmt: skip
    values.update(fields)
    return ProgrammeRecord(**values)  # type: ignore[arg-type]


FULL = record(
    title="Pilot",
    sub_title="Part 1",
    description="It starts.",
    categories=("Drama", "Comedy"),
    episode_num="S01E01",
    icon="http://img.example/p.png?a=1&b=2",
    rating="PG-13",
    lang="en",
)


def parser() -> etree.XMLParser:
    """Safe parsing: no network, no entity expansion, no external DTD loading."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse(document: bytes) -> etree._Element:
    return etree.fromstring(document, parser())


def assert_valid(root: etree._Element) -> None:
    dtd = etree.DTD(str(DTD_PATH))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    for programme in root.iter("programme"):
        for name in ("start", "stop"):
            assert re.fullmatch(r"\d{14} \+0000", programme.attrib[name]), programme.attrib[name]
        assert (programme.findtext("title") or "").strip(), "a title must have text"
    for element in root.iter():
        assert "\n" not in (element.text or "").strip(), f"newline inside <{element.tag}>"


def document(*programmes: ProgrammeRecord, channel: str = "campus.tv") -> bytes:
    return b"".join(render([GuideChannel(channel, "Campus", "")], [(channel, programmes)]))


def test_golden_programme_with_every_field() -> None:
    assert programme_element(FULL, "campus.tv") == (
        '  <programme start="20260329003000 +0000" stop="20260329013000 +0000" channel="campus.tv">'
        '<title lang="en">Pilot</title><sub-title>Part 1</sub-title><desc>It starts.</desc>'
        "<category>Drama</category><category>Comedy</category>"
        '<icon src="http://img.example/p.png?a=1&amp;b=2"/>'
        '<episode-num system="onscreen">S01E01</episode-num>'
        "<rating><value>PG-13</value></rating></programme>\n"
    )


def test_minimal_programme_has_only_title() -> None:
    assert programme_element(record(), "c") == (
        '  <programme start="20260329003000 +0000" stop="20260329013000 +0000" channel="c"><title>News</title>'
        "</programme>\n"
    )


def test_document_follows_the_dtd() -> None:
    root = parse(document(FULL, record(start=START + timedelta(hours=1), stop=START + timedelta(hours=2))))
    assert_valid(root)
    assert [child.tag for child in root] == ["channel", "programme", "programme"]
    children = [child.tag for child in root.find("programme")]
    assert children == ["title", "sub-title", "desc", "category", "category", "icon", "episode-num", "rating"]
    assert root.find("programme/rating/value").text == "PG-13"


def test_the_dtd_check_refuses_a_wrong_order() -> None:
    """The validator itself catches what the DTD forbids (else the tests above would prove nothing)."""
    wrong = (
        b'<tv><channel id="c"><display-name>C</display-name></channel>'
        b'<programme start="20260329003000 +0000" channel="c"><desc>d</desc><title>t</title></programme></tv>'
    )
    dtd = etree.DTD(str(DTD_PATH))
    assert not dtd.validate(parse(wrong))
    no_channel = b'<tv><programme start="20260329003000 +0000"><title>t</title></programme></tv>'
    assert not dtd.validate(parse(no_channel))
    late_channel = (
        b'<tv><programme start="1" channel="c"><title>t</title></programme>'
        b'<channel id="c"><display-name>C</display-name></channel></tv>'
    )
    assert not dtd.validate(parse(late_channel))


def test_hostile_text_stays_text() -> None:
    hostile = record(
        title=HOSTILE,
        sub_title=HOSTILE,
        description=HOSTILE + "\nsecond line",
        categories=(HOSTILE,),
        episode_num=HOSTILE,
        icon='http://x/"><script>',
        rating=HOSTILE,
        lang='en" onload="x',
    )
    root = parse(document(hostile, channel="a&b<c>'d' ü"))
    assert_valid(root)
    programme = root.find("programme")
    assert programme is not None
    assert programme.attrib["channel"] == "a&b<c>'d' ü"
    expected = re.sub("[\x01\x07\x1b\x7f\x85\u2028]", " ", HOSTILE)  # controls and line breaks become spaces
    assert expected.startswith('<b>Bold</b> ]]> &amp; "q"       é')
    for tag in ("title", "sub-title", "category", "episode-num", "rating/value"):
        element = programme.find(tag)
        assert element is not None
        assert element.text == expected, tag
        assert len(element) == 0, f"markup in <{tag}> became elements"
    assert programme.findtext("desc") == expected + " second line"
    assert programme.find("title").attrib["lang"] == 'en" onload="x'
    assert programme.find("icon").attrib["src"] == 'http://x/"><script>'
    assert list(root.iter("script")) == []


def test_times_are_utc_whatever_the_input_zone() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert xmltv_time(datetime(2026, 3, 29, 2, 30, 5, tzinfo=plus_two)) == "20260329003005 +0000"
    moved = record(
        start=datetime(2026, 10, 25, 2, 0, tzinfo=plus_two), stop=datetime(2026, 10, 25, 3, 0, tzinfo=plus_two)
    )
    assert 'start="20261025000000 +0000" stop="20261025010000 +0000"' in programme_element(moved, "c")


def test_many_programmes_stream_in_chunks() -> None:
    listed = [
        record(
            id=i, start=START + timedelta(minutes=30 * i), stop=START + timedelta(minutes=30 * (i + 1)), title=f"P{i}"
        )
        for i in range(3000)
    ]
    chunks = list(render([GuideChannel("c", "C", "")], [("c", listed)]))
    assert len(chunks) > 5
    root = parse(b"".join(chunks))
    assert_valid(root)
    assert [p.findtext("title") for p in root.iter("programme")] == [f"P{i}" for i in range(3000)]
