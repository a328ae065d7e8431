"""REST: channels (with their live state), their sources in failover order, profiles and categories.

Reads are for support and up, changes for operators. Source URLs may hold upstream credentials: they are
redacted (:func:`headend.redact.redact`) in every answer and audit entry. A change that alters what a running
channel plays restarts it (it starts again on demand, or at once when always on).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from headend.catalog.records import (
    CATEGORY_NAME_MAX,
    CHANNEL_NAME_MAX,
    CHANNEL_NUMBER_MAX,
    LABEL_MAX,
    LOGO_URL_MAX,
    PROFILE_NAME_MAX,
    SOURCE_URL_MAX,
    TVG_ID_MAX,
    USER_AGENT_MAX,
    CategoryKind,
    CategoryRecord,
    ChannelInput,
    ChannelPatch,
    ChannelRecord,
    ProfileRecord,
    SourceInput,
    SourceRecord,
)
from headend.http.policy import Policy
from headend.ingest.sources import Profile, ProfileMode, SourceKind
from headend.redact import redact
from headend.relay.channel import ChannelStatus
from headend.rest.framework import (
    ID_MAX,
    LIMIT_MAX,
    ApiRoute,
    Call,
    In,
    Out,
    Page,
    PageQuery,
    SearchQuery,
    changes,
    keep,
    route,
)
from headend.services import Services
from headend.types import ChannelId

Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]


# -- models ------------------------------------------------------------------------------------------------------


class ChannelOut(Out):
    id: int
    number: int | None
    name: str
    logo_url: str
    category_id: int | None
    tvg_id: str
    profile_id: int
    on_demand: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime
    state: str = Field(description="stopped, starting, running, ... (the relay's state of the channel)")
    viewers: int
    bitrate_bps: int
    active_source: int | None = Field(description="Position of the source playing now (0 = primary).")


class ChannelPage(Page[ChannelOut]):
    pass


class ChannelCreate(In):
    name: str = Field(min_length=1, max_length=CHANNEL_NAME_MAX)
    number: int | None = Field(None, ge=1, le=CHANNEL_NUMBER_MAX)
    logo_url: str = Field("", max_length=LOGO_URL_MAX, description="http(s) URL or empty")
    category_id: int | None = Field(None, ge=1, le=ID_MAX)
    tvg_id: str = Field("", max_length=TVG_ID_MAX)
    profile_id: int | None = Field(None, ge=1, le=ID_MAX, description="None: the built-in remux profile")
    on_demand: bool = True
    enabled: bool = True


class ChannelUpdate(In):
    name: str = keep(min_length=1, max_length=CHANNEL_NAME_MAX)
    number: int | None = keep(ge=1, le=CHANNEL_NUMBER_MAX)
    logo_url: str = keep(max_length=LOGO_URL_MAX)
    category_id: int | None = keep(ge=1, le=ID_MAX)
    tvg_id: str = keep(max_length=TVG_ID_MAX)
    profile_id: int | None = keep(ge=1, le=ID_MAX)
    on_demand: bool = keep()
    enabled: bool = keep()


class ChannelQuery(SearchQuery):
    enabled: bool | None = Field(None, description="Only enabled (true) or disabled (false) channels.")


class SourceOut(Out):
    id: int
    channel_id: int
    position: int
    kind: SourceKind
    url: str = Field(description="Credentials redacted.")
    label: str
    reconnect: bool
    user_agent: str
    enabled: bool


class SourcePage(Page[SourceOut]):
    pass


class SourceCreate(In):
    kind: SourceKind
    url: str = Field("", max_length=SOURCE_URL_MAX)
    label: str = Field("", max_length=LABEL_MAX)
    reconnect: bool = False
    user_agent: str = Field("", max_length=USER_AGENT_MAX)
    enabled: bool = True
    position: int | None = Field(None, ge=0, le=ID_MAX, description="0 = primary; None or past the end: last.")


class SourceUpdate(In):
    enabled: bool = keep()
    position: int = keep(ge=0, le=ID_MAX)


class ProfileOut(Out):
    id: int
    name: str
    mode: ProfileMode
    video_bitrate_kbps: int
    max_height: int
    fps: int
    gop_seconds: float
    x264_preset: str
    audio_bitrate_kbps: int


class ProfilePage(Page[ProfileOut]):
    pass


class ProfileCreate(In):
    name: str = Field(min_length=1, max_length=PROFILE_NAME_MAX)
    mode: ProfileMode = ProfileMode.REMUX
    video_bitrate_kbps: int = Field(2500, ge=100, le=50_000)
    max_height: int = Field(720, ge=120, le=2160)
    fps: int = Field(25, ge=1, le=120)
    gop_seconds: float = Field(2.0, ge=0.2, le=10.0)
    x264_preset: Preset = "veryfast"
    audio_bitrate_kbps: int = Field(128, ge=16, le=512)


class CategoryOut(Out):
    id: int
    kind: CategoryKind
    name: str
    position: int


class CategoryPage(Page[CategoryOut]):
    pass


class CategoryCreate(In):
    kind: CategoryKind = CategoryKind.LIVE
    name: str = Field(min_length=1, max_length=CATEGORY_NAME_MAX)


class AllQuery(PageQuery):
    """Short lists (sources, profiles): one page holds them all by default."""

    limit: int = Field(LIMIT_MAX, ge=1, le=LIMIT_MAX)


class CategoryQuery(SearchQuery):
    kind: CategoryKind = CategoryKind.LIVE


# -- record → model ----------------------------------------------------------------------------------------------


def channel_out(record: ChannelRecord, live: ChannelStatus | None) -> ChannelOut:
    return ChannelOut(
        id=record.id, number=record.number, name=record.name, logo_url=record.logo_url,
        category_id=record.category_id, tvg_id=record.tvg_id, profile_id=record.profile_id,
        on_demand=record.on_demand, enabled=record.enabled, created_at=record.created_at,
        updated_at=record.updated_at, state=live.state.value if live else "stopped",
        viewers=live.viewers + live.leases if live else 0, bitrate_bps=live.bitrate_bps if live else 0,
        active_source=live.active_source if live else None,
    )  # fmt: skip


def source_out(record: SourceRecord) -> SourceOut:
    spec = record.spec
    return SourceOut(
        id=record.id, channel_id=record.channel_id, position=record.position, kind=spec.kind,
        url=redact(spec.url), label=spec.label, reconnect=spec.reconnect, user_agent=spec.user_agent,
        enabled=record.enabled,
    )  # fmt: skip


def profile_out(record: ProfileRecord) -> ProfileOut:
    p = record.profile
    return ProfileOut(
        id=record.id, name=p.name, mode=p.mode, video_bitrate_kbps=p.video_bitrate_kbps, max_height=p.max_height,
        fps=p.fps, gop_seconds=p.gop_seconds, x264_preset=p.x264_preset, audio_bitrate_kbps=p.audio_bitrate_kbps,
    )  # fmt: skip


def category_out(record: CategoryRecord) -> CategoryOut:
    return CategoryOut(id=record.id, kind=record.kind, name=record.name, position=record.position)


def _live(svc: Services) -> dict[int, ChannelStatus]:
    return {status.id: status for status in svc.hub.statuses()}


# -- channels ----------------------------------------------------------------------------------------------------


async def list_channels(call: Call) -> ChannelPage:
    query = call.query(ChannelQuery)
    rows = await call.svc.channels.list_channels(search=query.q)
    if query.enabled is not None:
        rows = [row for row in rows if row.enabled is query.enabled]
    live = _live(call.svc)
    return ChannelPage.of([channel_out(row, live.get(row.id)) for row in rows], query)


async def get_channel(call: Call) -> ChannelOut:
    record = await call.svc.channels.get_channel(call.id("channel_id"))
    return channel_out(record, _live(call.svc).get(record.id))


async def create_channel(call: Call) -> ChannelOut:
    record = await call.svc.channels.create_channel(ChannelInput(**call.body(ChannelCreate).model_dump()))
    out = channel_out(record, None)
    await call.audit("channel.create", "channel", record.id, after=out.model_dump(mode="json"))
    return out


async def update_channel(call: Call) -> ChannelOut:
    channel_id = call.id("channel_id")
    before = await get_channel(call)
    record = await call.svc.channels.update_channel(channel_id, ChannelPatch(**changes(call.body(ChannelUpdate))))
    await call.svc.hub.restart(ChannelId(channel_id))
    out = channel_out(record, _live(call.svc).get(channel_id))
    await call.audit("channel.update", "channel", channel_id, before=_config(before), after=_config(out))
    return out


async def delete_channel(call: Call) -> None:
    channel_id = call.id("channel_id")
    before = await get_channel(call)
    await call.svc.channels.delete_channel(channel_id)
    await call.svc.hub.stop(channel_id)
    await call.audit("channel.delete", "channel", channel_id, before=_config(before))


def _config(out: ChannelOut) -> dict[str, object]:
    """A channel's stored settings (without its changing live state) for the audit log."""
    return out.model_dump(mode="json", exclude={"state", "viewers", "bitrate_bps", "active_source", "updated_at"})


