"""Guide test data through the real :class:`~headend.catalog.epg.EpgStore`, and a clock for the client API.

* :func:`add_guide` stores a complete import (source, programmes, matches) the way the importer does;
* :func:`slot` makes a programme from a start and a length;
* :class:`Clock` is the injected ``now`` of :class:`~headend.api.context.XtreamContext`;
  :func:`clocked_server` serves the real app of a running Headend's services on a second real HTTP server
  (its own port) whose client-API context uses that clock (and, optionally, an archive check).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from headend.api.context import XtreamContext
from headend.api.epg import ArchiveCheck, no_archive
from headend.app import create_app
from headend.catalog.epg_records import ChannelMatch, EpgSourceInput, EpgSourceKind, MatchMethod
from headend.epg.entries import Programme
from headend.http.routes import NativeRouter
from headend.http.server import HttpServer
from headend.services import Services

_names = itertools.count(1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def slot(
    start: datetime,
    minutes: int,
    title: str,
    *,
    sub_title: str = "",
    description: str = "",
    categories: tuple[str, ...] = (),
    episode_num: str = "",
    icon: str = "",
    rating: str = "",
    lang: str = "",
) -> Programme:
    """A programme of ``minutes`` from ``start`` (``channel`` is filled in by :func:`add_guide`)."""
    return Programme(
        channel="",
        start=start,
        stop=start + timedelta(minutes=minutes),
        title=title,
        sub_title=sub_title,
        description=description,
        categories=categories,
        episode_num=episode_num,
        icon=icon,
        rating=rating,
        lang=lang,
    )


def schedule(start: datetime, count: int, minutes: int = 60, title: str = "Show") -> list[Programme]:
    """``count`` back-to-back programmes of ``minutes`` from ``start``, titled ``{title} 0`` …"""
    return [slot(start + timedelta(minutes=minutes * i), minutes, f"{title} {i}") for i in range(count)]


async def add_guide(
    services: Services, programmes: Mapping[int, Iterable[Programme]], *, priority: int = 100, name: str = ""
) -> int:
    """One EPG source whose active import holds ``programmes`` per channel id; returns the source id."""
    store = services.epg
    source = await store.create_source(
        EpgSourceInput(
            name=name or f"test guide {next(_names)}",
            kind=EpgSourceKind.FILE,
            location="guide.xml",
            priority=priority,
        )
    )
    import_id = await store.begin_import(source.id)
    rows = [
        (channel_id, dataclasses.replace(programme, channel=f"guide-{channel_id}"))
        for channel_id, listed in programmes.items()
        for programme in listed
    ]
    await store.add_programmes(import_id, source.id, rows)
    matches = [
        ChannelMatch(
            channel_id=channel_id, source_id=source.id, guide_id=f"guide-{channel_id}", method=MatchMethod.TVG_ID
        )
        for channel_id in programmes
    ]
    await store.finish_import(import_id, source.id, matches=matches, message="test")
    return source.id


@dataclass
class Clock:
    """The API's ``now``: set it, move it."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@contextlib.asynccontextmanager
async def clocked_server(
    services: Services, clock: Clock, *, has_archive: ArchiveCheck = no_archive
) -> AsyncIterator[httpx.AsyncClient]:
    """A second real HTTP server on 127.0.0.1 for ``services``' app, its client API on ``clock``; yields an
    httpx client for it."""
    app = create_app(services)
    app.state.xtream = XtreamContext(
        settings=services.settings,
        authenticator=services.authenticator,
        sessions=services.sessions,
        channels=services.channels,
        epg=services.epg,
        now=clock,
        has_archive=has_archive,
    )
    server = HttpServer(services.settings.http, app=app, router=NativeRouter())
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            yield client
    finally:
        await server.aclose()


__all__ = ["Clock", "add_guide", "clocked_server", "schedule", "slot", "utc"]
