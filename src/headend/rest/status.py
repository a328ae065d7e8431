"""REST: what the server is doing now — running channels, viewers, bandwidth, CPU, uptime, version.

``/api/v1/status`` lists the running channels with their state, viewers, bitrate and active source;
``/api/v1/stats`` gives the totals and the process figures. Bandwidth out is an estimate: each channel's
input bitrate times its viewers (TS viewers and live HLS sessions). CPU is the process's share of one core
since the previous sample (``os.times``), so two calls a second apart measure that second.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

from pydantic import Field
from starlette.requests import Request

from headend import __version__
from headend.http.policy import Policy
from headend.relay.channel import ChannelStatus
from headend.rest.framework import ApiRoute, Call, Out, route
from headend.services import Services

MIN_SAMPLE_S = 0.2


@dataclass(slots=True)
class ProcessMeter:
    """CPU use from ``os.times`` deltas, and uptime; one per app."""

    started: float
    last_wall: float
    last_cpu: float
    percent: float = 0.0

    @classmethod
    def now(cls) -> ProcessMeter:
        wall = time.monotonic()
        return cls(started=wall, last_wall=wall, last_cpu=_cpu_seconds())

    def sample(self) -> float:
        """Percent of one core used since the previous sample (the last value if that was under 0.2 s ago)."""
        wall, cpu = time.monotonic(), _cpu_seconds()
        elapsed = wall - self.last_wall
        if elapsed >= MIN_SAMPLE_S:
            self.percent = round(max(0.0, cpu - self.last_cpu) / elapsed * 100.0, 1)
            self.last_wall, self.last_cpu = wall, cpu
        return self.percent

    def uptime(self) -> float:
        return round(time.monotonic() - self.started, 1)


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def meter(request: Request) -> ProcessMeter:
    state = request.app.state
    found = getattr(state, "process_meter", None)
    if not isinstance(found, ProcessMeter):
        found = state.process_meter = ProcessMeter.now()
    return found


class ChannelLive(Out):
    id: int
    name: str
    state: str
    on_demand: bool
    viewers: int = Field(description="TS viewers plus live HLS sessions.")
    bitrate_bps: int
    active_source: int | None = Field(description="Position of the source playing now (0 = primary).")
    buffered_bytes: int
    dropped_viewers: int


class Totals(Out):
    channels_running: int
    viewers: int
    bandwidth_in_bps: int
    bandwidth_out_bps: int = Field(description="Estimate: bitrate times viewers, summed over channels.")


class StatusOut(Out):
    version: str
    uptime_s: float
    totals: Totals
    channels: list[ChannelLive]


class StatsOut(Out):
    version: str
    uptime_s: float
    cpu_percent: float = Field(description="Of one core, since the previous sample.")
    pid: int
    totals: Totals
    live_sessions: int
    channels_total: int


def _channels(svc: Services) -> list[ChannelLive]:
    hls = Counter(s.channel_id for s in svc.sessions.sessions() if s.kind == "hls")
    return [_live(status, hls[status.id]) for status in svc.hub.statuses()]


def _live(status: ChannelStatus, hls_sessions: int) -> ChannelLive:
    return ChannelLive(
        id=status.id, name=status.name, state=status.state.value, on_demand=status.on_demand,
        viewers=status.viewers + hls_sessions, bitrate_bps=status.bitrate_bps, active_source=status.active_source,
        buffered_bytes=status.buffered_bytes, dropped_viewers=status.dropped_viewers,
    )  # fmt: skip


def _totals(channels: list[ChannelLive]) -> Totals:
    return Totals(
        channels_running=len(channels),
        viewers=sum(c.viewers for c in channels),
        bandwidth_in_bps=sum(c.bitrate_bps for c in channels),
        bandwidth_out_bps=sum(c.bitrate_bps * c.viewers for c in channels),
    )


async def status(call: Call) -> StatusOut:
    channels = _channels(call.svc)
    uptime = meter(call.request).uptime()
    return StatusOut(version=__version__, uptime_s=uptime, totals=_totals(channels), channels=channels)


async def stats(call: Call) -> StatsOut:
    process = meter(call.request)
    channels = _channels(call.svc)
    return StatsOut(
        version=__version__, uptime_s=process.uptime(), cpu_percent=process.sample(), pid=os.getpid(),
        totals=_totals(channels), live_sessions=len(call.svc.sessions.sessions()),
        channels_total=len(await call.svc.channels.list_channels()),
    )  # fmt: skip


def routes() -> list[ApiRoute]:
    s = Policy.SUPPORT
    return [
        route("GET", "/api/v1/status", status, policy=s, tag="status",
              summary="Running channels: state, viewers, bitrate, active source", response=StatusOut),
        route("GET", "/api/v1/stats", stats, policy=s, tag="status",
              summary="Totals, CPU, uptime and version", response=StatsOut),
    ]  # fmt: skip


__all__ = ["ProcessMeter", "routes"]
