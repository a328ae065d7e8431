"""Actions on one line: enable/disable and reset password (support too), renew (resellers: their own, paid in
credits), edit, ban/unban and delete (operators).

Who may act on which line follows :class:`~headend.admin.resellers.Resellers`: a line a reseller does not own
is NotFound to it. Disabling, banning, deleting or resetting the password ends the line's live sessions, so
no stream outlives the change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headend.admin.principal import Role
from headend.catalog.records import UNSET
from headend.catalog.subscriber_records import LinePatch, LineRecord
from headend.errors import Conflict, Forbidden, NotFound, ValidationError
from headend.http.control import PolicyRoute, principal, services
from headend.http.policy import Policy
from headend.web.common import audit
from headend.web.forms import Form, field_errors, read_form, see_other
from headend.web.lines import line_id_of, line_page
from headend.web.routing import PanelRoute


async def _actionable(request: Request) -> LineRecord:
    """The line, if the caller may take the limited actions on it (support, or whoever manages it)."""
    svc = services(request)
    who = principal(request)
    line = await svc.resellers.get_line(who, line_id_of(request))
    if who.role is Role.SUPPORT or svc.resellers.can_manage(who, line):
        return line
    raise NotFound(f"line {line.id} does not exist")


async def line_enable(request: Request) -> Response:
    line = await _actionable(request)
    record = await services(request).subscribers.set_enabled(line.id, True)
    await audit(request, "line.enable", "line", line.id, before=line, after=record)
    return see_other(f"/admin/lines/{line.id}")


async def line_disable(request: Request) -> Response:
    svc = services(request)
    line = await _actionable(request)
    record = await svc.subscribers.set_enabled(line.id, False)
    svc.sessions.end_line(line.id)
    await audit(request, "line.disable", "line", line.id, before=line, after=record)
    return see_other(f"/admin/lines/{line.id}")


async def line_reset_password(request: Request) -> Response:
    svc = services(request)
    line = await _actionable(request)
    password = await svc.subscribers.reset_password(line.id)
    svc.sessions.end_line(line.id)
    await audit(request, "line.password_reset", "line", line.id)
    return await line_page(request, line.id, password=password, notice="New password set.")


async def line_renew(request: Request) -> Response:
    svc = services(request)
    who = principal(request)
    line = await svc.resellers.get_line(who, line_id_of(request))
    form = await read_form(request)
    try:
        record = await svc.resellers.renew_line(who, line.id, form.optional_int("package_id"))
    except (ValidationError, Forbidden) as exc:
        return await line_page(request, line.id, errors={"renew": exc.message}, status=422)
    await audit(request, "line.renew", "line", line.id, before=line, after=record)
    return see_other(f"/admin/lines/{line.id}")


def _expiry(form: Form) -> datetime | None:
    text = form.text("exp_date")
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError("expiry must be a date (YYYY-MM-DD), or empty for never", field="exp_date") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _patch(form: Form) -> LinePatch:
    return LinePatch(
        exp_at=_expiry(form),
        max_connections=form.integer("max_connections", 1),
        allowed_outputs=form.choices("allowed_outputs") or UNSET,
        is_trial=form.flag("is_trial"),
        allowed_ips=form.lines("allowed_ips"),
        allowed_user_agents=tuple(line for line in form.text("allowed_user_agents").splitlines() if line.strip()),
        notes=form.text("notes"),
    )


async def line_update(request: Request) -> Response:
    svc = services(request)
    line = await svc.subscribers.get_line(line_id_of(request))
    form = await read_form(request)
    try:
        await svc.subscribers.update_line(line.id, _patch(form))
        record = await svc.subscribers.assign_packages(line.id, form.ids("package_ids"))
    except (ValidationError, Conflict) as exc:
        values: dict[str, Any] = form.values | {"allowed_outputs": form.choices("allowed_outputs")}
        return await line_page(request, line.id, values=values, errors=field_errors(exc), status=422)
    await audit(request, "line.update", "line", line.id, before=line, after=record)
    return see_other(f"/admin/lines/{line.id}")


async def line_ban(request: Request) -> Response:
    svc = services(request)
    line = await svc.subscribers.get_line(line_id_of(request))
    form = await read_form(request)
    try:
        record = await svc.subscribers.ban(line.id, form.text("reason"))
    except ValidationError as exc:
        return await line_page(request, line.id, errors={"reason": exc.message}, status=422)
    svc.sessions.end_line(line.id)
    await audit(request, "line.ban", "line", line.id, before=line, after=record)
    return see_other(f"/admin/lines/{line.id}")


async def line_unban(request: Request) -> Response:
    svc = services(request)
    line = await svc.subscribers.get_line(line_id_of(request))
    record = await svc.subscribers.unban(line.id)
    await audit(request, "line.unban", "line", line.id, before=line, after=record)
    return see_other(f"/admin/lines/{line.id}")


async def line_delete(request: Request) -> Response:
    svc = services(request)
    line = await svc.subscribers.get_line(line_id_of(request))
    await svc.subscribers.delete_line(line.id)
    svc.sessions.end_line(line.id)
    await audit(request, "line.delete", "line", line.id, before=line)
    return see_other("/admin/lines")


def line_action_routes() -> list[PolicyRoute]:
    one = "/admin/lines/{line_id}"
    post = ["POST"]
    a, r, o = Policy.ACCOUNT, Policy.RESELLER, Policy.OPERATOR
    return [
        PanelRoute(one + "/enable", line_enable, policy=a, methods=post),
        PanelRoute(one + "/disable", line_disable, policy=a, methods=post),
        PanelRoute(one + "/reset-password", line_reset_password, policy=a, methods=post),
        PanelRoute(one + "/renew", line_renew, policy=r, methods=post),
        PanelRoute(one + "/edit", line_update, policy=o, methods=post),
        PanelRoute(one + "/ban", line_ban, policy=o, methods=post),
        PanelRoute(one + "/unban", line_unban, policy=o, methods=post),
        PanelRoute(one + "/delete", line_delete, policy=o, methods=post),
    ]


__all__ = ["line_action_routes"]
