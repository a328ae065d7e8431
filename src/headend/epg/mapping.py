"""Which guide channel of an XMLTV source feeds which of our channels: pure functions, no I/O.

Each enabled channel of ours is matched, first rule that applies wins:

1. **Override** — the operator's ``epg map``: for this source, or for any source (``source_id`` None). A
   channel pinned to a guide id is matched only to that id (exactly, then ignoring case); a channel pinned
   to another source is not matched here at all.
2. **tvg-id** — the channel's ``tvg_id`` equals a guide channel id exactly, else ignoring case when that
   names one guide channel only.
3. **Name** — the channel's normalised name (:func:`normalise_name`) equals the normalised display name of
   exactly one guide channel. Two guide channels with the same normalised name are ambiguous: neither is used.

One guide channel may feed several of ours ("BBC One" and "BBC One HD" both take ``bbc1.uk``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from headend.catalog.epg_records import ChannelMatch, EpgOverride, MatchMethod
from headend.catalog.records import ChannelRecord
from headend.epg.entries import GuideChannel

NOISE: Final = frozenset(
    {"hd", "fhd", "uhd", "sd", "hq", "4k", "8k", "hdr", "hevc", "h264", "h265", "720p", "1080p", "1080i", "2160p"}
)
"""Trailing words that say how a channel is encoded, not which channel it is ("BBC One HD" is "BBC One")."""

_WORDS: Final = re.compile(r"[^\W_]+")


def normalise_name(name: str) -> str:
    """A channel name reduced to what identifies the channel, for comparing names from different sources.

    Case-folded, accents stripped (NFKD), punctuation and spaces dropped, trailing quality words (:data:`NOISE`)
    removed. A ``+`` becomes ``plus``, so a timeshift channel stays distinct: ``"Film4 +1"`` → ``"film4plus1"``,
    ``"Film4 HD"`` → ``"film4"``. A name made only of noise words keeps them (``"HD"`` → ``"hd"``).
    """
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = _WORDS.findall(text.replace("+", " plus ").replace("&", " and "))
    while len(words) > 1 and words[-1] in NOISE:
        words.pop()
    return "".join(words)


@dataclass(frozen=True, slots=True)
class MappingResult:
    """How one source's guide channels map onto our channels."""

    feeds: Mapping[str, tuple[int, ...]]  # guide channel id -> our channel ids it feeds, ascending
    matches: tuple[ChannelMatch, ...]  # one per matched channel of ours, by channel id
    unmatched: tuple[int, ...]  # our enabled channels this source does not feed

    def channels_for(self, guide_id: str) -> tuple[int, ...]:
        return self.feeds.get(guide_id, ())


class _GuideIndex:
    """Lookups over the guide channels of one document."""

    def __init__(self, guide_channels: Iterable[GuideChannel]) -> None:
        self.ids: set[str] = set()
        folded: dict[str, set[str]] = {}
        names: dict[str, set[str]] = {}
        for guide in guide_channels:
            self.ids.add(guide.id)
            folded.setdefault(guide.id.casefold(), set()).add(guide.id)
            for name in guide.names:
                key = normalise_name(name)
                if key:
                    names.setdefault(key, set()).add(guide.id)
        self._folded = folded
        self._names = names

    def by_id(self, wanted: str) -> str | None:
        """The guide id equal to ``wanted``, else the only one equal ignoring case."""
        if not wanted:
            return None
        if wanted in self.ids:
            return wanted
        found = self._folded.get(wanted.casefold(), set())
        return next(iter(found)) if len(found) == 1 else None

    def by_name(self, name: str) -> str | None:
        """The only guide channel with this normalised display name (None when none or several)."""
        found = self._names.get(normalise_name(name), set())
        return next(iter(found)) if len(found) == 1 else None


def _override_for(channel_id: int, source_id: int, overrides: Sequence[EpgOverride]) -> EpgOverride | bool | None:
    """This channel's override for this source; False when it is pinned to another source only."""
    mine = [o for o in overrides if o.channel_id == channel_id]
    for override in mine:
        if override.source_id == source_id:
            return override
    for override in mine:
        if override.source_id is None:
            return override
    return False if mine else None


def _match_one(
    channel: ChannelRecord, source_id: int, index: _GuideIndex, overrides: Sequence[EpgOverride]
) -> ChannelMatch | None:
    override = _override_for(channel.id, source_id, overrides)
    if override is False:
        return None
    if isinstance(override, EpgOverride):
        guide_id = index.by_id(override.guide_id)
        return None if guide_id is None else ChannelMatch(channel.id, source_id, guide_id, MatchMethod.OVERRIDE)
    guide_id = index.by_id(channel.tvg_id)
    if guide_id is not None:
        return ChannelMatch(channel.id, source_id, guide_id, MatchMethod.TVG_ID)
    guide_id = index.by_name(channel.name)
    if guide_id is not None:
        return ChannelMatch(channel.id, source_id, guide_id, MatchMethod.NAME)
    return None


def build_matches(
    source_id: int,
    guide_channels: Sequence[GuideChannel],
    channels: Sequence[ChannelRecord],
    overrides: Sequence[EpgOverride],
) -> MappingResult:
    """Match our enabled ``channels`` to the ``guide_channels`` of source ``source_id`` (see the module doc)."""
    index = _GuideIndex(guide_channels)
    matches: list[ChannelMatch] = []
    unmatched: list[int] = []
    feeds: dict[str, list[int]] = {}
    for channel in sorted(channels, key=lambda c: c.id):
        if not channel.enabled:
            continue
        match = _match_one(channel, source_id, index, overrides)
        if match is None:
            unmatched.append(channel.id)
            continue
        matches.append(match)
        feeds.setdefault(match.guide_id, []).append(channel.id)
    return MappingResult(
        feeds={guide_id: tuple(ids) for guide_id, ids in feeds.items()},
        matches=tuple(matches),
        unmatched=tuple(unmatched),
    )


__all__ = ["NOISE", "MappingResult", "build_matches", "normalise_name"]
