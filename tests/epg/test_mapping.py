"""Channel mapping: override, then tvg-id (exact, then ignoring case), then an unambiguous normalised name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headend.catalog.epg_records import ChannelMatch, EpgOverride, MatchMethod
from headend.catalog.records import ChannelRecord
from headend.epg.entries import GuideChannel
from headend.epg.mapping import build_matches, normalise_name
from headend.types import ChannelId

SOURCE = 7
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def channel(cid: int, name: str, tvg_id: str = "", *, enabled: bool = True) -> ChannelRecord:
    return ChannelRecord(id=ChannelId(cid), number=None, name=name, logo_url="", category_id=None, tvg_id=tvg_id,
                         profile_id=1, on_demand=True, enabled=enabled, created_at=T0, updated_at=T0)  # fmt: skip


def guide(gid: str, *names: str) -> GuideChannel:
    return GuideChannel(id=gid, names=names)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("BBC One HD", "bbc one"),
        ("BBC One (HD)", "BBC-One"),
        ("Télé Matin", "TELE MATIN"),
        ("ZDF UHD 4K", "zdf"),
        ("Arte FHD", "ARTE"),
        ("Ñuble TV", "nuble tv"),
        ("Rock & Roll", "rock and roll"),
        ("Film4 +1", "Film4+1"),
    ],
)
def test_names_that_normalise_equal(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Film4", "Film4 +1"),  # a timeshift channel is another channel
        ("E4", "E4+1"),
        ("BBC One", "BBC Two"),
        ("Sky Sports 1", "Sky Sports 2"),
    ],
)
def test_names_that_stay_distinct(a: str, b: str) -> None:
    assert normalise_name(a) != normalise_name(b)


def test_normalise_keeps_a_name_made_of_noise() -> None:
    assert normalise_name("HD") == "hd"
    assert normalise_name("  ") == ""
    assert normalise_name("Film4 +1 HD") == "film4plus1"


def test_each_rule_in_order() -> None:
    guides = [guide("bbc1.uk", "BBC One"), guide("ITV.uk", "ITV 1"), guide("film4.uk", "Film4"),
              guide("film4p1.uk", "Film4 +1")]  # fmt: skip
    ours = [
        channel(1, "Whatever", "bbc1.uk"),  # tvg-id exact
        channel(2, "ITV", "itv.UK"),  # tvg-id ignoring case
        channel(3, "Film4 HD"),  # name
        channel(4, "Film4 +1"),  # name, the timeshift one
        channel(5, "BBC One HD", "unknown.id"),  # tvg-id unknown: falls back to the name
        channel(6, "Nothing Like It"),
        channel(7, "BBC One", "bbc1.uk", enabled=False),  # disabled: ignored
    ]
    result = build_matches(SOURCE, guides, ours, [])
    assert result.matches == (
        ChannelMatch(1, SOURCE, "bbc1.uk", MatchMethod.TVG_ID),
        ChannelMatch(2, SOURCE, "ITV.uk", MatchMethod.TVG_ID),
        ChannelMatch(3, SOURCE, "film4.uk", MatchMethod.NAME),
        ChannelMatch(4, SOURCE, "film4p1.uk", MatchMethod.NAME),
        ChannelMatch(5, SOURCE, "bbc1.uk", MatchMethod.NAME),
    )
    assert result.feeds == {"bbc1.uk": (1, 5), "ITV.uk": (2,), "film4.uk": (3,), "film4p1.uk": (4,)}
    assert result.channels_for("bbc1.uk") == (1, 5)
    assert result.channels_for("nope") == ()
    assert result.unmatched == (6,)


def test_ambiguous_names_and_ids_match_nothing() -> None:
    guides = [guide("a.de", "Das Erste"), guide("b.de", "Das Erste HD"), guide("X.one", "x"), guide("x.ONE", "y")]
    result = build_matches(SOURCE, guides, [channel(1, "Das Erste"), channel(2, "Other", "x.one")], [])
    assert result.matches == ()
    assert result.unmatched == (1, 2)
    exact = build_matches(SOURCE, guides, [channel(3, "Other", "X.one")], [])
    assert exact.matches == (ChannelMatch(3, SOURCE, "X.one", MatchMethod.TVG_ID),)


def test_an_override_wins_and_pins() -> None:
    guides = [guide("bbc1.uk", "BBC One"), guide("bbc2.uk", "BBC Two")]
    ours = [channel(1, "BBC One", "bbc1.uk"), channel(2, "BBC Two"), channel(3, "BBC One"), channel(4, "BBC Two")]
    overrides = [
        EpgOverride(channel_id=1, guide_id="bbc2.uk", source_id=SOURCE),  # beats its tvg-id
        EpgOverride(channel_id=2, guide_id="BBC1.UK", source_id=None),  # any source, id ignoring case
        EpgOverride(channel_id=3, guide_id="bbc1.uk", source_id=SOURCE + 1),  # pinned to another source
        EpgOverride(channel_id=4, guide_id="missing.id", source_id=None),  # not in this guide: no name fallback
    ]
    result = build_matches(SOURCE, guides, ours, overrides)
    assert result.matches == (
        ChannelMatch(1, SOURCE, "bbc2.uk", MatchMethod.OVERRIDE),
        ChannelMatch(2, SOURCE, "bbc1.uk", MatchMethod.OVERRIDE),
    )
    assert result.unmatched == (3, 4)


def test_an_override_for_this_source_beats_one_for_any_source() -> None:
    guides = [guide("a", "A"), guide("b", "B")]
    overrides = [EpgOverride(1, "a", None), EpgOverride(1, "b", SOURCE)]
    result = build_matches(SOURCE, guides, [channel(1, "C")], overrides)
    assert result.feeds == {"b": (1,)}
    elsewhere = build_matches(SOURCE + 1, guides, [channel(1, "C")], overrides)
    assert elsewhere.feeds == {"a": (1,)}


def test_no_guide_channels_matches_nothing() -> None:
    result = build_matches(SOURCE, [], [channel(1, "A", "a"), channel(2, "B")], [])
    assert (result.matches, result.unmatched, dict(result.feeds)) == ((), (1, 2), {})
