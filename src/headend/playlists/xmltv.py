"""The ``xmltv.php`` guide (``xtream-contract.md`` §1.12) rendered from plain data, in chunks for streaming.

Channels only for now (no programmes until the EPG exists)::

    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE tv SYSTEM "xmltv.dtd">
    <tv generator-info-name="Headend">
      <channel id="campus.tv"><display-name>Campus TV</display-name><icon src="http://…/logo.png"/></channel>
    </tv>

A ``<channel id>`` is the channel's EPG id exactly as ``get_live_streams`` reports it in ``epg_channel_id`` and
``get.php`` in ``tvg-id``; the caller passes only channels with a usable id
(:func:`headend.playlists.text.usable_epg_id`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from headend.playlists.text import chunked, xml_text

GENERATOR: Final = "Headend"


@dataclass(frozen=True, slots=True)
class GuideChannel:
    id: str  # the EPG id
    name: str
    icon: str  # "" if none


def channel_element(channel: GuideChannel) -> str:
    icon = f'<icon src="{xml_text(channel.icon)}"/>' if channel.icon else ""
    return (
        f'  <channel id="{xml_text(channel.id)}"><display-name>{xml_text(channel.name)}</display-name>'
        f"{icon}</channel>\n"
    )


def render(channels: Iterable[GuideChannel], *, generator: str = GENERATOR) -> Iterator[bytes]:
    """The whole document as UTF-8 chunks of about 64 KiB (the prolog comes first, on its own)."""
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
        f'<tv generator-info-name="{xml_text(generator)}">\n'
    ).encode()
    for chunk in chunked(itertools.chain(map(channel_element, channels), ["</tv>\n"])):
        yield chunk.encode()


__all__ = ["GENERATOR", "GuideChannel", "channel_element", "render"]
