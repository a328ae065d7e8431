"""Line (subscriber) pages: list and search, create, the line's page with its Xtream credentials and URLs.

Resellers see and manage only their own lines (another's answers 404, as in the REST API): every read goes
through :class:`~headend.admin.resellers.Resellers`. Stream passwords are stored hashed, so a password is
shown once, in the answer to the request that created or reset it, and never again. Actions on a line
(enable, reset password, renew, edit, delete) are on :mod:`headend.web.line_actions`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from headend.admin.principal import Principal, Role
from headend.api.endpoint import from_public_url, from_request
from headend.catalog.subscriber_records import OUTPUT_FORMATS, LineRecord
from headend.errors import Conflict, Forbidden, NotFound, ValidationError
from headend.http.control import PolicyRoute, principal, services
from headend.http.policy import Policy
from headend.services import Services
from headend.web.common import audit, can
from headend.web.forms import Form, field_errors, query_page, query_text, read_form
from headend.web.routing import PanelRoute
from headend.web.templating import render

PAGE_SIZE: Final = 100
PASSWORD_PLACEHOLDER: Final = "PASSWORD"


def line_id_of(request: Request) -> int:
    raw = str(request.path_params["line_id"])
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound("no such line")
    return int(raw)


def base_url(request: Request) -> str:
    """Where subscribers reach this server: ``http.public_url``, else what this request was sent to."""
    svc = services(request)
    configured = from_public_url(svc.settings.http.public_url)
    if configured is not None:
        return configured.base_url
    server = request.scope.get("server")
    address = (str(server[0]), int(server[1])) if isinstance(server, tuple | list) and len(server) == 2 else None
    return from_request(request.headers.get("host"), address).base_url


def line_urls(request: Request, line: LineRecord, password: str | None) -> dict[str, str]:
    """The playlist (get.php, m3u_plus, MPEG-TS) and guide (xmltv.php) URLs of a line."""
    base = base_url(request)
    creds = {"username": line.username, "password": password or PASSWORD_PLACEHOLDER}
    return {
        "server": base,
        "playlist": f"{base}/get.php?" + urlencode(creds | {"type": "m3u_plus", "output": "ts"}),
        "xmltv": f"{base}/xmltv.php?" + urlencode(creds),
    }


async def sellable_packages(svc: Services, who: Principal) -> list[tuple[int, str]]:
    """The packages this principal may create lines with (a reseller: those it may sell, enabled)."""
    packages = await svc.subscribers.list_packages()
    if who.is_reseller:
        allowed = set((await svc.admin_accounts.get(who.account_id)).packages)
        packages = [p for p in packages if p.id in allowed and p.enabled]
    return [(p.id, f"{p.name} ({p.duration_days} days, {p.credit_cost} credit(s))") for p in packages]


# -- list -----------------------------------------------------------------------------------------------------------


async def line_list(request: Request) -> Response:
    svc = services(request)
    who = principal(request)
    q = query_text(request.query_params, "q")
    page = query_page(request.query_params)
    try:
        rows = await svc.resellers.list_lines(who, q=q or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    except ValidationError:
        rows = []
    now = datetime.now(UTC)
    context = {
        "title": "Lines",
        "lines": rows[:PAGE_SIZE],
        "statuses": {line.id: line.status(now).value for line in rows},
        "active": {line.id: svc.sessions.active_count(line.id) for line in rows[:PAGE_SIZE]},
        "packages": {p.id: p.name for p in await svc.subscribers.list_packages()},
        "q": q,
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "can_create": can(request, Policy.RESELLER),
    }
    return render(request, "lines.html", context)


# -- create ---------------------------------------------------------------------------------------------------------


async def _new_form(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    svc = services(request)
    who = principal(request)
    context = {
        "title": "New line",
        "values": values,
        "errors": errors,
        "package_choices": await sellable_packages(svc, who),
        "credits": (await svc.admin_accounts.get(who.account_id)).credits if who.is_reseller else None,
    }
    return render(request, "line_new.html", context, status=status)


async def line_new(request: Request) -> Response:
    return await _new_form(request, {}, {})


async def line_create(request: Request) -> Response:
    svc = services(request)
    who = principal(request)
    form = await read_form(request)
    try:
        record, password = await svc.resellers.create_line(who, **_create_fields(form))
    except (ValidationError, Conflict, Forbidden) as exc:
        errors = {"username": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        if isinstance(exc, Forbidden):
            errors = {"package_id": exc.message}
        return await _new_form(request, form.values, errors, status=422)
    await audit(request, "line.create", "line", record.id, after=record)
    return await line_page(request, record.id, password=password, notice="Line created.")


def _create_fields(form: Form) -> dict[str, Any]:
    package_id = form.optional_int("package_id")
    if package_id is None:
        raise ValidationError("choose a package", field="package_id")
    username, password = form.text("username"), form.raw("password").strip()
    return {
        "package_id": package_id,
        "username": username or None,
        "password": password or None,
        "max_connections": form.optional_int("max_connections"),
        "notes": form.text("notes"),
    }


# -- the line's page --------------------------------------------------------------------------------------------------


async def line_page(
    request: Request,
    line_id: int,
    *,
    password: str | None = None,
    notice: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The line's page; ``password`` (just created or reset) is shown this once, with caching forbidden."""
    svc = services(request)
    who = principal(request)
    line = await svc.resellers.get_line(who, line_id)
    context = {
        "title": f"Line {line.username}",
        "line": line,
        "status": line.status(datetime.now(UTC)).value,
        "password": password,
        "notice": notice,
        "urls": line_urls(request, line, password),
        "sessions": svc.sessions.sessions(line.id),
        "channel_names": {c.id: c.name for c in await svc.channels.list_channels()},
        "packages": {p.id: p.name for p in await svc.subscribers.list_packages()},
        "package_choices": await _package_choices(svc, who),
        "values": values if values is not None else line_values(line),
        "errors": errors or {},
        "output_choices": [(o, o) for o in OUTPUT_FORMATS],
        "may_act": who.role is Role.SUPPORT or svc.resellers.can_manage(who, line),
        "may_renew": who.role is not Role.SUPPORT and svc.resellers.can_manage(who, line),
        "can_edit": can(request, Policy.OPERATOR),
    }
    return render(request, "line.html", context, status=status, headers={"cache-control": "no-store"})


async def _package_choices(svc: Services, who: Principal) -> list[tuple[int, str]]:
    if who.role is Role.SUPPORT:
        return []
    return await sellable_packages(svc, who)


def line_values(line: LineRecord) -> dict[str, Any]:
    return {
        "max_connections": line.max_connections,
        "exp_date": line.exp_at.astimezone(UTC).strftime("%Y-%m-%d") if line.exp_at else "",
        "allowed_outputs": line.allowed_outputs,
        "allowed_ips": "\n".join(line.allowed_ips),
        "allowed_user_agents": "\n".join(line.allowed_user_agents),
        "notes": line.notes,
        "is_trial": line.is_trial,
        "package_ids": line.package_ids,
    }


async def line_view(request: Request) -> Response:
    return await line_page(request, line_id_of(request))


def line_routes() -> list[PolicyRoute]:
    return [
        PanelRoute("/admin/lines", line_list, policy=Policy.ACCOUNT),
        PanelRoute("/admin/lines/new", line_new, policy=Policy.RESELLER),
        PanelRoute("/admin/lines/new", line_create, policy=Policy.RESELLER, methods=["POST"]),
        PanelRoute("/admin/lines/{line_id}", line_view, policy=Policy.ACCOUNT),
    ]


__all__ = ["base_url", "line_id_of", "line_page", "line_routes", "line_urls", "line_values"]
