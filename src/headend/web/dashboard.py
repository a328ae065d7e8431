"""The dashboard: channels (state, active source, viewers), bandwidth, CPU, live sessions, recent ingest events.

The page embeds the live fragment once and htmx re-fetches it every 2 s (``hx-trigger="every 2s"``); without
htmx the page still shows a snapshot. Everything here comes from memory (hub, session store): no database
query on the polled path.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from headend.http.control import PolicyRoute, principal, services
from headend.http.policy import Policy
from headend.redact import redact
from headend.relay.hub import ChannelEvent
from headend.services import Services
from headend.web.metrics import CpuSampler
from headend.web.routing import PanelRoute
from headend.web.templating import SECURITY_HEADERS, render

EVENTS_SHOWN = 15
PROBLEM_KINDS = frozenset({"failover", "failback", "restart", "stall", "exit"})


@dataclass(frozen=True, slots=True)
class ChannelLine:
    id: int
    name: str
    state: str
    viewers: int
    sessions: int
    source: str
    bitrate_kbps: int
    restarts: int
    failovers: int
    last_error: str


@dataclass(frozen=True, slots=True)
class EventLine:
    ago_s: int
    channel_id: int
    channel: str
    kind: str
    source_index: int
    detail: str
    problem: bool


def _source_text(svc: Services, channel_id: int, index: int | None) -> str:
    channel = svc.hub.get(channel_id)
    if channel is None or index is None or not 0 <= index < len(channel.config.sources):
        return ""
    spec = channel.config.sources[index]
    shown = spec.label or redact(spec.url)
    return f"#{index + 1} {spec.kind.value}" + (f": {shown}" if shown else "")


def _channel_lines(svc: Services, sessions_per_channel: Counter[int]) -> list[ChannelLine]:
    out = []
    for status in svc.hub.statuses():
        channel = svc.hub.get(status.id)
        ingest = status.ingest
        out.append(
            ChannelLine(
                id=status.id,
                name=status.name,
                state=status.state.value,
                viewers=channel.viewer_count() if channel is not None else status.viewers + status.leases,
                sessions=sessions_per_channel[status.id],
                source=_source_text(svc, status.id, status.active_source),
                bitrate_kbps=status.bitrate_bps // 1000,
                restarts=ingest.restarts if ingest else 0,
                failovers=ingest.failovers if ingest else 0,
                last_error=redact(ingest.last_error) if ingest else "",
            )
        )
    return out


def _event_line(item: ChannelEvent, now: float) -> EventLine:
    event = item.event
    return EventLine(
        ago_s=max(0, int(now - event.at)),
        channel_id=item.channel_id,
        channel=item.channel_name,
        kind=event.kind,
        source_index=event.source_index + 1,
        detail=redact(event.detail),
        problem=event.kind in PROBLEM_KINDS,
    )


def _sampler(request: Request) -> CpuSampler:
    sampler = getattr(request.app.state, "web_cpu_sampler", None)
    if not isinstance(sampler, CpuSampler):
        sampler = CpuSampler()
        request.app.state.web_cpu_sampler = sampler
    return sampler


def live_context(request: Request) -> dict[str, Any]:
    svc = services(request)
    sessions = svc.sessions.sessions()
    channels = _channel_lines(svc, Counter(s.channel_id for s in sessions))
    now = time.monotonic()
    events = [_event_line(e, now) for e in svc.hub.recent_events(EVENTS_SHOWN)]
    bits_in = sum(c.bitrate_kbps for c in channels)
    return {
        "channels": channels,
        "events": events,
        "sessions": len(sessions),
        "viewers": sum(c.viewers for c in channels),
        "bandwidth_in_kbps": bits_in,
        "bandwidth_out_kbps": sum(c.bitrate_kbps * c.viewers for c in channels),
        "cpu": _sampler(request).sample(),
    }


async def dashboard(request: Request) -> Response:
    if principal(request).is_reseller:
        return RedirectResponse("/admin/lines", status_code=303, headers=SECURITY_HEADERS)
    return render(request, "dashboard.html", {"title": "Dashboard", **live_context(request)})


async def dashboard_live(request: Request) -> Response:
    return render(request, "dashboard_live.html", live_context(request))


def dashboard_routes() -> list[PolicyRoute]:
    return [
        PanelRoute("/admin", dashboard, policy=Policy.ACCOUNT),
        PanelRoute("/admin/dashboard/live", dashboard_live, policy=Policy.SUPPORT, activity=False),  # polled
    ]


__all__ = ["dashboard_routes", "live_context"]
