"""A channel's sources on its page: add one, enable/disable, move up/down (failover order), remove.

Source URLs may hold upstream credentials: the page and the audit log show them redacted.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from headend.catalog.records import SourceRecord
from headend.errors import NotFound, ValidationError
from headend.http.control import PolicyRoute, services
from headend.http.policy import Policy
from headend.redact import redact
from headend.services import Services
from headend.types import ChannelId
from headend.web.channels import channel_page, source_from_text
from headend.web.common import audit
from headend.web.forms import field_errors, read_form, see_other
from headend.web.routing import PanelRoute

ACTIONS: Final = frozenset({"enable", "disable", "up", "down", "remove"})


def source_audit(record: SourceRecord) -> dict[str, object]:
    spec = record.spec
    return {
        "id": record.id,
        "channel_id": record.channel_id,
        "position": record.position,
        "kind": spec.kind.value,
        "url": redact(spec.url),
        "label": spec.label,
        "enabled": record.enabled,
    }


def _ids(request: Request) -> tuple[int, int]:
    values = []
    for name in ("channel_id", "source_id"):
        raw = str(request.path_params[name])
        if not raw.isdigit() or len(raw) > 10:
            raise NotFound("no such source")
        values.append(int(raw))
    return values[0], values[1]


async def _source_of(svc: Services, channel_id: int, source_id: int) -> SourceRecord:
    for source in await svc.channels.list_sources(channel_id):
        if source.id == source_id:
            return source
    raise NotFound(f"channel {channel_id} has no source {source_id}")


async def source_add(request: Request) -> Response:
    svc = services(request)
    channel_id = _channel_of(request)
    form = await read_form(request)
    try:
        source = source_from_text(form.text("source"), form.text("user_agent"))
        position = form.optional_int("position")
        record = await svc.channels.add_source(channel_id, source, None if position is None else max(0, position - 1))
    except ValidationError as exc:
        errors = {"source": exc.message} if exc.field != "position" else field_errors(exc)
        return await channel_page(request, errors=errors, status=422)
    await svc.hub.restart(ChannelId(channel_id))
    await audit(request, "source.create", "source", record.id, after=source_audit(record))
    return see_other(f"/admin/channels/{channel_id}#sources")


def _channel_of(request: Request) -> int:
    raw = str(request.path_params["channel_id"])
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound("no such channel")
    return int(raw)


async def source_action(request: Request) -> Response:
    svc = services(request)
    channel_id, source_id = _ids(request)
    before = await _source_of(svc, channel_id, source_id)
    action = (await read_form(request)).text("action")
    if action not in ACTIONS:
        raise ValidationError("unknown source action", field="action")
    store = svc.channels
    if action == "remove":
        await store.remove_source(source_id)
    elif action in ("enable", "disable"):
        await store.set_source_enabled(source_id, action == "enable")
    else:
        await store.move_source(source_id, max(0, before.position + (-1 if action == "up" else 1)))
    await svc.hub.restart(ChannelId(channel_id))
    if action == "remove":
        await audit(request, "source.delete", "source", source_id, before=source_audit(before))
    else:
        after = await _source_of(svc, channel_id, source_id)
        await audit(
            request, "source.update", "source", source_id, before=source_audit(before), after=source_audit(after)
        )
    return see_other(f"/admin/channels/{channel_id}#sources")


def source_routes() -> list[PolicyRoute]:
    o = Policy.OPERATOR
    return [
        PanelRoute("/admin/channels/{channel_id}/sources", source_add, policy=o, methods=["POST"]),
        PanelRoute("/admin/channels/{channel_id}/sources/{source_id}", source_action, policy=o, methods=["POST"]),
    ]


__all__ = ["source_audit", "source_routes"]
