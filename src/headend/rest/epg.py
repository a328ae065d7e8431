"""REST: EPG sources (XMLTV by URL or from the managed directory), their imports, and channel mapping.

Reads are for support and up, changes for operators. ``POST …/refresh`` starts an import in the background
and answers 202 at once; the source's ``last_status``/``last_message`` tell how it went. Locations may hold
credentials: they are redacted in answers and in the audit log.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from pydantic import Field
from starlette.requests import Request

from headend.catalog.epg_records import (
    EPG_LOCATION_MAX,
    EPG_SOURCE_NAME_MAX,
    REFRESH_HOURS_MAX,
    EpgOverride,
    EpgSourceInput,
    EpgSourceKind,
    EpgSourceRecord,
)
from headend.epg.entries import GUIDE_ID_MAX
from headend.http.policy import Policy
from headend.redact import redact
from headend.rest.framework import ApiRoute, Call, Id, In, Out, Page, PageQuery, SearchQuery, changes, keep, route
from headend.services import Services


class EpgSourceOut(Out):
    id: int
    name: str
    kind: EpgSourceKind
    location: str = Field(description="URL (credentials redacted) or file name in the EPG directory.")
    refresh_hours: int
    priority: int
    enabled: bool
    created_at: datetime
    last_import_at: datetime | None
    last_success_at: datetime | None
    last_status: str
    last_message: str
    channels_matched: int
    programmes: int
    importing: bool


class EpgSourcePage(Page[EpgSourceOut]):
    pass


class EpgSourceCreate(In):
    name: str = Field(min_length=1, max_length=EPG_SOURCE_NAME_MAX)
    kind: EpgSourceKind = EpgSourceKind.URL
    location: str = Field(min_length=1, max_length=EPG_LOCATION_MAX)
    refresh_hours: int = Field(24, ge=0, le=REFRESH_HOURS_MAX, description="0: only on demand.")
    priority: int = Field(100, ge=0, le=10_000, description="Lower wins when two sources carry a channel.")
    enabled: bool = True


class EpgSourceUpdate(In):
    name: str = keep(min_length=1, max_length=EPG_SOURCE_NAME_MAX)
    location: str = keep(min_length=1, max_length=EPG_LOCATION_MAX)
    refresh_hours: int = keep(ge=0, le=REFRESH_HOURS_MAX)
    priority: int = keep(ge=0, le=10_000)
    enabled: bool = keep()


class RefreshOut(Out):
    source_id: int
    state: Literal["started", "running"] = Field(description="running: an import was already under way.")


class UnmatchedChannel(Out):
    id: int
    number: int | None
    name: str
    tvg_id: str


class UnmatchedPage(Page[UnmatchedChannel]):
    pass


class OverrideIn(In):
    guide_id: str = Field(min_length=1, max_length=GUIDE_ID_MAX, description="The XMLTV channel id.")
    source_id: Id | None = Field(None, description="Only from this EPG source (None: any).")


class OverrideOut(Out):
    channel_id: int
    guide_id: str
    source_id: int | None


class OverridePage(Page[OverrideOut]):
    pass


def source_out(record: EpgSourceRecord, svc: Services) -> EpgSourceOut:
    return EpgSourceOut(
        id=record.id, name=record.name, kind=record.kind, location=redact(record.location),
        refresh_hours=record.refresh_hours, priority=record.priority, enabled=record.enabled,
        created_at=record.created_at, last_import_at=record.last_import_at, last_success_at=record.last_success_at,
        last_status=record.last_status, last_message=redact(record.last_message),
        channels_matched=record.channels_matched, programmes=record.programmes,
        importing=svc.epg_importer.running(record.id),
    )  # fmt: skip


def override_out(record: EpgOverride) -> OverrideOut:
    return OverrideOut(channel_id=record.channel_id, guide_id=record.guide_id, source_id=record.source_id)


def _config(out: EpgSourceOut) -> dict[str, object]:
    return out.model_dump(mode="json", include={"name", "kind", "location", "refresh_hours", "priority", "enabled"})


# -- sources -----------------------------------------------------------------------------------------------------


async def list_sources(call: Call) -> EpgSourcePage:
    query = call.query(SearchQuery)
    rows = [r for r in await call.svc.epg.list_sources() if not query.q or query.q.casefold() in r.name.casefold()]
    return EpgSourcePage.of([source_out(row, call.svc) for row in rows], query)


async def get_source(call: Call) -> EpgSourceOut:
    return source_out(await call.svc.epg.get_source(call.id("source_id")), call.svc)


async def create_source(call: Call) -> EpgSourceOut:
    record = await call.svc.epg.create_source(EpgSourceInput(**call.body(EpgSourceCreate).model_dump()))
    out = source_out(record, call.svc)
    await call.audit("epg_source.create", "epg_source", record.id, after=_config(out))
    return out


async def update_source(call: Call) -> EpgSourceOut:
    source_id = call.id("source_id")
    before = await get_source(call)
    record = await call.svc.epg.update_source(source_id, **changes(call.body(EpgSourceUpdate)))
    out = source_out(record, call.svc)
    await call.audit("epg_source.update", "epg_source", source_id, before=_config(before), after=_config(out))
    return out


async def delete_source(call: Call) -> None:
    source_id = call.id("source_id")
    before = await get_source(call)
    await call.svc.epg.delete_source(source_id)
    await call.audit("epg_source.delete", "epg_source", source_id, before=_config(before))


async def refresh_source(call: Call) -> RefreshOut:
    source_id = call.id("source_id")
    await call.svc.epg.get_source(source_id)  # NotFound before anything starts
    importer = call.svc.epg_importer
    if importer.running(source_id):
        return RefreshOut(source_id=source_id, state="running")
    start_import(call.request, call.svc, source_id)
    await call.audit("epg_source.refresh", "epg_source", source_id)
    return RefreshOut(source_id=source_id, state="started")


def start_import(request: Request, svc: Services, source_id: int) -> None:
    """Run an import in a background task the app keeps a reference to until it ends."""
    tasks: set[asyncio.Task[None]] = request.app.state.background_tasks
    task = asyncio.create_task(svc.epg_importer.refresh(source_id), name=f"epg-refresh-{source_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


# -- mapping -----------------------------------------------------------------------------------------------------


async def unmatched(call: Call) -> UnmatchedPage:
    query = call.query(PageQuery)
    ids = set(await call.svc.epg.unmatched_channel_ids())
    channels = [c for c in await call.svc.channels.list_channels() if c.id in ids]
    items = [UnmatchedChannel(id=c.id, number=c.number, name=c.name, tvg_id=c.tvg_id) for c in channels]
    return UnmatchedPage.of(items, query)


async def list_overrides(call: Call) -> OverridePage:
    return OverridePage.of([override_out(o) for o in await call.svc.epg.list_overrides()], call.query(PageQuery))


async def set_override(call: Call) -> OverrideOut:
    channel_id = call.id("channel_id")
    data = call.body(OverrideIn)
    out = override_out(await call.svc.epg.set_override(channel_id, data.guide_id, data.source_id))
    await call.audit("epg_override.set", "channel", channel_id, after=out.model_dump(mode="json"))
    return out


async def clear_override(call: Call) -> None:
    channel_id = call.id("channel_id")
    await call.svc.channels.get_channel(channel_id)  # NotFound for a channel that does not exist
    before = next((o for o in await call.svc.epg.list_overrides() if o.channel_id == channel_id), None)
    await call.svc.epg.clear_override(channel_id)
    shown = None if before is None else override_out(before).model_dump(mode="json")
    await call.audit("epg_override.clear", "channel", channel_id, before=shown)


def routes() -> list[ApiRoute]:
    s, o = Policy.SUPPORT, Policy.OPERATOR
    base, one = "/api/v1/epg/sources", "/api/v1/epg/sources/{source_id}"
    mapping = "/api/v1/channels/{channel_id}/epg"
    return [
        route("GET", base, list_sources, policy=s, tag="epg", summary="List EPG sources", query=SearchQuery,
              response=EpgSourcePage),
        route("POST", base, create_source, policy=o, tag="epg", summary="Add an EPG source",
              body=EpgSourceCreate, response=EpgSourceOut),
        route("GET", one, get_source, policy=s, tag="epg", summary="Get an EPG source", response=EpgSourceOut),
        route("PATCH", one, update_source, policy=o, tag="epg", summary="Change an EPG source",
              body=EpgSourceUpdate, response=EpgSourceOut),
        route("DELETE", one, delete_source, policy=o, tag="epg",
              summary="Delete an EPG source with its programmes"),
        route("POST", one + "/refresh", refresh_source, policy=o, tag="epg",
              summary="Start importing an EPG source now (in the background)", response=RefreshOut, status=202),
        route("GET", "/api/v1/epg/unmatched", unmatched, policy=s, tag="epg",
              summary="Channels no EPG source feeds", query=PageQuery, response=UnmatchedPage),
        route("GET", "/api/v1/epg/overrides", list_overrides, policy=s, tag="epg",
              summary="Channels mapped to a guide channel by hand", query=PageQuery, response=OverridePage),
        route("PUT", mapping, set_override, policy=o, tag="epg",
              summary="Map a channel to a guide channel by hand", body=OverrideIn, response=OverrideOut),
        route("DELETE", mapping, clear_override, policy=o, tag="epg", summary="Remove a channel's hand mapping"),
    ]  # fmt: skip


__all__ = ["routes", "start_import"]
