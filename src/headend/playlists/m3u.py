"""The ``get.php`` playlist (``xtream-contract.md`` §1.11) rendered from plain data, in chunks for streaming.

``m3u_plus``::

    #EXTM3U x-tvg-url="{base}/xmltv.php?username=U&password=P" url-tvg="…"
    #EXTINF:-1 tvg-id="…" tvg-name="…" tvg-logo="…" tvg-chno="7" group-title="…",NAME
    {base}/U/P/ID.ts

``m3u`` (XUI's plain template): ``#EXTM3U`` and ``#EXTINF:-1,NAME`` lines only. Every value passes through
:mod:`headend.playlists.text`, and the credentials are percent-encoded, so nothing a channel name or a
password holds can start a new line or a new attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote, urlencode

from headend.playlists.text import chunked, m3u_attribute, m3u_text, one_line

PlaylistType = Literal["m3u", "m3u_plus"]

URL_PREFIX: Final = "\x00"
"""Placeholder for ``{base}/U/P/`` in a :func:`template` (escaped text never holds a control character)."""
URL_EXTENSION: Final = "\x01"
"""Placeholder for ``ts`` / ``m3u8`` in a :func:`template`."""
Extension = Literal["ts", "m3u8"]


@dataclass(frozen=True, slots=True)
class PlaylistChannel:
    """One live channel of a line's playlist."""

    stream_id: int
    name: str
    tvg_id: str  # "" if none
    logo: str  # "" if none
    chno: int
    group: str


@dataclass(frozen=True, slots=True)
class LivePlaylist:
    """What is the same for every entry: where the URLs point and which format they ask for."""

    base_url: str  # scheme://host[:port][/path], no trailing slash
    username: str
    password: str
    extension: Extension
    kind: PlaylistType = "m3u_plus"

    @property
    def url_prefix(self) -> str:
        """``{base}/live/U/P/``: the ``/live/`` form, which every client accepts (TiviMate and IMPlayer require it,
        Kodi's catch-up regex allows it; contract §1.1, §1.11, §1.14) and which no username can shadow — the short
        ``/U/P/ID`` form XUI writes is served too. Credentials are percent-encoded, except ``@`` (legal in a path
        segment, and allowed in usernames)."""
        return f"{self.base_url}/live/{quote(self.username, safe='@')}/{quote(self.password, safe='@')}/"

    @property
    def xmltv_url(self) -> str:
        query = urlencode({"username": self.username, "password": self.password})
        return f"{self.base_url}/xmltv.php?{query}"


def header(playlist: LivePlaylist) -> str:
    if playlist.kind == "m3u":
        return "#EXTM3U\n"
    guide = m3u_attribute(playlist.xmltv_url)
    return f'#EXTM3U x-tvg-url="{guide}" url-tvg="{guide}"\n'


def entry(channel: PlaylistChannel, kind: PlaylistType) -> str:
    """The ``#EXTINF`` line and the URL line of one channel, with :data:`URL_PREFIX` and :data:`URL_EXTENSION`
    standing for the parts that differ between lines (every other character is the same for all of them)."""
    url = f"{URL_PREFIX}{channel.stream_id}.{URL_EXTENSION}"
    title = m3u_text(channel.name)
    if kind == "m3u":
        return f"#EXTINF:-1,{title}\n{url}\n"
    return (
        f'#EXTINF:-1 tvg-id="{m3u_attribute(channel.tvg_id)}" tvg-name="{title}" '
        f'tvg-logo="{m3u_attribute(channel.logo)}" tvg-chno="{channel.chno}" '
        f'group-title="{m3u_text(channel.group)}",{title}\n{url}\n'
    )


def template(channels: Iterable[PlaylistChannel], kind: PlaylistType) -> Iterator[str]:
    """The entries in chunks of about 64 KiB, with placeholders for the URLs: what every line with the same
    channels shares, so it can be kept and :func:`fill`-ed per line (lazy: nothing is read ahead)."""
    return chunked(entry(channel, kind) for channel in channels)


def fill(chunks: Iterable[str], playlist: LivePlaylist) -> Iterator[bytes]:
    """The header, then each template chunk with the line's URL prefix and extension put in, as UTF-8."""
    yield header(playlist).encode()
    prefix, extension = one_line(playlist.url_prefix), playlist.extension  # no control character survives
    for chunk in chunks:
        yield chunk.replace(URL_PREFIX, prefix).replace(URL_EXTENSION, extension).encode()


def render(channels: Iterable[PlaylistChannel], playlist: LivePlaylist) -> Iterator[bytes]:
    """The whole playlist as UTF-8 chunks of about 64 KiB (the header comes first, on its own)."""
    return fill(template(channels, playlist.kind), playlist)


__all__ = [
    "URL_EXTENSION",
    "URL_PREFIX",
    "Extension",
    "LivePlaylist",
    "PlaylistChannel",
    "PlaylistType",
    "entry",
    "fill",
    "header",
    "render",
    "template",
]
