"""Live viewer sessions: what counts against a line's ``max_connections``.

Rules (xtream-contract.md §1.13, reliability.md §2.2), enforced by :meth:`InProcessSessionStore.open`:

1. A ``"ts"`` session lives until :meth:`~SessionStore.close` (the socket went away) or until the store
   ends it. An ``"hls"`` session lives while it is touched (every playlist / segment request) and expires
   ``session_ttl_s`` after the last touch: players never say goodbye.
2. Re-opening HLS for the same (line, device, channel) continues the live session (same id): a playlist
   refresh is not a new viewer.
3. Zap: a new stream from the same (line, device) within ``zap_window_s`` of that device's previous
   request (its start or last touch) replaces the previous session, which is ended (``on_end`` called).
   A zap never counts twice.
4. At the limit, a live session of the same device is replaced too (the device moved on; its old stream
   is a ghost): XC's first priority. Otherwise ``connection_policy`` decides: ``refuse`` raises
   TooManyConnections, ``end_oldest`` ends the line's oldest session and admits the new one.

Invariants: ``active_count`` never counts an expired or ended session; a session is ended at most once
and its ``on_end`` runs at most once, only when the *store* ends it (replace, end_oldest, :meth:`end`),
never on :meth:`close`. ``on_end`` is called after the store's state is consistent and must not raise.

:class:`SessionStore` is the interface; a shared (Redis) implementation can replace the in-process one
when several servers share lines. Times are the injected monotonic clock's seconds.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, Literal, Protocol

from headend.errors import TooManyConnections
from headend.settings import SubscriberSettings

logger = logging.getLogger(__name__)

SessionKind = Literal["ts", "hls"]
DEVICE_UA_MAX: Final = 256


def device_key(ip: str, user_agent: str) -> str:
    """The device a session belongs to: ``ip|user agent`` (user agent cut to 256 characters)."""
    return f"{ip}|{user_agent[:DEVICE_UA_MAX]}"


@dataclass(slots=True)
class Session:
    """One viewer stream. ``ended`` turns True when the store ends or closes it."""

    id: str
    line_id: int
    channel_id: int
    device: str
    kind: SessionKind
    started: float
    last_seen: float
    ended: bool = False
    on_end: Callable[[], None] | None = None

    @property
    def last_request(self) -> float:
        return max(self.started, self.last_seen)


class SessionStore(Protocol):
    def open(
        self,
        *,
        line_id: int,
        max_connections: int,
        channel_id: int,
        device: str,
        kind: SessionKind,
        on_end: Callable[[], None] | None = None,
    ) -> Session:
        """Admit a stream (see the module rules) or raise TooManyConnections."""
        ...

    def touch(self, session_id: str) -> bool:
        """Record activity; False if the session is no longer live (ended, closed or expired)."""
        ...

    def close(self, session_id: str) -> None:
        """The viewer went away (no ``on_end``). Unknown ids are ignored."""
        ...

    def end(self, session_id: str) -> None:
        """End a session from outside (operator): ``on_end`` is called. Unknown ids are ignored."""
        ...

    def end_line(self, line_id: int) -> int:
        """End every session of a line (``on_end`` called for each); returns how many."""
        ...

    def active_count(self, line_id: int) -> int:
        """Live sessions of the line (expired ones are not counted)."""
        ...

    def sessions(self, line_id: int | None = None) -> list[Session]:
        """Snapshots (without ``on_end``) of the live sessions, of one line or all, oldest first."""
        ...


class InProcessSessionStore:
    """Sessions in this process's memory: right for one server."""

    def __init__(self, settings: SubscriberSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._by_id: dict[str, Session] = {}
        self._by_line: dict[int, dict[str, Session]] = {}
        self._next_sweep = clock() + settings.session_ttl_s

    # -- the interface --------------------------------------------------------------------------------

    def open(
        self,
        *,
        line_id: int,
        max_connections: int,
        channel_id: int,
        device: str,
        kind: SessionKind,
        on_end: Callable[[], None] | None = None,
    ) -> Session:
        now = self._clock()
        self._sweep(now)
        live = self._live(line_id, now)
        same_device = [s for s in live if s.device == device]
        if kind == "hls":
            for session in same_device:
                if session.kind == "hls" and session.channel_id == channel_id:
                    session.last_seen = now
                    return session
        victim = self._victim(live, same_device, max_connections, now)
        session = Session(
            id=secrets.token_urlsafe(12),
            line_id=line_id,
            channel_id=channel_id,
            device=device,
            kind=kind,
            started=now,
            last_seen=now,
            on_end=on_end,
        )
        self._by_id[session.id] = session
        self._by_line.setdefault(line_id, {})[session.id] = session
        if victim is not None:
            self._finish(victim, notify=True)
        return session

    def touch(self, session_id: str) -> bool:
        now = self._clock()
        session = self._by_id.get(session_id)
        if session is None:
            return False
        if self._expired(session, now):
            self._finish(session, notify=False)
            return False
        session.last_seen = now
        return True

    def close(self, session_id: str) -> None:
        session = self._by_id.get(session_id)
        if session is not None:
            self._finish(session, notify=False)

    def end(self, session_id: str) -> None:
        session = self._by_id.get(session_id)
        if session is not None:
            self._finish(session, notify=True)

    def end_line(self, line_id: int) -> int:
        """End every session of a line (banned, disabled, deleted); returns how many."""
        sessions = list(self._by_line.get(line_id, {}).values())
        for session in sessions:
            self._finish(session, notify=True)
        return len(sessions)

    def active_count(self, line_id: int) -> int:
        return len(self._live(line_id, self._clock()))

    def sessions(self, line_id: int | None = None) -> list[Session]:
        now = self._clock()
        lines = list(self._by_line) if line_id is None else [line_id]
        found = [s for line in lines for s in self._live(line, now)]
        return [replace(s, on_end=None) for s in sorted(found, key=lambda s: (s.started, s.id))]

    # -- rules ----------------------------------------------------------------------------------------

    def _victim(self, live: list[Session], same_device: list[Session], limit: int, now: float) -> Session | None:
        """The session the new one replaces (rules 3 and 4), or None; raises when it must be refused."""
        if same_device:
            latest = max(same_device, key=lambda s: s.last_request)
            if now - latest.last_request <= self._settings.zap_window_s:
                return latest
        if len(live) < limit:
            return None
        if same_device:
            return min(same_device, key=lambda s: s.last_request)
        if self._settings.connection_policy == "end_oldest" and live:
            return min(live, key=lambda s: s.started)
        raise TooManyConnections(f"this line is at its limit of {limit} connection(s)")

    def _expired(self, session: Session, now: float) -> bool:
        return session.kind == "hls" and now - session.last_seen > self._settings.session_ttl_s

    def _live(self, line_id: int, now: float) -> list[Session]:
        """The line's live sessions; expired ones are dropped on the way (without ``on_end``)."""
        sessions = self._by_line.get(line_id)
        if not sessions:
            return []
        for session in [s for s in sessions.values() if self._expired(s, now)]:
            self._finish(session, notify=False)
        return list(self._by_line.get(line_id, {}).values())

    def _sweep(self, now: float) -> None:
        """Drop expired sessions of every line, at most once per ``session_ttl_s`` (bounded memory)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._settings.session_ttl_s
        for line_id in list(self._by_line):
            self._live(line_id, now)

    def _finish(self, session: Session, *, notify: bool) -> None:
        """Forget a session, mark it ended, then (``notify``) call its ``on_end`` once."""
        self._by_id.pop(session.id, None)
        line = self._by_line.get(session.line_id)
        if line is not None:
            line.pop(session.id, None)
            if not line:
                del self._by_line[session.line_id]
        if session.ended:
            return
        session.ended = True
        callback, session.on_end = session.on_end, None
        if notify and callback is not None:
            callback()


__all__ = ["DEVICE_UA_MAX", "InProcessSessionStore", "Session", "SessionKind", "SessionStore", "device_key"]
