"""The text rules shared by the renderers."""

from __future__ import annotations

import pytest

from headend.playlists.text import chunked, m3u_attribute, m3u_text, one_line, usable_epg_id, xml_text


def test_one_line_replaces_every_line_break() -> None:
    assert one_line("a\r\nb\x85c\u2028d\u2029e\x1ef\x00g\x7fh") == "a  b c d e f g h"
    assert one_line("plain é 🎉") == "plain é 🎉"


def test_m3u_attribute_and_text() -> None:
    assert m3u_attribute('say "hi"\n') == "say 'hi' "
    assert m3u_attribute("http://x/?a=b") == "http://x/?a=b"  # URLs keep their "="
    assert m3u_text("x radio=true") == "x radio\uff1dtrue"


def test_xml_text() -> None:
    assert xml_text('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert xml_text("a\x00b\ud800c\uffff") == "a bc"  # controls become spaces, non-characters go


@pytest.mark.parametrize(
    ("value", "usable"),
    [("campus.tv", True), ("US: A&E", True), ("ü.tv", True), ("", False), ('a"b', False), ("a=b", False),
     ("a\u2028b", False), ("a\x85b", False)],
)  # fmt: skip
def test_usable_epg_id(value: str, usable: bool) -> None:
    assert usable_epg_id(value) is usable


def test_chunked() -> None:
    assert list(chunked([], 4)) == []
    assert list(chunked(["ab", "cd", "e"], 4)) == ["abcd", "e"]
    assert list(chunked(["é"], 1)) == ["é"]
