"""EPG pages: guide sources (create, edit, delete, "refresh now"), channels without a guide, manual overrides.

A refresh runs in the background through the EPG importer (the same one the schedule and the REST API use);
the page shows each source's last import status. Support reads, operators change.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headend.catalog.epg_records import EpgSourceInput, EpgSourceKind, EpgSourceRecord
from headend.errors import Conflict, NotFound, ValidationError
from headend.http.control import PolicyRoute, services
from headend.http.policy import Policy
from headend.redact import redact
from headend.web.bouquets import path_id
from headend.web.common import audit, can
from headend.web.forms import Form, field_errors, read_form, see_other
from headend.web.jobs import web_jobs
from headend.web.routing import PanelRoute
from headend.web.templating import render

DEFAULTS: dict[str, Any] = {"kind": "url", "refresh_hours": 24, "priority": 100, "enabled": True}


def source_audit(record: EpgSourceRecord) -> dict[str, object]:
    return {
        "id": record.id, "name": record.name, "kind": record.kind.value, "location": redact(record.location),
        "refresh_hours": record.refresh_hours, "priority": record.priority, "enabled": record.enabled,
    }  # fmt: skip


async def _page(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    svc = services(request)
    sources = await svc.epg.list_sources()
    unmatched = set(await svc.epg.unmatched_channel_ids())
    channels = await svc.channels.list_channels()
    jobs = web_jobs(request)
    context = {
        "title": "EPG",
        "sources": sources,
        "running": {s.id for s in sources if svc.epg_importer.running(s.id) or jobs.epg_running(s.id)},
        "unmatched": [c for c in channels if c.id in unmatched],
        "overrides": await svc.epg.list_overrides(),
        "channel_names": {c.id: c.name for c in channels},
        "source_names": {s.id: s.name for s in sources},
        "values": values,
        "errors": errors,
        "kinds": [(k.value, k.value) for k in EpgSourceKind],
        "can_edit": can(request, Policy.OPERATOR),
    }
    return render(request, "epg.html", context, status=status)


async def epg_page(request: Request) -> Response:
    return await _page(request, DEFAULTS, {})


def _source_input(form: Form) -> EpgSourceInput:
    kind = form.text("kind", "url")
    if kind not in set(EpgSourceKind):
        raise ValidationError("kind must be url or file", field="kind")
    return EpgSourceInput(
        name=form.text("name"),
        kind=EpgSourceKind(kind),
        location=form.text("location"),
        refresh_hours=form.integer("refresh_hours", 24),
        priority=form.integer("priority", 100),
        enabled=form.flag("enabled"),
    )


async def epg_create(request: Request) -> Response:
    form = await read_form(request)
    try:
        record = await services(request).epg.create_source(_source_input(form))
    except (ValidationError, Conflict) as exc:
        errors = {"name": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        return await _page(request, form.values, errors, status=422)
    await audit(request, "epg_source.create", "epg_source", record.id, after=source_audit(record))
    return see_other("/admin/epg")


async def epg_update(request: Request) -> Response:
    svc = services(request)
    source_id = path_id(request, "source_id")
    before = await svc.epg.get_source(source_id)
    form = await read_form(request)
    try:
        record = await svc.epg.update_source(
            source_id, name=form.text("name"), location=form.text("location"),
            refresh_hours=form.integer("refresh_hours", 24), priority=form.integer("priority", 100),
            enabled=form.flag("enabled"),
        )  # fmt: skip
    except (ValidationError, Conflict) as exc:
        return await _page(request, DEFAULTS, {f"source-{source_id}": exc.message}, status=422)
    await audit(
        request, "epg_source.update", "epg_source", source_id, before=source_audit(before), after=source_audit(record)
    )
    return see_other("/admin/epg")


async def epg_delete(request: Request) -> Response:
    svc = services(request)
    source_id = path_id(request, "source_id")
    before = await svc.epg.get_source(source_id)
    await svc.epg.delete_source(source_id)
    await audit(request, "epg_source.delete", "epg_source", source_id, before=source_audit(before))
    return see_other("/admin/epg")


async def epg_refresh(request: Request) -> Response:
    svc = services(request)
    source_id = path_id(request, "source_id")
    await svc.epg.get_source(source_id)  # NotFound for an unknown id
    if not svc.epg_importer.running(source_id) and web_jobs(request).start_epg(
        source_id, svc.epg_importer.refresh(source_id)
    ):
        await audit(request, "epg_source.refresh", "epg_source", source_id)
    return see_other("/admin/epg")


async def epg_override(request: Request) -> Response:
    """Map a channel to a guide channel id by hand (an empty guide id removes the mapping)."""
    svc = services(request)
    form = await read_form(request)
    try:
        channel_id = form.integer("channel_id")
        guide_id = form.text("guide_id")
        if not guide_id:
            await svc.epg.clear_override(channel_id)
            await audit(request, "epg_override.delete", "channel", channel_id)
        else:
            found = await svc.epg.set_override(channel_id, guide_id, form.optional_int("source_id"))
            await audit(request, "epg_override.set", "channel", channel_id, after=found)
    except (ValidationError, NotFound) as exc:
        return await _page(request, DEFAULTS, {"_": exc.message}, status=422)
    return see_other("/admin/epg")


def epg_routes() -> list[PolicyRoute]:
    s, o, post = Policy.SUPPORT, Policy.OPERATOR, ["POST"]
    return [
        PanelRoute("/admin/epg", epg_page, policy=s),
        PanelRoute("/admin/epg/new", epg_create, policy=o, methods=post),
        PanelRoute("/admin/epg/overrides", epg_override, policy=o, methods=post),
        PanelRoute("/admin/epg/{source_id}/edit", epg_update, policy=o, methods=post),
        PanelRoute("/admin/epg/{source_id}/delete", epg_delete, policy=o, methods=post),
        PanelRoute("/admin/epg/{source_id}/refresh", epg_refresh, policy=o, methods=post),
    ]


__all__ = ["epg_routes"]
