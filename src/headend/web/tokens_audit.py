"""API tokens (each account manages its own; a new token is shown once) and the audit log (admins only)."""

from __future__ import annotations

import json
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from headend.errors import NotFound, ValidationError
from headend.http.control import PolicyRoute, principal, services
from headend.http.policy import Policy
from headend.web.bouquets import path_id
from headend.web.common import audit
from headend.web.forms import field_errors, query_page, query_text, read_form, see_other
from headend.web.routing import PanelRoute
from headend.web.templating import render

AUDIT_PAGE: Final = 100


async def _tokens_page(request: Request, *, token: str = "", errors: dict[str, str] | None = None) -> Response:
    who = principal(request)
    tokens = await services(request).api_tokens.list(who.account_id) if who.account_id else []
    context = {"title": "API tokens", "tokens": tokens, "token": token, "errors": errors or {}, "values": {}}
    status = 422 if errors else 200
    return render(request, "tokens.html", context, status=status, headers={"cache-control": "no-store"})


async def token_list(request: Request) -> Response:
    return await _tokens_page(request)


async def token_create(request: Request) -> Response:
    who = principal(request)
    form = await read_form(request)
    try:
        if not who.account_id:
            raise ValidationError("the bootstrap token has no account to hold tokens", field="name")
        record, token = await services(request).api_tokens.create(who.account_id, form.text("name"))
    except ValidationError as exc:
        return await _tokens_page(request, errors=field_errors(exc))
    await audit(request, "token.create", "api_token", record.id, after=record)
    return await _tokens_page(request, token=token)


async def token_revoke(request: Request) -> Response:
    svc = services(request)
    token_id = path_id(request, "token_id")
    record = await svc.api_tokens.get(token_id)
    if record.admin_id != principal(request).account_id:
        raise NotFound(f"API token {token_id} does not exist")
    await svc.api_tokens.revoke(token_id)
    await audit(request, "token.revoke", "api_token", token_id, before=record)
    return see_other("/admin/tokens")


def _compact(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)[:2000]


async def audit_list(request: Request) -> Response:
    params = request.query_params
    page = query_page(params)
    filters = {name: query_text(params, name, 64) or None for name in ("actor", "action", "object_type")}
    entries = await services(request).audit.list(
        actor=filters["actor"],
        action=filters["action"],
        object_type=filters["object_type"],
        limit=AUDIT_PAGE + 1,
        offset=(page - 1) * AUDIT_PAGE,
    )
    rows = [(e, _compact(e.before), _compact(e.after)) for e in entries[:AUDIT_PAGE]]
    context = {
        "title": "Audit log",
        "rows": rows,
        "filters": {k: v or "" for k, v in filters.items()},
        "page": page,
        "has_next": len(entries) > AUDIT_PAGE,
    }
    return render(request, "audit.html", context)


def token_audit_routes() -> list[PolicyRoute]:
    a = Policy.ACCOUNT
    return [
        PanelRoute("/admin/tokens", token_list, policy=a),
        PanelRoute("/admin/tokens", token_create, policy=a, methods=["POST"]),
        PanelRoute("/admin/tokens/{token_id}/revoke", token_revoke, policy=a, methods=["POST"]),
        PanelRoute("/admin/audit", audit_list, policy=Policy.ADMIN),
    ]


__all__ = ["token_audit_routes"]
