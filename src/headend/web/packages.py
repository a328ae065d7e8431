"""Package pages: what a line gets (bouquets, duration, connections, outputs). Support reads, operators change."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headend.catalog.subscriber_records import OUTPUT_FORMATS, PackageInput, PackagePatch, PackageRecord
from headend.errors import Conflict, ValidationError
from headend.http.control import PolicyRoute, services
from headend.http.policy import Policy
from headend.web.bouquets import path_id
from headend.web.common import audit, can
from headend.web.forms import Form, field_errors, read_form, see_other
from headend.web.routing import PanelRoute
from headend.web.templating import render

DEFAULTS: dict[str, Any] = {"duration_days": 30, "max_connections": 1, "credit_cost": 1, "enabled": True}


def package_values(record: PackageRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "duration_days": record.duration_days,
        "max_connections": record.max_connections,
        "credit_cost": record.credit_cost,
        "is_trial": record.is_trial,
        "enabled": record.enabled,
    }


def _fields(form: Form) -> dict[str, Any]:
    return {
        "name": form.text("name"),
        "duration_days": form.integer("duration_days", 30),
        "max_connections": form.integer("max_connections", 1),
        "credit_cost": form.integer("credit_cost", 1),
        "allowed_outputs": form.choices("allowed_outputs"),
        "is_trial": form.flag("is_trial"),
        "enabled": form.flag("enabled"),
    }


async def _page(
    request: Request,
    template: str,
    *,
    values: dict[str, Any],
    outputs: tuple[str, ...],
    bouquets: tuple[int, ...],
    errors: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    svc = services(request)
    context = {
        "values": values,
        "errors": errors or {},
        "outputs": outputs,
        "output_choices": [(o, o) for o in OUTPUT_FORMATS],
        "chosen": bouquets,
        "bouquet_choices": [(b.id, b.name) for b in await svc.subscribers.list_bouquets()],
        "can_edit": can(request, Policy.OPERATOR),
        **(extra or {}),
    }
    return render(request, template, context, status=422 if errors else 200)


async def package_list(request: Request) -> Response:
    svc = services(request)
    packages = await svc.subscribers.list_packages()
    bouquets = {b.id: b.name for b in await svc.subscribers.list_bouquets()}
    extra = {"title": "Packages", "packages": packages, "bouquet_names": bouquets}
    return await _page(request, "packages.html", values=DEFAULTS, outputs=OUTPUT_FORMATS, bouquets=(), extra=extra)


async def package_create(request: Request) -> Response:
    svc = services(request)
    form = await read_form(request)
    try:
        record = await svc.subscribers.create_package(
            PackageInput(**_fields(form), bouquet_ids=form.ids("bouquet_ids"))
        )
    except (ValidationError, Conflict) as exc:
        packages = await svc.subscribers.list_packages()
        extra = {"title": "Packages", "packages": packages, "bouquet_names": {}}
        errors = {"name": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        return await _page(
            request, "packages.html", values=form.values, outputs=form.choices("allowed_outputs"),
            bouquets=_ids_or_empty(form), errors=errors, extra=extra,
        )  # fmt: skip
    await audit(request, "package.create", "package", record.id, after=record)
    return see_other(f"/admin/packages/{record.id}")


def _ids_or_empty(form: Form) -> tuple[int, ...]:
    try:
        return form.ids("bouquet_ids")
    except ValidationError:
        return ()


async def package_view(request: Request) -> Response:
    record = await services(request).subscribers.get_package(path_id(request, "package_id"))
    return await _page(
        request, "package.html", values=package_values(record), outputs=record.allowed_outputs,
        bouquets=record.bouquet_ids, extra={"title": record.name, "package": record},
    )  # fmt: skip


async def package_update(request: Request) -> Response:
    svc = services(request)
    package_id = path_id(request, "package_id")
    before = await svc.subscribers.get_package(package_id)
    form = await read_form(request)
    try:
        await svc.subscribers.update_package(package_id, PackagePatch(**_fields(form)))
        record = await svc.subscribers.set_package_bouquets(package_id, form.ids("bouquet_ids"))
    except (ValidationError, Conflict) as exc:
        errors = {"name": exc.message} if isinstance(exc, Conflict) else field_errors(exc)
        return await _page(
            request, "package.html", values=form.values, outputs=form.choices("allowed_outputs"),
            bouquets=_ids_or_empty(form), errors=errors, extra={"title": before.name, "package": before},
        )  # fmt: skip
    await audit(request, "package.update", "package", package_id, before=before, after=record)
    return see_other(f"/admin/packages/{package_id}")


async def package_delete(request: Request) -> Response:
    svc = services(request)
    package_id = path_id(request, "package_id")
    before = await svc.subscribers.get_package(package_id)
    try:
        await svc.subscribers.delete_package(package_id)
    except Conflict as exc:
        return await _page(
            request, "package.html", values=package_values(before), outputs=before.allowed_outputs,
            bouquets=before.bouquet_ids, errors={"_": exc.message}, extra={"title": before.name, "package": before},
        )  # fmt: skip
    await audit(request, "package.delete", "package", package_id, before=before)
    return see_other("/admin/packages")


def package_routes() -> list[PolicyRoute]:
    s, o = Policy.SUPPORT, Policy.OPERATOR
    return [
        PanelRoute("/admin/packages", package_list, policy=s),
        PanelRoute("/admin/packages/new", package_create, policy=o, methods=["POST"]),
        PanelRoute("/admin/packages/{package_id}", package_view, policy=s),
        PanelRoute("/admin/packages/{package_id}/edit", package_update, policy=o, methods=["POST"]),
        PanelRoute("/admin/packages/{package_id}/delete", package_delete, policy=o, methods=["POST"]),
    ]


__all__ = ["package_routes"]