# -- sources -----------------------------------------------------------------------------------------------------


async def list_sources(call: Call) -> SourcePage:
    rows = await call.svc.channels.list_sources(call.id("channel_id"))
    return SourcePage.of([source_out(row) for row in rows], call.query(AllQuery))


async def add_source(call: Call) -> SourceOut:
    channel_id = call.id("channel_id")
    data = call.body(SourceCreate)
    source = SourceInput(**data.model_dump(exclude={"position"}))
    record = await call.svc.channels.add_source(channel_id, source, data.position)
    await call.svc.hub.restart(ChannelId(channel_id))
    out = source_out(record)
    await call.audit("source.create", "source", record.id, after=out.model_dump(mode="json"))
    return out


async def update_source(call: Call) -> SourceOut:
    source_id = call.id("source_id")
    data = call.body(SourceUpdate)
    given = changes(data)
    store = call.svc.channels
    before = await call.svc.channels.get_source(source_id)
    record = before
    if "enabled" in given:
        record = await store.set_source_enabled(source_id, data.enabled)
    if "position" in given:
        record = await store.move_source(source_id, data.position)
    await call.svc.hub.restart(ChannelId(record.channel_id))
    out = source_out(await call.svc.channels.get_source(source_id))
    await call.audit(
        "source.update", "source", source_id, before=source_out(before).model_dump(mode="json"),
        after=out.model_dump(mode="json"),
    )  # fmt: skip
    return out


