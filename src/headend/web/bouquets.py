"""Category and bouquet pages: list, create, edit (bouquets: name, position, channels), delete.

Reads are for support and up, changes for operators.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headend.catalog.records import CategoryKind
from headend.errors import Conflict, NotFound, ValidationError
from headend.http.control import PolicyRoute, services
from headend.http.policy import Policy
from headend.services import Services
from headend.web.common import audit, can
from headend.web.forms import Form, field_errors, read_form, see_other
from headend.web.routing import PanelRoute
from headend.web.templating import render


def path_id(request: Request, name: str) -> int:
    raw = str(request.path_params[name])
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound("no such object")
    return int(raw)


# -- categories ---------------------------------------------------------------------------------------------------


def _kind(request: Request) -> CategoryKind:
    try:
        return CategoryKind(request.query_params.get("kind", "live"))
    except ValueError:
        return CategoryKind.LIVE


async def _categories_page(
    request: Request, kind: CategoryKind, values: dict[str, Any], errors: dict[str, str]
) -> Response:
    svc = services(request)
    context = {
        "title": "Categories",
        "kind": kind,
        "kinds": list(CategoryKind),
        "categories": await svc.channels.list_categories(kind),
        "values": values,
        "errors": errors,
        "can_edit": can(request, Policy.OPERATOR),
    }
    return render(request, "categories.html", context, status=422 if errors else 200)


async def category_list(request: Request) -> Response:
    return await _categories_page(request, _kind(request), {}, {})


async def category_create(request: Request) -> Response:
    svc = services(request)
    form = await read_form(request)
    kind_text = form.text("kind", "live")
    kind = CategoryKind(kind_text) if kind_text in set(CategoryKind) else CategoryKind.LIVE
    name = form.text("name")
    try:
        if any(row.name == name for row in await svc.channels.list_categories(kind)):
            raise Conflict(f"a {kind.value} category named {name!r} already exists")
        record = await svc.channels.ensure_category(kind, name)
    except (ValidationError, Conflict) as exc:
        errors = {"name": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        return await _categories_page(request, kind, form.values, errors)
    await audit(request, "category.create", "category", record.id, after=record)
    return see_other(f"/admin/categories?kind={kind.value}")


async def category_delete(request: Request) -> Response:
    category_id = path_id(request, "category_id")
    await services(request).channels.delete_category(category_id)
    await audit(request, "category.delete", "category", category_id)
    return see_other("/admin/categories")


# -- bouquets -----------------------------------------------------------------------------------------------------


async def _channel_choices(svc: Services) -> list[tuple[int, str]]:
    rows = await svc.channels.list_channels()
    return [(c.id, f"{c.number}. {c.name}" if c.number is not None else c.name) for c in rows]


async def bouquet_list(request: Request) -> Response:
    svc = services(request)
    context = {
        "title": "Bouquets",
        "bouquets": await svc.subscribers.list_bouquets(),
        "can_edit": can(request, Policy.OPERATOR),
        "values": {},
        "chosen": (),
        "channel_choices": await _channel_choices(svc),
    }
    return render(request, "bouquets.html", context)


async def bouquet_create(request: Request) -> Response:
    svc = services(request)
    form = await read_form(request)
    try:
        record = await svc.subscribers.create_bouquet(form.text("name"), form.ids("channel_ids"))
    except (ValidationError, Conflict) as exc:
        return await _bouquet_list_again(request, form, exc)
    await audit(request, "bouquet.create", "bouquet", record.id, after=record)
    return see_other(f"/admin/bouquets/{record.id}")


async def _bouquet_list_again(request: Request, form: Form, exc: ValidationError | Conflict) -> Response:
    svc = services(request)
    errors = {"name": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
    context = {
        "title": "Bouquets",
        "bouquets": await svc.subscribers.list_bouquets(),
        "can_edit": True,
        "values": form.values,
        "chosen": _safe_ids(form, "channel_ids"),
        "errors": errors,
        "channel_choices": await _channel_choices(svc),
    }
    return render(request, "bouquets.html", context, status=422)


def _safe_ids(form: Form, name: str) -> tuple[int, ...]:
    try:
        return form.ids(name)
    except ValidationError:
        return ()


async def _bouquet_page(
    request: Request, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> Response:
    svc = services(request)
    record = await svc.subscribers.get_bouquet(path_id(request, "bouquet_id"))
    context = {
        "title": record.name,
        "bouquet": record,
        "values": values if values is not None else {"name": record.name, "position": record.position},
        "errors": errors or {},
        "chosen": record.channel_ids,
        "channel_choices": await _channel_choices(svc),
        "can_edit": can(request, Policy.OPERATOR),
    }
    return render(request, "bouquet.html", context, status=422 if errors else 200)


async def bouquet_view(request: Request) -> Response:
    return await _bouquet_page(request)


async def bouquet_update(request: Request) -> Response:
    svc = services(request)
    bouquet_id = path_id(request, "bouquet_id")
    before = await svc.subscribers.get_bouquet(bouquet_id)
    form = await read_form(request)
    try:
        await svc.subscribers.update_bouquet(bouquet_id, name=form.text("name"), position=form.integer("position", 0))
        record = await svc.subscribers.set_bouquet_channels(bouquet_id, form.ids("channel_ids"))
    except (ValidationError, Conflict) as exc:
        errors = {"name": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        return await _bouquet_page(request, form.values, errors)
    await audit(request, "bouquet.update", "bouquet", bouquet_id, before=before, after=record)
    return see_other(f"/admin/bouquets/{bouquet_id}")


async def bouquet_delete(request: Request) -> Response:
    svc = services(request)
    bouquet_id = path_id(request, "bouquet_id")
    before = await svc.subscribers.get_bouquet(bouquet_id)
    await svc.subscribers.delete_bouquet(bouquet_id)
    await audit(request, "bouquet.delete", "bouquet", bouquet_id, before=before)
    return see_other("/admin/bouquets")


def bouquet_routes() -> list[PolicyRoute]:
    s, o = Policy.SUPPORT, Policy.OPERATOR
    return [
        PanelRoute("/admin/categories", category_list, policy=s),
        PanelRoute("/admin/categories/new", category_create, policy=o, methods=["POST"]),
        PanelRoute("/admin/categories/{category_id}/delete", category_delete, policy=o, methods=["POST"]),
        PanelRoute("/admin/bouquets", bouquet_list, policy=s),
        PanelRoute("/admin/bouquets/new", bouquet_create, policy=o, methods=["POST"]),
        PanelRoute("/admin/bouquets/{bouquet_id}", bouquet_view, policy=s),
        PanelRoute("/admin/bouquets/{bouquet_id}/edit", bouquet_update, policy=o, methods=["POST"]),
        PanelRoute("/admin/bouquets/{bouquet_id}/delete", bouquet_delete, policy=o, methods=["POST"]),
    ]


__all__ = ["bouquet_routes", "path_id"]
