"""Channel pages: list and search, create (with a first source), edit, delete, and the preview player.

Reads are for support and up, changes for operators (the same split as the REST API). A change that alters
what a running channel plays restarts it, as the REST API does. Sources are on :mod:`headend.web.sources`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headend.catalog.records import UNSET, ChannelInput, ChannelPatch, ChannelRecord, SourceInput
from headend.errors import Conflict, NotFound, ValidationError
from headend.http.control import PolicyRoute, services
from headend.http.policy import Policy
from headend.ingest.sources import parse_source
from headend.redact import redact
from headend.services import Services
from headend.types import ChannelId
from headend.web.common import audit, can
from headend.web.forms import Form, field_errors, query_page, query_text, read_form, see_other
from headend.web.routing import PanelRoute
from headend.web.templating import render

PAGE_SIZE = 100
SOURCE_FIELDS = frozenset({"url", "label", "kind", "user_agent"})


def source_from_text(text: str, user_agent: str = "") -> SourceInput:
    """A source as an operator types it: a URL, an absolute file path or ``testpattern:LABEL``."""
    spec = parse_source(text)
    return SourceInput(kind=spec.kind, url=spec.url, label=spec.label, user_agent=user_agent)


async def _choices(svc: Services) -> dict[str, Any]:
    categories = await svc.channels.list_categories("live")
    profiles = await svc.channels.list_profiles()
    return {
        "categories": [(c.id, c.name) for c in categories],
        "profiles": [(p.id, f"{p.name} ({p.profile.mode.value})") for p in profiles],
    }


def channel_values(record: ChannelRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "number": "" if record.number is None else record.number,
        "category_id": record.category_id or "",
        "tvg_id": record.tvg_id,
        "logo_url": record.logo_url,
        "profile_id": record.profile_id,
        "on_demand": record.on_demand,
        "enabled": record.enabled,
    }


def _channel_fields(form: Form) -> dict[str, Any]:
    return {
        "name": form.text("name"),
        "number": form.optional_int("number"),
        "category_id": form.optional_int("category_id"),
        "tvg_id": form.text("tvg_id"),
        "logo_url": form.text("logo_url"),
        "profile_id": form.optional_int("profile_id"),
        "on_demand": form.flag("on_demand"),
        "enabled": form.flag("enabled"),
    }


# -- list ---------------------------------------------------------------------------------------------------------


async def channel_list(request: Request) -> Response:
    svc = services(request)
    q = query_text(request.query_params, "q")
    page = query_page(request.query_params)
    try:
        rows = await svc.channels.list_channels(search=q or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    except ValidationError:
        rows = []
    live = {s.id: s for s in svc.hub.statuses()}
    categories = {c.id: c.name for c in await svc.channels.list_categories("live")}
    context = {
        "title": "Channels",
        "channels": rows[:PAGE_SIZE],
        "live": live,
        "categories": categories,
        "q": q,
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "can_edit": can(request, Policy.OPERATOR),
    }
    return render(request, "channels.html", context)


# -- create -------------------------------------------------------------------------------------------------------


async def channel_new(request: Request) -> Response:
    values = {"on_demand": True, "enabled": True}
    return render(
        request, "channel_new.html", {"title": "New channel", "values": values, **await _choices(services(request))}
    )


async def channel_create(request: Request) -> Response:
    svc = services(request)
    form = await read_form(request)
    try:
        data = ChannelInput(**_channel_fields(form))
        source_text = form.text("source")
        source = source_from_text(source_text, form.text("user_agent")) if source_text else None
    except ValidationError as exc:
        return await _new_again(request, form, _source_field(exc))
    try:
        record = await svc.channels.create_channel(data)
    except (ValidationError, Conflict) as exc:
        return await _new_again(request, form, field_errors(exc))
    await audit(request, "channel.create", "channel", record.id, after=record)
    if source is not None:
        added = await svc.channels.add_source(record.id, source)
        await audit(request, "source.create", "source", added.id, after=_redacted(added.spec.url, added.id))
    return see_other(f"/admin/channels/{record.id}")


def _source_field(exc: ValidationError) -> dict[str, str]:
    errors = field_errors(exc)
    if exc.field in SOURCE_FIELDS:
        return {"source": exc.message}
    return errors


def _redacted(url: str, source_id: int) -> dict[str, object]:
    return {"id": source_id, "url": redact(url)}


async def _new_again(request: Request, form: Form, errors: dict[str, str]) -> Response:
    context = {"title": "New channel", "values": form.values, "errors": errors, **await _choices(services(request))}
    return render(request, "channel_new.html", context, status=422)


# -- view and edit ------------------------------------------------------------------------------------------------


def _channel_id(request: Request) -> int:
    raw = str(request.path_params["channel_id"])
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound("no such channel")
    return int(raw)


async def channel_page(
    request: Request, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    svc = services(request)
    channel_id = _channel_id(request)
    record = await svc.channels.get_channel(channel_id)
    sources = await svc.channels.list_sources(channel_id)
    live = svc.hub.get(channel_id)
    context = {
        "title": record.name,
        "channel": record,
        "sources": sources,
        "status": live.status() if live is not None else None,
        "values": values if values is not None else channel_values(record),
        "errors": errors or {},
        "source_values": {},
        "can_edit": can(request, Policy.OPERATOR),
        **await _choices(svc),
    }
    return render(request, "channel.html", context, status=status)


async def channel_view(request: Request) -> Response:
    return await channel_page(request)


async def channel_update(request: Request) -> Response:
    svc = services(request)
    channel_id = _channel_id(request)
    before = await svc.channels.get_channel(channel_id)
    form = await read_form(request)
    try:
        fields = _channel_fields(form)
        if fields["profile_id"] is None:
            fields["profile_id"] = UNSET  # keep the profile unless one is chosen
        record = await svc.channels.update_channel(channel_id, ChannelPatch(**fields))
    except (ValidationError, Conflict) as exc:
        return await channel_page(request, values=form.values, errors=field_errors(exc), status=422)
    await svc.hub.restart(ChannelId(channel_id))
    await audit(request, "channel.update", "channel", channel_id, before=before, after=record)
    return see_other(f"/admin/channels/{channel_id}")


async def channel_delete(request: Request) -> Response:
    svc = services(request)
    channel_id = _channel_id(request)
    before = await svc.channels.get_channel(channel_id)
    await svc.channels.delete_channel(channel_id)
    await svc.hub.stop(channel_id)
    await audit(request, "channel.delete", "channel", channel_id, before=before)
    return see_other("/admin/channels")


def channel_routes() -> list[PolicyRoute]:
    s, o = Policy.SUPPORT, Policy.OPERATOR
    return [
        PanelRoute("/admin/channels", channel_list, policy=s),
        PanelRoute("/admin/channels/new", channel_new, policy=o),
        PanelRoute("/admin/channels/new", channel_create, policy=o, methods=["POST"]),
        PanelRoute("/admin/channels/{channel_id}", channel_view, policy=s),
        PanelRoute("/admin/channels/{channel_id}/edit", channel_update, policy=o, methods=["POST"]),
        PanelRoute("/admin/channels/{channel_id}/delete", channel_delete, policy=o, methods=["POST"]),
    ]


__all__ = ["channel_page", "channel_routes", "source_from_text"]
