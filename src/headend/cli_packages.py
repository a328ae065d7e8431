"""``headend package …`` and ``headend bouquet …``: what lines are sold (packages: bouquets, limits, duration,
credit cost) and the ordered channel groups they are made of (bouquets).

Packages and bouquets are named; channels go by id. Every change is audited with actor ``cli`` under the REST
API's action names (``package.create``, ``package.update`` — setting a package's bouquets too —,
``bouquet.channels``, …). Errors are Headend errors, which ``headend.cli.main`` turns into one line.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from headend.admin.audit import AuditLog
from headend.catalog.db import Database
from headend.catalog.records import UNSET
from headend.catalog.subscriber_records import OUTPUT_FORMATS, BouquetRecord, PackageInput, PackagePatch, PackageRecord
from headend.catalog.subscribers import SubscriberStore
from headend.cli import Subparsers, _emit, _print, add_action, nothing_to_change, run_db, snapshot
from headend.cli_subscribers import subscriber_store
from headend.settings import Settings

PACKAGE_COLUMNS = ["id", "name", "duration_days", "max_connections", "outputs", "trial", "enabled", "credit_cost",
                   "bouquets"]  # fmt: skip
BOUQUET_COLUMNS = ["id", "name", "position", "channels"]
PACKAGE_OPTIONS = ("new_name", "days", "max_connections", "output", "trial", "enabled", "credit_cost", "bouquet")


@dataclass(frozen=True, slots=True)
class _Context:
    store: SubscriberStore
    audit: AuditLog


Action = Callable[[argparse.Namespace, _Context], Awaitable[None]]


def _run(settings: Settings, action: Action, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        await action(args, _Context(subscriber_store(db, settings), AuditLog(db)))
        return 0

    return run_db(settings, work)


def cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, PACKAGE_ACTIONS[args.action], args)


def cmd_bouquet(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, BOUQUET_ACTIONS[args.action], args)


# -- packages ----------------------------------------------------------------------------------------------------


async def _package_row(store: SubscriberStore, package: PackageRecord) -> dict[str, Any]:
    names = {b.id: b.name for b in await store.list_bouquets()}
    return asdict(package) | {
        "outputs": ",".join(package.allowed_outputs),
        "trial": package.is_trial,
        "bouquets": ",".join(names.get(i, str(i)) for i in package.bouquet_ids) or "-",
    }


async def _bouquet_ids(store: SubscriberStore, names: list[str] | None) -> tuple[int, ...]:
    return tuple([(await store.get_bouquet_by_name(name)).id for name in names or []])


async def _package_list(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [await _package_row(ctx.store, p) for p in await ctx.store.list_packages()], PACKAGE_COLUMNS)


async def _package_show(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [await _package_row(ctx.store, await ctx.store.get_package_by_name(args.name))], PACKAGE_COLUMNS)


async def _package_add(args: argparse.Namespace, ctx: _Context) -> None:
    package = await ctx.store.create_package(
        PackageInput(name=args.name, duration_days=args.days, max_connections=args.max_connections,
                     allowed_outputs=tuple(args.output or OUTPUT_FORMATS), is_trial=args.trial,
                     enabled=not args.disabled, bouquet_ids=await _bouquet_ids(ctx.store, args.bouquet),
                     credit_cost=args.credit_cost)
    )  # fmt: skip
    await ctx.audit.record(None, "package.create", "package", package.id, after=snapshot(package))
    _emit(args, [await _package_row(ctx.store, package)], PACKAGE_COLUMNS)


async def _package_update(args: argparse.Namespace, ctx: _Context) -> None:
    if args.action == "update":
        nothing_to_change(args, PACKAGE_OPTIONS)
    store = ctx.store
    before = await store.get_package_by_name(args.name)
    bouquets = args.bouquets if args.action == "set-bouquets" else args.bouquet
    bouquet_ids = None if bouquets is None else await _bouquet_ids(store, bouquets)
    package = before
    if args.action == "update":
        given = {"name": args.new_name, "duration_days": args.days, "max_connections": args.max_connections,
                 "allowed_outputs": tuple(args.output) if args.output else None, "is_trial": args.trial,
                 "enabled": args.enabled, "credit_cost": args.credit_cost}  # fmt: skip
        patch = PackagePatch(**{name: UNSET if value is None else value for name, value in given.items()})
        package = await store.update_package(before.id, patch)
    if bouquet_ids is not None:
        package = await store.set_package_bouquets(before.id, bouquet_ids)
    await ctx.audit.record(
        None, "package.update", "package", before.id, before=snapshot(before), after=snapshot(package)
    )
    _emit(args, [await _package_row(store, package)], PACKAGE_COLUMNS)


async def _package_delete(args: argparse.Namespace, ctx: _Context) -> None:
    package = await ctx.store.get_package_by_name(args.name)
    await ctx.store.delete_package(package.id)
    await ctx.audit.record(None, "package.delete", "package", package.id, before=snapshot(package))
    _print(f"package {package.name} deleted")


PACKAGE_ACTIONS: dict[str, Action] = {
    "add": _package_add, "list": _package_list, "show": _package_show, "update": _package_update,
    "set-bouquets": _package_update, "delete": _package_delete,
}  # fmt: skip


# -- bouquets ----------------------------------------------------------------------------------------------------


def _bouquet_row(bouquet: BouquetRecord) -> dict[str, Any]:
    return asdict(bouquet) | {"channels": ",".join(str(i) for i in bouquet.channel_ids) or "-"}


async def _bouquet_list(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [_bouquet_row(b) for b in await ctx.store.list_bouquets()], BOUQUET_COLUMNS)


async def _bouquet_show(args: argparse.Namespace, ctx: _Context) -> None:
    _emit(args, [_bouquet_row(await ctx.store.get_bouquet_by_name(args.name))], BOUQUET_COLUMNS)


async def _bouquet_add(args: argparse.Namespace, ctx: _Context) -> None:
    bouquet = await ctx.store.create_bouquet(args.name, args.channel or [])
    await ctx.audit.record(None, "bouquet.create", "bouquet", bouquet.id, after=snapshot(bouquet))
    _emit(args, [_bouquet_row(bouquet)], BOUQUET_COLUMNS)


async def _bouquet_change(args: argparse.Namespace, ctx: _Context) -> None:
    before = await ctx.store.get_bouquet_by_name(args.name)
    if args.action == "set-channels":
        action, bouquet = "bouquet.channels", await ctx.store.set_bouquet_channels(before.id, args.channels)
    else:
        nothing_to_change(args, ("new_name", "position"))
        name = UNSET if args.new_name is None else args.new_name
        position = UNSET if args.position is None else args.position
        action, bouquet = "bouquet.update", await ctx.store.update_bouquet(before.id, name=name, position=position)
    await ctx.audit.record(None, action, "bouquet", before.id, before=snapshot(before), after=snapshot(bouquet))
    _emit(args, [_bouquet_row(bouquet)], BOUQUET_COLUMNS)


async def _bouquet_delete(args: argparse.Namespace, ctx: _Context) -> None:
    bouquet = await ctx.store.get_bouquet_by_name(args.name)
    await ctx.store.delete_bouquet(bouquet.id)
    await ctx.audit.record(None, "bouquet.delete", "bouquet", bouquet.id, before=snapshot(bouquet))
    _print(f"bouquet {bouquet.name} deleted")


BOUQUET_ACTIONS: dict[str, Action] = {
    "add": _bouquet_add, "list": _bouquet_list, "show": _bouquet_show, "update": _bouquet_change,
    "set-channels": _bouquet_change, "delete": _bouquet_delete,
}  # fmt: skip


# -- parsers -----------------------------------------------------------------------------------------------------


def _package_update_parser(actions: Subparsers) -> None:
    update = add_action(actions, "update", "change a package (only the options given)", key="name")
    update.add_argument("--name", dest="new_name", metavar="NEW", help="rename the package")
    update.add_argument("--days", type=int, help="duration in days")
    update.add_argument("--max-connections", type=int)
    update.add_argument("--output", action="append", choices=OUTPUT_FORMATS, help="allowed outputs (all of them)")
    update.add_argument("--credit-cost", type=int, help="credits a reseller pays per line created or renewed")
    trial = update.add_mutually_exclusive_group()
    trial.add_argument("--trial", action="store_const", const=True)
    trial.add_argument("--no-trial", dest="trial", action="store_const", const=False)
    state = update.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    bouquets = update.add_mutually_exclusive_group()
    bouquets.add_argument("--bouquet", action="append", help="the package's bouquets (all of them, in order)")
    bouquets.add_argument("--no-bouquets", dest="bouquet", action="store_const", const=[])


def _package_parser(sub: Subparsers) -> None:
    package = sub.add_parser("package", help="manage packages (bouquets + limits + duration + credit cost)")
    package.set_defaults(func=cmd_package)
    actions = package.add_subparsers(dest="action", required=True)
    add = add_action(actions, "add", "create a package", key="name")
    add.add_argument("--days", type=int, default=30, help="duration in days (default 30)")
    add.add_argument("--max-connections", type=int, default=1, help="concurrent streams (default 1)")
    add.add_argument("--output", action="append", choices=OUTPUT_FORMATS, help="allowed output (repeatable)")
    add.add_argument("--trial", action="store_true")
    add.add_argument("--disabled", action="store_true")
    add.add_argument("--bouquet", action="append", help="bouquet name (repeatable, in order)")
    add.add_argument("--credit-cost", type=int, default=1, help="credits a reseller pays per sale (default 1)")
    add_action(actions, "list", "list packages")
    add_action(actions, "show", "show one package", key="name")
    _package_update_parser(actions)
    add_action(actions, "delete", "delete a package no line holds", key="name")
    sets = add_action(actions, "set-bouquets", "set a package's bouquets, in order", key="name")
    sets.add_argument("bouquets", nargs="*", help="bouquet names")


def _bouquet_parser(sub: Subparsers) -> None:
    bouquet = sub.add_parser("bouquet", help="manage bouquets (ordered groups of channels)")
    bouquet.set_defaults(func=cmd_bouquet)
    actions = bouquet.add_subparsers(dest="action", required=True)
    add = add_action(actions, "add", "create a bouquet", key="name")
    add.add_argument("--channel", type=int, action="append", help="channel id (repeatable, in order)")
    add_action(actions, "list", "list bouquets")
    add_action(actions, "show", "show one bouquet", key="name")
    update = add_action(actions, "update", "rename a bouquet or move it in the bouquet order", key="name")
    update.add_argument("--name", dest="new_name", metavar="NEW")
    update.add_argument("--position", type=int, help="0 = first")
    add_action(actions, "delete", "delete a bouquet", key="name")
    sets = add_action(actions, "set-channels", "set a bouquet's channels, in order", key="name")
    sets.add_argument("channels", nargs="*", type=int, help="channel ids")


def add_parsers(sub: Subparsers) -> None:
    """Register ``package`` and ``bouquet`` on the ``headend`` parser."""
    _package_parser(sub)
    _bouquet_parser(sub)


__all__ = ["add_parsers", "cmd_bouquet", "cmd_package"]