async def delete_source(call: Call) -> None:
    source_id = call.id("source_id")
    before = await call.svc.channels.get_source(source_id)
    await call.svc.channels.remove_source(source_id)
    await call.svc.hub.restart(ChannelId(before.channel_id))
    await call.audit("source.delete", "source", source_id, before=source_out(before).model_dump(mode="json"))


# -- profiles and categories -------------------------------------------------------------------------------------


async def list_profiles(call: Call) -> ProfilePage:
    rows = await call.svc.channels.list_profiles()
    return ProfilePage.of([profile_out(row) for row in rows], call.query(AllQuery))


async def create_profile(call: Call) -> ProfileOut:
    record = await call.svc.channels.create_profile(Profile(**call.body(ProfileCreate).model_dump()))
    out = profile_out(record)
    await call.audit("profile.create", "profile", record.id, after=out.model_dump(mode="json"))
    return out


async def list_categories(call: Call) -> CategoryPage:
    query = call.query(CategoryQuery)
    rows = await call.svc.channels.list_categories(query.kind)
    if query.q:
        rows = [row for row in rows if query.q.casefold() in row.name.casefold()]
    return CategoryPage.of([category_out(row) for row in rows], query)


async def create_category(call: Call) -> CategoryOut:
    data = call.body(CategoryCreate)
    record = await call.svc.channels.create_category(data.kind, data.name)
    out = category_out(record)
    await call.audit("category.create", "category", record.id, after=out.model_dump(mode="json"))
    return out


async def delete_category(call: Call) -> None:
    category_id = call.id("category_id")
    await call.svc.channels.delete_category(category_id)
    await call.audit("category.delete", "category", category_id)


def routes() -> list[ApiRoute]:
    s, o = Policy.SUPPORT, Policy.OPERATOR
    ch, one, src = "/api/v1/channels", "/api/v1/channels/{channel_id}", "/api/v1/sources/{source_id}"
    return [
        route("GET", ch, list_channels, policy=s, tag="channels", summary="List channels with their live state",
              query=ChannelQuery, response=ChannelPage),
        route("POST", ch, create_channel, policy=o, tag="channels", summary="Create a channel",
              body=ChannelCreate, response=ChannelOut),
        route("GET", one, get_channel, policy=s, tag="channels", summary="Get a channel", response=ChannelOut),
        route("PATCH", one, update_channel, policy=o, tag="channels", summary="Change a channel",
              body=ChannelUpdate, response=ChannelOut),
        route("DELETE", one, delete_channel, policy=o, tag="channels", summary="Delete a channel and its sources"),
        route("GET", one + "/sources", list_sources, policy=s, tag="sources",
              summary="List a channel's sources in failover order", query=AllQuery, response=SourcePage),
        route("POST", one + "/sources", add_source, policy=o, tag="sources", summary="Add a source to a channel",
              body=SourceCreate, response=SourceOut),
        route("PATCH", src, update_source, policy=o, tag="sources", summary="Enable, disable or move a source",
              body=SourceUpdate, response=SourceOut),
        route("DELETE", src, delete_source, policy=o, tag="sources", summary="Remove a source"),
        route("GET", "/api/v1/profiles", list_profiles, policy=s, tag="profiles", summary="List profiles",
              query=AllQuery, response=ProfilePage),
        route("POST", "/api/v1/profiles", create_profile, policy=o, tag="profiles", summary="Create a profile",
              body=ProfileCreate, response=ProfileOut),
        route("GET", "/api/v1/categories", list_categories, policy=s, tag="categories",
              summary="List the categories of one kind", query=CategoryQuery, response=CategoryPage),
        route("POST", "/api/v1/categories", create_category, policy=o, tag="categories",
              summary="Create a category", body=CategoryCreate, response=CategoryOut),
        route("DELETE", "/api/v1/categories/{category_id}", delete_category, policy=o, tag="categories",
              summary="Delete a category (its channels keep existing without one)"),
    ]  # fmt: skip


__all__ = ["channel_out", "routes", "source_out"]
