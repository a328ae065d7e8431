"""Live viewer sessions: who is watching what, from which device, and an "end session" button.

Ending a session closes the viewer's stream at once (the session store calls its ``on_end``). The list is for
support and up; a reseller may end the sessions of its own lines (from the line's page).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from headend.admin.principal import Role
from headend.auth.sessions import Session
from headend.errors import NotFound
from headend.http.control import PolicyRoute, principal, services
from headend.http.policy import Policy
from headend.web.common import audit
from headend.web.forms import see_other
from headend.web.routing import PanelRoute
from headend.web.templating import render


@dataclass(frozen=True, slots=True)
class SessionLine:
    id: str
    line_id: int
    username: str
    channel_id: int
    channel: str
    kind: str
    ip: str
    user_agent: str
    for_s: int


async def session_list(request: Request) -> Response:
    svc = services(request)
    sessions = svc.sessions.sessions()
    channels: dict[int, str] = {c.id: c.name for c in await svc.channels.list_channels()} if sessions else {}
    usernames: dict[int, str] = {}
    for line_id in {s.line_id for s in sessions}:
        try:
            usernames[line_id] = (await svc.subscribers.get_line(line_id)).username
        except NotFound:
            usernames[line_id] = f"#{line_id}"
    now = time.monotonic()
    rows = [_row(s, usernames, channels, now) for s in sessions]
    return render(request, "sessions.html", {"title": "Live sessions", "sessions": rows})


def _row(session: Session, usernames: dict[int, str], channels: dict[int, str], now: float) -> SessionLine:
    ip, _, agent = session.device.partition("|")
    return SessionLine(
        id=session.id,
        line_id=session.line_id,
        username=usernames.get(session.line_id, ""),
        channel_id=session.channel_id,
        channel=channels.get(session.channel_id, f"#{session.channel_id}"),
        kind=session.kind,
        ip=ip,
        user_agent=agent,
        for_s=max(0, int(now - session.started)),
    )


async def session_end(request: Request) -> Response:
    """End one session: support and up for any line, a reseller for its own lines."""
    svc = services(request)
    who = principal(request)
    session_id = str(request.path_params["session_id"])[:64]
    found = next((s for s in svc.sessions.sessions() if s.id == session_id), None)
    if found is None:
        raise NotFound("that session has already ended")
    line = await svc.resellers.get_line(who, found.line_id)
    if who.role is not Role.SUPPORT and not svc.resellers.can_manage(who, line):
        raise NotFound("that session has already ended")
    svc.sessions.end(session_id)
    after = {"line_id": found.line_id, "channel_id": found.channel_id, "kind": found.kind, "device": found.device}
    await audit(request, "session.end", "session", session_id, after=after)
    back = "/admin/sessions" if who.role is not Role.RESELLER else f"/admin/lines/{found.line_id}"
    return see_other(back)


def session_routes() -> list[PolicyRoute]:
    return [
        PanelRoute("/admin/sessions", session_list, policy=Policy.SUPPORT),
        PanelRoute("/admin/sessions/{session_id}/end", session_end, policy=Policy.ACCOUNT, methods=["POST"]),
    ]


__all__ = ["session_routes"]
