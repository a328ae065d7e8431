"""InProcessSessionStore: limits, zaps, HLS expiry and continuation, policies, on_end. Injected clock only."""

from __future__ import annotations

from typing import Any

import pytest

from headend import settings as settings_mod
from headend.auth.sessions import InProcessSessionStore, Session, SessionKind, device_key
from headend.errors import TooManyConnections

TV = device_key("192.0.2.10", "TiviMate/5.1")
PHONE = device_key("198.51.100.7", "IPTVSmarters/3.0")
LAPTOP = device_key("203.0.113.9", "VLC/3.0.20")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A store on a fake clock that records which sessions were ended by the store."""

    def __init__(self, **subscriber_settings: Any) -> None:
        values = {"zap_window_s": 5.0, "session_ttl_s": 20.0} | subscriber_settings
        settings = settings_mod.replace(settings_mod.load(env={}), subscribers=values).subscribers
        self.clock = Clock()
        self.store = InProcessSessionStore(settings, clock=self.clock)
        self.ended: list[str] = []

    def open(
        self, device: str, channel: int = 1, *, kind: SessionKind = "ts", line: int = 1, limit: int = 1
    ) -> Session:
        holder: list[Session] = []
        session = self.store.open(
            line_id=line, max_connections=limit, channel_id=channel, device=device, kind=kind,
            on_end=lambda: self.ended.append(holder[0].id),
        )  # fmt: skip
        holder.append(session)
        return session

    def tick(self, seconds: float) -> None:
        self.clock.now += seconds


def test_device_key() -> None:
    assert device_key("::1", "VLC") == "::1|VLC"
    assert device_key("::1", "x" * 1000) == "::1|" + "x" * 256


def test_a_second_device_at_the_limit_is_refused() -> None:
    h = Harness()
    first = h.open(TV)
    h.tick(60)
    with pytest.raises(TooManyConnections):
        h.open(PHONE)
    assert h.store.active_count(1) == 1
    assert not first.ended
    assert h.ended == []


def test_a_limit_of_two_admits_two_devices_and_lines_are_separate() -> None:
    h = Harness()
    h.open(TV, limit=2)
    h.open(PHONE, limit=2)
    h.open(LAPTOP, line=2, limit=1)
    assert (h.store.active_count(1), h.store.active_count(2)) == (2, 1)
    with pytest.raises(TooManyConnections):
        h.open(LAPTOP, limit=2)


def test_a_zap_replaces_the_previous_stream_and_never_counts_twice() -> None:
    h = Harness()
    first = h.open(TV, channel=1, limit=2)
    h.tick(2)
    second = h.open(TV, channel=2, limit=2)  # within the zap window: replaces, even below the limit
    assert first.ended
    assert h.ended == [first.id]
    assert not second.ended
    assert h.store.active_count(1) == 1
    assert [s.id for s in h.store.sessions(1)] == [second.id]


def test_after_the_zap_window_the_same_device_counts_again_below_the_limit() -> None:
    h = Harness()
    h.open(TV, channel=1, limit=2)
    h.tick(600)  # two TVs of one household behind one NAT, both watching
    h.open(TV, channel=2, limit=2)
    assert h.store.active_count(1) == 2
    assert h.ended == []


def test_at_the_limit_a_ghost_of_the_same_device_is_replaced() -> None:
    h = Harness()  # policy "refuse": yet the same device moving on is no second viewer
    ghost = h.open(TV, channel=1)
    h.tick(600)
    fresh = h.open(TV, channel=2)
    assert ghost.ended
    assert h.ended == [ghost.id]
    assert h.store.active_count(1) == 1
    assert not fresh.ended


def test_end_oldest_policy_ends_the_oldest_session_of_the_line() -> None:
    h = Harness(connection_policy="end_oldest")
    oldest = h.open(TV, limit=2)
    h.tick(10)
    middle = h.open(PHONE, limit=2)
    h.tick(10)
    newest = h.open(LAPTOP, limit=2)
    assert oldest.ended
    assert h.ended == [oldest.id]
    assert {s.id for s in h.store.sessions(1)} == {middle.id, newest.id}


def test_close_frees_the_slot_without_on_end() -> None:
    h = Harness()
    first = h.open(TV)
    h.store.close(first.id)
    assert first.ended
    assert h.store.active_count(1) == 0
    h.open(PHONE)
    assert h.ended == []
    h.store.close(first.id)  # twice, and unknown ids: ignored
    h.store.close("nope")


def test_end_calls_on_end_once() -> None:
    h = Harness()
    session = h.open(TV)
    h.store.end(session.id)
    h.store.end(session.id)
    h.store.close(session.id)
    assert h.ended == [session.id]
    assert session.ended
    assert not h.store.touch(session.id)


def test_end_line_ends_every_session() -> None:
    h = Harness()
    a = h.open(TV, limit=3)
    b = h.open(PHONE, limit=3)
    h.open(LAPTOP, line=2)
    assert h.store.end_line(1) == 2
    assert sorted(h.ended) == sorted([a.id, b.id])
    assert (h.store.active_count(1), h.store.active_count(2)) == (0, 1)


def test_hls_sessions_expire_without_touches_and_live_with_them() -> None:
    h = Harness()
    session = h.open(TV, kind="hls")
    for _ in range(5):
        h.tick(15)
        assert h.store.touch(session.id)
    assert h.store.active_count(1) == 1
    h.tick(20.5)
    assert h.store.active_count(1) == 0  # expired: no longer counts, and on_end is not called
    assert not h.store.touch(session.id)
    assert session.ended
    assert h.ended == []
    h.open(PHONE)  # the slot is free


def test_ts_sessions_do_not_expire() -> None:
    h = Harness()
    h.open(TV)
    h.tick(86_400)
    assert h.store.active_count(1) == 1


def test_reopening_hls_for_the_same_channel_continues_the_session() -> None:
    h = Harness()
    first = h.open(TV, channel=5, kind="hls")
    h.tick(10)
    again = h.open(TV, channel=5, kind="hls")  # a playlist refresh through the credentialed URL
    assert again is first
    assert again.last_seen == h.clock.now
    assert h.ended == []
    h.tick(3)
    other = h.open(TV, channel=6, kind="hls")  # a zap to another channel
    assert first.ended
    assert h.ended == [first.id]
    assert h.store.active_count(1) == 1
    assert other.id != first.id


def test_an_hls_zap_counts_from_the_last_touch() -> None:
    h = Harness()
    first = h.open(TV, channel=1, kind="hls", limit=2)
    h.tick(60)
    h.store.touch(first.id)  # the player was fetching segments until just now
    h.tick(1)
    h.open(TV, channel=2, kind="hls", limit=2)
    assert first.ended
    assert h.store.active_count(1) == 1


def test_sessions_are_snapshots_oldest_first() -> None:
    h = Harness()
    a = h.open(TV, limit=3)
    h.tick(1)
    b = h.open(PHONE, limit=3, channel=2)
    h.tick(1)
    c = h.open(LAPTOP, line=2)
    listed = h.store.sessions()
    assert [s.id for s in listed] == [a.id, b.id, c.id]
    assert all(s.on_end is None for s in listed)
    listed[0].ended = True
    assert not a.ended
    assert [s.id for s in h.store.sessions(2)] == [c.id]
    assert h.store.sessions(99) == []


def test_expired_sessions_of_idle_lines_are_swept() -> None:
    h = Harness()
    for line in range(1, 51):
        h.open(TV, line=line, kind="hls")
    h.tick(25)
    h.open(PHONE, line=100)  # any open sweeps once per ttl
    assert len(h.store._by_id) == 1
    assert set(h.store._by_line) == {100}
