"""Admin accounts (admins only) and resellers (sub-operators with credits; operators and admins).

A generated or new password is shown once, in the answer to the request that set it. Disabling an account,
changing its role or its password ends its panel sessions. The last enabled admin cannot be disabled,
demoted or deleted (the account store refuses with Conflict, shown on the form).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headend.admin.principal import Role
from headend.admin.records import AdminAccount, AdminInput, check_role
from headend.errors import Conflict, NotFound, ValidationError
from headend.http.control import PolicyRoute, principal, services
from headend.http.policy import Policy
from headend.web.bouquets import path_id
from headend.web.common import audit
from headend.web.forms import Form, field_errors, query_text, read_form, see_other
from headend.web.routing import PanelRoute
from headend.web.templating import render

ROLE_CHOICES = [(r.value, r.value) for r in Role]


def _area(request: Request) -> str:
    return "resellers" if request.url.path.startswith("/admin/resellers") else "admins"


async def _account(request: Request) -> AdminAccount:
    """The account of the URL; on the reseller pages only a reseller account exists."""
    account = await services(request).admin_accounts.get(path_id(request, "account_id"))
    if _area(request) == "resellers" and account.role is not Role.RESELLER:
        raise NotFound("no such reseller")
    return account


async def _list(request: Request, values: dict[str, Any], errors: dict[str, str], password: str = "") -> Response:
    svc = services(request)
    area = _area(request)
    q = query_text(request.query_params, "q")
    role = Role.RESELLER if area == "resellers" else None
    context = {
        "title": "Resellers" if area == "resellers" else "Admin accounts",
        "area": area,
        "accounts": await svc.admin_accounts.list(role=role, q=q or None, limit=500),
        "q": q,
        "values": values,
        "errors": errors,
        "password": password,
        "role_choices": ROLE_CHOICES,
        "package_choices": [(p.id, p.name) for p in await svc.subscribers.list_packages()],
    }
    return render(
        request, "accounts.html", context, status=422 if errors else 200, headers={"cache-control": "no-store"}
    )


async def account_list(request: Request) -> Response:
    return await _list(request, {"role": "operator", "enabled": True}, {})


def _input(form: Form, area: str) -> AdminInput:
    return AdminInput(
        username=form.text("username"),
        role=Role.RESELLER if area == "resellers" else check_role(form.text("role")),
        password=form.raw("password") or None,
        credits=form.integer("credits", 0),
        packages=form.ids("packages"),
        notes=form.text("notes"),
        enabled=True,
    )


async def account_create(request: Request) -> Response:
    area = _area(request)
    form = await read_form(request)
    try:
        account, password = await services(request).admin_accounts.create(_input(form, area))
    except (ValidationError, Conflict) as exc:
        errors = {"username": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        return await _list(request, form.values, errors)
    await audit(request, "admin.create", "admin", account.id, after=account)
    return await _detail(request, account, password=password, notice=f"Account {account.username} created.")


async def _detail(
    request: Request,
    account: AdminAccount,
    *,
    password: str = "",
    notice: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    svc = services(request)
    area = "resellers" if account.role is Role.RESELLER and _area(request) == "resellers" else "admins"
    lines = await svc.subscribers.list_lines(limit=500, owner_id=account.id) if account.role is Role.RESELLER else []
    context = {
        "title": account.username,
        "area": area,
        "account": account,
        "password": password,
        "notice": notice,
        "errors": errors or {},
        "lines": lines,
        "role_choices": ROLE_CHOICES,
        "package_choices": [(p.id, p.name) for p in await svc.subscribers.list_packages()],
        "is_self": account.id == principal(request).account_id,
    }
    return render(request, "account.html", context, status=status, headers={"cache-control": "no-store"})


async def account_view(request: Request) -> Response:
    return await _detail(request, await _account(request))


async def account_update(request: Request) -> Response:
    svc = services(request)
    before = await _account(request)
    form = await read_form(request)
    try:
        role = check_role(form.text("role", before.role.value)) if _area(request) == "admins" else Role.RESELLER
        record = await svc.admin_accounts.update(
            before.id, role=role,
            enabled=form.flag("enabled"), packages=form.ids("packages"), notes=form.text("notes"),
        )  # fmt: skip
    except (ValidationError, Conflict) as exc:
        return await _detail(request, before, errors={"_": exc.message}, status=422)
    if record.role is not before.role or (before.enabled and not record.enabled):
        await svc.admin_sessions.end_for_account(record.id)
    await audit(request, "admin.update", "admin", record.id, before=before, after=record)
    return see_other(f"/admin/{_area(request)}/{record.id}")


async def account_credits(request: Request) -> Response:
    svc = services(request)
    before = await _account(request)
    form = await read_form(request)
    try:
        record = await svc.admin_accounts.add_credits(before.id, _signed(form.text("delta")))
    except ValidationError as exc:
        return await _detail(request, before, errors={"delta": exc.message}, status=422)
    await audit(
        request,
        "admin.credits",
        "admin",
        record.id,
        before={"credits": before.credits},
        after={"credits": record.credits},
    )
    return see_other(f"/admin/{_area(request)}/{record.id}")


def _signed(text: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit() or len(body) > 10:
        raise ValidationError("credits to add must be a whole number (negative to take some away)", field="delta")
    return -int(body) if text.startswith("-") else int(body)


async def account_password(request: Request) -> Response:
    svc = services(request)
    account = await _account(request)
    password = await svc.admin_accounts.set_password(account.id)
    await svc.admin_sessions.end_for_account(account.id)
    await audit(request, "admin.password", "admin", account.id)
    return await _detail(request, account, password=password, notice="New password set; the account's sessions ended.")


async def account_delete(request: Request) -> Response:
    svc = services(request)
    account = await _account(request)
    try:
        await svc.admin_accounts.delete(account.id)
    except Conflict as exc:
        return await _detail(request, account, errors={"_": exc.message}, status=409)
    await audit(request, "admin.delete", "admin", account.id, before=account)
    return see_other(f"/admin/{_area(request)}")


def account_routes() -> list[PolicyRoute]:
    out: list[PolicyRoute] = []
    post = ["POST"]
    for base, policy in (("/admin/admins", Policy.ADMIN), ("/admin/resellers", Policy.OPERATOR)):
        one = base + "/{account_id}"
        out += [
            PanelRoute(base, account_list, policy=policy),
            PanelRoute(base + "/new", account_create, policy=policy, methods=post),
            PanelRoute(one, account_view, policy=policy),
            PanelRoute(one + "/edit", account_update, policy=policy, methods=post),
            PanelRoute(one + "/credits", account_credits, policy=policy, methods=post),
            PanelRoute(one + "/password", account_password, policy=policy, methods=post),
            PanelRoute(one + "/delete", account_delete, policy=policy, methods=post),
        ]
    return out


__all__ = ["account_routes"]
