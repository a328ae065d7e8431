"""The M3U renderer on plain data: golden text, escaping, credentials in URLs, streaming in chunks."""

from __future__ import annotations

from collections.abc import Iterator

from headend.playlists.m3u import LivePlaylist, PlaylistChannel, render

PLAYLIST = LivePlaylist(base_url="http://tv.example.org:8080", username="u", password="p", extension="ts")
CAMPUS = PlaylistChannel(stream_id=7, name="Campus TV", tvg_id="campus.tv", logo="http://l/7.png", chno=1, group="News")


def _text(channels: list[PlaylistChannel], playlist: LivePlaylist = PLAYLIST) -> str:
    return b"".join(render(channels, playlist)).decode()


def test_golden_m3u_plus() -> None:
    assert _text([CAMPUS]) == (
        '#EXTM3U x-tvg-url="http://tv.example.org:8080/xmltv.php?username=u&password=p" '
        'url-tvg="http://tv.example.org:8080/xmltv.php?username=u&password=p"\n'
        '#EXTINF:-1 tvg-id="campus.tv" tvg-name="Campus TV" tvg-logo="http://l/7.png" tvg-chno="1" '
        'group-title="News",Campus TV\n'
        "http://tv.example.org:8080/live/u/p/7.ts\n"
    )


def test_golden_plain_m3u_and_hls_urls() -> None:
    plain = LivePlaylist(base_url="https://tv.example.org", username="u", password="p", extension="m3u8", kind="m3u")
    assert _text([CAMPUS], plain) == "#EXTM3U\n#EXTINF:-1,Campus TV\nhttps://tv.example.org/live/u/p/7.m3u8\n"


def test_empty_playlist_is_just_the_header() -> None:
    assert _text([]).count("\n") == 1


def test_hostile_values_stay_inside_their_line_and_attribute() -> None:
    breaks = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\t"
    evil = PlaylistChannel(
        stream_id=1,
        name=f'a"b{breaks}#EXTINF:-1 tvg-id="x",Injected radio=true',
        tvg_id='id"x',
        logo='http://l/"onerror',
        chno=2,
        group=f'g"{breaks}h=1',
    )
    text = _text([evil])
    lines = text.splitlines()  # every line break Python knows
    assert len(lines) == 3
    info = lines[1]
    assert info.count('"') == 10  # five attributes, each with exactly its own two quotes
    assert "tvg-name=\"a'b" in info
    assert "radio\uff1dtrue" in info
    assert "radio=true" not in info
    assert "group-title=\"g'" in info
    assert "h\uff1d1" in info
    assert 'tvg-logo="http://l/\'onerror"' in info
    assert lines[2] == "http://tv.example.org:8080/live/u/p/1.ts"


def test_credentials_are_percent_encoded_in_urls() -> None:
    odd = LivePlaylist(base_url="http://h", username="a@b c/d", password='p"&x=\n', extension="ts")
    text = _text([CAMPUS], odd)
    assert "http://h/live/a@b%20c%2Fd/p%22%26x%3D%0A/7.ts" in text  # "@" may stay: usernames may hold it
    assert 'x-tvg-url="http://h/xmltv.php?username=a%40b+c%2Fd&password=p%22%26x%3D%0A"' in text
    assert len(text.splitlines()) == 3


def test_streams_in_chunks_without_reading_ahead() -> None:
    taken = 0

    def channels() -> Iterator[PlaylistChannel]:
        nonlocal taken
        for index in range(5000):
            taken += 1
            yield PlaylistChannel(index, f"Channel {index}", f"c{index}", "", index, "G")

    chunks = render(channels(), PLAYLIST)
    first = next(chunks)
    assert first.startswith(b"#EXTM3U")
    assert taken == 0
    rest = list(chunks)
    assert taken == 5000
    assert len(rest) > 5
    assert all(len(chunk) < 128 * 1024 for chunk in rest)  # ~64 Ki characters, plus the URL prefixes
    assert b"".join([first, *rest]).decode().count("#EXTINF") == 5000
