"""REST: live viewer sessions (what counts against a line's connection limit), and ending one.

Admins, operators and support see every session; a reseller only those of its own lines (another's
session is 404). Ending a session closes the viewer's stream at once.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from headend.auth.sessions import Session
from headend.errors import NotFound
from headend.http.policy import Policy
from headend.rest.framework import ID_MAX, ApiRoute, Call, Out, Page, PageQuery, route
from headend.rest.lines import owned_line_ids


class SessionOut(Out):
    id: str
    line_id: int
    channel_id: int
    kind: Literal["ts", "hls"]
    device: str = Field(description="Client address and user agent (untrusted text).")
    duration_s: float = Field(description="Seconds since the stream started.")
    idle_s: float = Field(description="Seconds since the last request of the stream (HLS).")


class SessionPage(Page[SessionOut]):
    pass


class SessionQuery(PageQuery):
    line_id: int | None = Field(None, ge=1, le=ID_MAX, description="Only this line's sessions.")


def session_out(session: Session, now: float) -> SessionOut:
    return SessionOut(
        id=session.id, line_id=session.line_id, channel_id=session.channel_id, kind=session.kind,
        device=session.device, duration_s=round(max(0.0, now - session.started), 1),
        idle_s=round(max(0.0, now - session.last_request), 1),
    )  # fmt: skip


async def _visible(call: Call, line_id: int | None = None) -> list[Session]:
    sessions = call.svc.sessions.sessions(line_id)
    owned = await owned_line_ids(call.svc, call.who)
    return sessions if owned is None else [s for s in sessions if s.line_id in owned]


async def list_sessions(call: Call) -> SessionPage:
    query = call.query(SessionQuery)
    now = time.monotonic()  # the session store's clock
    found = await _visible(call, query.line_id)
    return SessionPage.of([session_out(s, now) for s in found], query)


async def end_session(call: Call) -> None:
    session_id = call.text("session_id")
    found = next((s for s in await _visible(call) if s.id == session_id), None)
    if found is None:
        raise NotFound("no such live session")
    call.svc.sessions.end(found.id)
    after = {"line_id": found.line_id, "channel_id": found.channel_id, "kind": found.kind}
    await call.audit("session.end", "session", found.id, before=after)


def routes() -> list[ApiRoute]:
    a = Policy.ACCOUNT
    return [
        route("GET", "/api/v1/sessions", list_sessions, policy=a, tag="sessions",
              summary="List live viewer sessions (a reseller: its lines')", query=SessionQuery,
              response=SessionPage),
        route("DELETE", "/api/v1/sessions/{session_id}", end_session, policy=a, tag="sessions",
              summary="End a live viewer session", string_params=frozenset({"session_id"})),
    ]  # fmt: skip


__all__ = ["routes"]
