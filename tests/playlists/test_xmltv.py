"""The XMLTV renderer on plain data: golden document, escaping, parsing back, streaming in chunks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from headend.playlists.xmltv import GuideChannel, render


def _text(channels: list[GuideChannel]) -> str:
    return b"".join(render(channels)).decode()


def test_golden_document() -> None:
    assert _text([GuideChannel("campus.tv", "Campus TV", "http://l/1.png"), GuideChannel("b", "B", "")]) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
        '<tv generator-info-name="Headend">\n'
        '  <channel id="campus.tv"><display-name>Campus TV</display-name><icon src="http://l/1.png"/></channel>\n'
        '  <channel id="b"><display-name>B</display-name></channel>\n'
        "</tv>\n"
    )


def test_empty_guide_is_well_formed() -> None:
    root = ET.fromstring(_text([]))
    assert root.tag == "tv"
    assert list(root) == []


def test_escaping_round_trips_through_a_parser() -> None:
    nasty = GuideChannel("a&b<c>\"d'", 'Name & <b>"x"</b> \x00\x08\x1f é\u2028', 'http://l/?a=1&b="2"')
    root = ET.fromstring(_text([nasty]))
    channel = root.find("channel")
    assert channel is not None
    assert channel.attrib["id"] == "a&b<c>\"d'"  # byte for byte after parsing
    assert channel.findtext("display-name") == 'Name & <b>"x"</b>     é '  # controls dropped or spaced
    icon = channel.find("icon")
    assert icon is not None
    assert icon.attrib["src"] == 'http://l/?a=1&b="2"'


def test_many_channels_stream_in_chunks() -> None:
    channels = (GuideChannel(f"c{i}", f"Channel {i}", "") for i in range(5000))
    chunks = list(render(channels))
    assert len(chunks) > 5
    root = ET.fromstring(b"".join(chunks))
    assert len(root.findall("channel")) == 5000
