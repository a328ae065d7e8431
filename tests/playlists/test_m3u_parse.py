"""The M3U source parser: tolerant of real files, bounded on hostile ones, and never silent about a bad line."""

from __future__ import annotations

import io
import tracemalloc

from headend.playlists.m3u_parse import M3uEntry, ParseProblem, parse, parse_extinf


def _parse(data: bytes, **kwargs: int) -> list[M3uEntry | ParseProblem]:
    return list(parse(io.BytesIO(data), **kwargs))


def test_attributes_title_and_group() -> None:
    data = (
        b'\xef\xbb\xbf#EXTM3U x-tvg-url="http://g/x.xml"\r\n'
        b'#EXTINF:-1 tvg-id="news.ex" tvg-name="News" tvg-logo="http://l/n.png" tvg-chno="5" '
        b'group-title="Info",News HD\r\n'
        b"#EXTVLCOPT:http-user-agent=Encoder/1.0\r\n"
        b"http://192.0.2.1/news.ts\r\n"
        b"\r\n"
        b"#EXTGRP:Music\n#EXTINF:-1,Radio, with comma\nudp://239.0.0.1:1234\n"
    )
    first, second = _parse(data)
    assert isinstance(first, M3uEntry)
    assert (first.line, first.name, first.url, first.group, first.user_agent) == (
        4, "News HD", "http://192.0.2.1/news.ts", "Info", "Encoder/1.0"
    )  # fmt: skip
    assert first.attributes["tvg-chno"] == "5"
    assert isinstance(second, M3uEntry)
    assert (second.name, second.group, second.url) == ("Radio, with comma", "Music", "udp://239.0.0.1:1234")


def test_commas_inside_quoted_attributes_do_not_split_the_title() -> None:
    attributes, title = parse_extinf('#EXTINF:-1 tvg-name="A, B" group-title="x",Title')
    assert attributes == {"tvg-name": "A, B", "group-title": "x"}
    assert title == "Title"


def test_latin1_and_cr_only_line_ends() -> None:
    data = "#EXTINF:-1,Télé\rhttp://h/t.ts\r".encode("latin-1")
    (entry,) = _parse(data)
    assert isinstance(entry, M3uEntry)
    assert entry.name == "Télé"


def test_oversized_line_is_skipped_with_its_number_and_the_rest_imports() -> None:
    data = b"#EXTINF:-1,A\nhttp://h/a.ts\n" + b"x" * 200_000 + b"\n#EXTINF:-1,B\nhttp://h/b.ts\n"
    items = _parse(data, max_line_bytes=1024)
    assert [type(i).__name__ for i in items] == ["M3uEntry", "ParseProblem", "M3uEntry"]
    problem = items[1]
    assert isinstance(problem, ParseProblem)
    assert problem.line == 3
    assert "longer than 1024" in problem.message


def test_control_characters_are_reported_not_passed_on() -> None:
    items = _parse(b"#EXTINF:-1,Bad\x00Name\nhttp://h/a.ts\n#EXTINF:-1,Ok\nhttp://h/b\x07.ts\n")
    problems = [i for i in items if isinstance(i, ParseProblem)]
    assert [p.line for p in problems] == [1, 4]
    assert all(isinstance(i, ParseProblem) or "\x00" not in i.name for i in items)


def test_entry_cap_stops_reading() -> None:
    data = b"".join(b"#EXTINF:-1,C%d\nhttp://h/%d.ts\n" % (i, i) for i in range(50))
    items = _parse(data, max_entries=10)
    assert sum(isinstance(i, M3uEntry) for i in items) == 10
    last = items[-1]
    assert isinstance(last, ParseProblem)
    assert "more than 10 entries" in last.message


def test_hundred_thousand_entries_parse_in_bounded_memory() -> None:
    data = b"".join(b'#EXTINF:-1 tvg-id="c%d",Channel %d\nhttp://192.0.2.1/%d.ts\n' % (i, i, i) for i in range(100_000))
    tracemalloc.start()
    count = sum(1 for item in parse(io.BytesIO(data)) if isinstance(item, M3uEntry))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 100_000
    assert peak < 16 * 1024 * 1024  # streamed: nothing like the whole file's entries is held
