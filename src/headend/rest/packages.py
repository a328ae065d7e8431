"""REST: bouquets (ordered groups of channels) and packages (ordered groups of bouquets, with limits and what a
reseller pays for them in credits). Reads are for support and up, changes for operators."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from headend.catalog.records import UNSET
from headend.catalog.subscriber_records import (
    BOUQUET_NAME_MAX,
    CREDIT_COST_MAX,
    DURATION_DAYS_MAX,
    MAX_CONNECTIONS_MAX,
    PACKAGE_NAME_MAX,
    BouquetRecord,
    PackageInput,
    PackagePatch,
    PackageRecord,
)
from headend.http.policy import Policy
from headend.rest.framework import ID_MAX, ApiRoute, Call, Id, In, Out, Page, SearchQuery, changes, keep, route

Output = Literal["ts", "m3u8"]


def _every_output() -> list[Output]:
    return ["ts", "m3u8"]


# -- models ------------------------------------------------------------------------------------------------------


class BouquetOut(Out):
    id: int
    name: str
    position: int
    channel_ids: list[int] = Field(description="In bouquet order.")


class BouquetPage(Page[BouquetOut]):
    pass


class BouquetCreate(In):
    name: str = Field(min_length=1, max_length=BOUQUET_NAME_MAX)
    channel_ids: list[Id] = Field(default_factory=list, max_length=10_000)


class BouquetUpdate(In):
    name: str = keep(min_length=1, max_length=BOUQUET_NAME_MAX)
    position: int = keep(ge=0, le=ID_MAX)


class BouquetChannels(In):
    channel_ids: list[Id] = Field(max_length=10_000, description="The bouquet's channels, in order.")


class PackageOut(Out):
    id: int
    name: str
    duration_days: int
    max_connections: int
    allowed_outputs: list[str]
    is_trial: bool
    enabled: bool
    bouquet_ids: list[int] = Field(description="In package order.")
    credit_cost: int = Field(description="Credits a reseller pays per line created or renewed with it.")


class PackagePage(Page[PackageOut]):
    pass


class PackageCreate(In):
    name: str = Field(min_length=1, max_length=PACKAGE_NAME_MAX)
    duration_days: int = Field(30, ge=1, le=DURATION_DAYS_MAX)
    max_connections: int = Field(1, ge=1, le=MAX_CONNECTIONS_MAX)
    allowed_outputs: list[Output] = Field(default_factory=_every_output, min_length=1, max_length=4)
    is_trial: bool = False
    enabled: bool = True
    bouquet_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    credit_cost: int = Field(1, ge=0, le=CREDIT_COST_MAX)


class PackageUpdate(In):
    name: str = keep(min_length=1, max_length=PACKAGE_NAME_MAX)
    duration_days: int = keep(ge=1, le=DURATION_DAYS_MAX)
    max_connections: int = keep(ge=1, le=MAX_CONNECTIONS_MAX)
    allowed_outputs: list[Output] = keep(min_length=1, max_length=4)
    is_trial: bool = keep()
    enabled: bool = keep()
    bouquet_ids: list[Id] = keep(max_length=10_000)
    credit_cost: int = keep(ge=0, le=CREDIT_COST_MAX)


def bouquet_out(record: BouquetRecord) -> BouquetOut:
    return BouquetOut(id=record.id, name=record.name, position=record.position, channel_ids=list(record.channel_ids))


def package_out(record: PackageRecord) -> PackageOut:
    return PackageOut(
        id=record.id, name=record.name, duration_days=record.duration_days, max_connections=record.max_connections,
        allowed_outputs=list(record.allowed_outputs), is_trial=record.is_trial,
        enabled=record.enabled, bouquet_ids=list(record.bouquet_ids), credit_cost=record.credit_cost,
    )  # fmt: skip


def _dump(model: Out) -> dict[str, object]:
    return model.model_dump(mode="json")


def _matches(name: str, q: str | None) -> bool:
    return not q or q.casefold() in name.casefold()


# -- bouquets ----------------------------------------------------------------------------------------------------


async def list_bouquets(call: Call) -> BouquetPage:
    query = call.query(SearchQuery)
    rows = [row for row in await call.svc.subscribers.list_bouquets() if _matches(row.name, query.q)]
    return BouquetPage.of([bouquet_out(row) for row in rows], query)


async def get_bouquet(call: Call) -> BouquetOut:
    return bouquet_out(await call.svc.subscribers.get_bouquet(call.id("bouquet_id")))


async def create_bouquet(call: Call) -> BouquetOut:
    data = call.body(BouquetCreate)
    out = bouquet_out(await call.svc.subscribers.create_bouquet(data.name, data.channel_ids))
    await call.audit("bouquet.create", "bouquet", out.id, after=_dump(out))
    return out


async def update_bouquet(call: Call) -> BouquetOut:
    bouquet_id = call.id("bouquet_id")
    given = changes(call.body(BouquetUpdate))
    before = await get_bouquet(call)
    record = await call.svc.subscribers.update_bouquet(
        bouquet_id, name=given.get("name", UNSET), position=given.get("position", UNSET)
    )
    out = bouquet_out(record)
    await call.audit("bouquet.update", "bouquet", bouquet_id, before=_dump(before), after=_dump(out))
    return out


async def set_bouquet_channels(call: Call) -> BouquetOut:
    bouquet_id = call.id("bouquet_id")
    before = await get_bouquet(call)
    record = await call.svc.subscribers.set_bouquet_channels(bouquet_id, call.body(BouquetChannels).channel_ids)
    out = bouquet_out(record)
    await call.audit("bouquet.channels", "bouquet", bouquet_id, before=_dump(before), after=_dump(out))
    return out


async def delete_bouquet(call: Call) -> None:
    bouquet_id = call.id("bouquet_id")
    before = await get_bouquet(call)
    await call.svc.subscribers.delete_bouquet(bouquet_id)
    await call.audit("bouquet.delete", "bouquet", bouquet_id, before=_dump(before))


# -- packages ----------------------------------------------------------------------------------------------------


async def list_packages(call: Call) -> PackagePage:
    query = call.query(SearchQuery)
    rows = [row for row in await call.svc.subscribers.list_packages() if _matches(row.name, query.q)]
    return PackagePage.of([package_out(row) for row in rows], query)


async def get_package(call: Call) -> PackageOut:
    return package_out(await call.svc.subscribers.get_package(call.id("package_id")))


async def create_package(call: Call) -> PackageOut:
    data = call.body(PackageCreate).model_dump()
    data["allowed_outputs"] = tuple(data["allowed_outputs"])
    data["bouquet_ids"] = tuple(data["bouquet_ids"])
    out = package_out(await call.svc.subscribers.create_package(PackageInput(**data)))
    await call.audit("package.create", "package", out.id, after=_dump(out))
    return out


async def update_package(call: Call) -> PackageOut:
    package_id = call.id("package_id")
    given = changes(call.body(PackageUpdate))
    before = await get_package(call)
    bouquets = given.pop("bouquet_ids", None)
    if "allowed_outputs" in given:
        given["allowed_outputs"] = tuple(given["allowed_outputs"])
    store = call.svc.subscribers
    record = await store.update_package(package_id, PackagePatch(**given))
    if bouquets is not None:
        record = await store.set_package_bouquets(package_id, bouquets)
    out = package_out(record)
    await call.audit("package.update", "package", package_id, before=_dump(before), after=_dump(out))
    return out


async def delete_package(call: Call) -> None:
    package_id = call.id("package_id")
    before = await get_package(call)
    await call.svc.subscribers.delete_package(package_id)
    await call.audit("package.delete", "package", package_id, before=_dump(before))


def routes() -> list[ApiRoute]:
    s, o = Policy.SUPPORT, Policy.OPERATOR
    bq, b1 = "/api/v1/bouquets", "/api/v1/bouquets/{bouquet_id}"
    pk, p1 = "/api/v1/packages", "/api/v1/packages/{package_id}"
    return [
        route("GET", bq, list_bouquets, policy=s, tag="bouquets", summary="List bouquets", query=SearchQuery,
              response=BouquetPage),
        route("POST", bq, create_bouquet, policy=o, tag="bouquets", summary="Create a bouquet", body=BouquetCreate,
              response=BouquetOut),
        route("GET", b1, get_bouquet, policy=s, tag="bouquets", summary="Get a bouquet", response=BouquetOut),
        route("PATCH", b1, update_bouquet, policy=o, tag="bouquets", summary="Rename or reorder a bouquet",
              body=BouquetUpdate, response=BouquetOut),
        route("DELETE", b1, delete_bouquet, policy=o, tag="bouquets", summary="Delete a bouquet"),
        route("PUT", b1 + "/channels", set_bouquet_channels, policy=o, tag="bouquets",
              summary="Set a bouquet's channels, in order", body=BouquetChannels, response=BouquetOut),
        route("GET", pk, list_packages, policy=s, tag="packages", summary="List packages", query=SearchQuery,
              response=PackagePage),
        route("POST", pk, create_package, policy=o, tag="packages", summary="Create a package", body=PackageCreate,
              response=PackageOut),
        route("GET", p1, get_package, policy=s, tag="packages", summary="Get a package", response=PackageOut),
        route("PATCH", p1, update_package, policy=o, tag="packages", summary="Change a package",
              body=PackageUpdate, response=PackageOut),
        route("DELETE", p1, delete_package, policy=o, tag="packages", summary="Delete a package no line holds"),
    ]  # fmt: skip


__all__ = ["bouquet_out", "package_out", "routes"]
