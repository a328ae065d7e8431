"""``headend line|package|bouquet``: subscriber administration from the command line.

Lines are named by username, packages and bouquets by name, channels by id. Output is a table, or JSON
with ``--json``. A password is printed once, by ``line add`` and ``line reset-password``, and never again.
Errors are Headend errors, which ``headend.cli.main`` turns into one line on stderr. A running server
sees these changes within ``subscribers.auth_cache_s``; streams already playing are not cut.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeAlias

from headend.auth.passwords import PasswordHasher
from headend.auth.secret import load_secret
from headend.catalog.db import Database
from headend.catalog.subscriber_records import (
    OUTPUT_FORMATS,
    BouquetRecord,
    LineInput,
    LineRecord,
    PackageInput,
    PackageRecord,
)
from headend.catalog.subscribers import SubscriberStore
from headend.cli import _emit, _print
from headend.settings import Settings

Action = Callable[[argparse.Namespace, SubscriberStore], Awaitable[None]]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

LINE_COLUMNS = ["id", "username", "status", "expires", "max_connections", "packages", "outputs", "last_seen"]
PACKAGE_COLUMNS = ["id", "name", "duration_days", "max_connections", "outputs", "trial", "enabled", "bouquets"]
BOUQUET_COLUMNS = ["id", "name", "position", "channels"]


class _LazyHasher:
    """Loads (or creates) the secret key only when a password is actually hashed."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._hasher: PasswordHasher | None = None

    def hash(self, password: str) -> str:
        if self._hasher is None:
            self._hasher = PasswordHasher(load_secret(self._settings))
        return self._hasher.hash(password)


def _run(settings: Settings, args: argparse.Namespace, actions: dict[str, Action]) -> int:
    async def work() -> int:
        db = Database(settings.database_url, echo=settings.db.echo)
        await db.start()
        try:
            await (db.migrate() if settings.db.auto_migrate else db.check_schema())
            await actions[args.action](args, SubscriberStore(db, _LazyHasher(settings)))
            return 0
        finally:
            await db.aclose()

    return asyncio.run(work())


def _when(value: datetime | None, never: str = "never") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else never


# -- lines ------------------------------------------------------------------------------------------------


async def _line_row(store: SubscriberStore, line: LineRecord, names: dict[int, str] | None = None) -> dict[str, Any]:
    names = names if names is not None else {p.id: p.name for p in await store.list_packages()}
    return asdict(line) | {
        "status": line.status(datetime.now(UTC)).value,
        "expires": _when(line.exp_at),
        "last_seen": _when(line.last_seen_at, "-"),
        "packages": ",".join(names.get(i, str(i)) for i in line.package_ids) or "-",
        "outputs": ",".join(line.allowed_outputs),
    }


async def _line_add(args: argparse.Namespace, store: SubscriberStore) -> None:
    package_ids = tuple([(await store.get_package_by_name(name)).id for name in args.package or []])
    data = LineInput(
        username=args.username, password=args.password, package_ids=package_ids, days=args.days,
        max_connections=args.max_connections, allowed_outputs=tuple(args.output) if args.output else None,
        is_trial=True if args.trial else None, allowed_ips=tuple(args.allow_ip or ()),
        allowed_user_agents=tuple(args.allow_user_agent or ()), notes=args.notes or "",
    )  # fmt: skip
    line, password = await store.create_line(data)
    row = await _line_row(store, line) | {"password": password}
    _emit(args, [row], ["id", "username", "password", "expires", "max_connections", "packages"])


async def _line_list(args: argparse.Namespace, store: SubscriberStore) -> None:
    names = {p.id: p.name for p in await store.list_packages()}
    lines = await store.list_lines(search=args.search, limit=args.limit, offset=args.offset)
    _emit(args, [await _line_row(store, line, names) for line in lines], LINE_COLUMNS)


async def _line_show(args: argparse.Namespace, store: SubscriberStore) -> None:
    line = await store.get_line_by_username(args.username)
    entitlement = await store.entitlement(line.id)
    row = await _line_row(store, line) | {
        "channel_ids": entitlement.channel_ids,
        "channels": len(entitlement.channel_ids),
        "allowed_ips": ",".join(line.allowed_ips) or "any",
        "allowed_user_agents": ",".join(line.allowed_user_agents) or "any",
    }
    columns = [*LINE_COLUMNS, "channels", "allowed_ips", "allowed_user_agents", "ban_reason", "notes"]
    if args.json:
        _emit(args, [row], columns)
        return
    width = max(len(c) for c in columns)
    for column in columns:
        _print(f"{column.upper():<{width}}  {row[column]}")


async def _line_change(args: argparse.Namespace, store: SubscriberStore) -> None:
    line = await store.get_line_by_username(args.username)
    if args.action == "disable":
        line = await store.set_enabled(line.id, False)
    elif args.action == "enable":
        line = await store.set_enabled(line.id, True)
    elif args.action == "ban":
        line = await store.ban(line.id, args.reason or "")
    elif args.action == "unban":
        line = await store.unban(line.id)
    else:  # renew
        package_id = (await store.get_package_by_name(args.package)).id if args.package else None
        line = await store.renew(line.id, days=args.days, package_id=package_id)
    _emit(args, [await _line_row(store, line)], LINE_COLUMNS)


async def _line_reset_password(args: argparse.Namespace, store: SubscriberStore) -> None:
    line = await store.get_line_by_username(args.username)
    password = await store.reset_password(line.id, args.password)
    _emit(args, [{"id": line.id, "username": line.username, "password": password}], ["id", "username", "password"])


async def _line_delete(args: argparse.Namespace, store: SubscriberStore) -> None:
    line = await store.get_line_by_username(args.username)
    await store.delete_line(line.id)
    _print(f"line {line.username} deleted")


LINE_ACTIONS: dict[str, Action] = {
    "add": _line_add, "list": _line_list, "show": _line_show, "disable": _line_change, "enable": _line_change,
    "renew": _line_change, "ban": _line_change, "unban": _line_change, "reset-password": _line_reset_password,
    "delete": _line_delete,
}  # fmt: skip


# -- packages and bouquets ------------------------------------------------------------------------------


async def _package_row(store: SubscriberStore, package: PackageRecord) -> dict[str, Any]:
    names = {b.id: b.name for b in await store.list_bouquets()}
    return asdict(package) | {
        "outputs": ",".join(package.allowed_outputs),
        "trial": package.is_trial,
        "bouquets": ",".join(names.get(i, str(i)) for i in package.bouquet_ids) or "-",
    }


async def _bouquet_ids(store: SubscriberStore, names: list[str] | None) -> tuple[int, ...]:
    return tuple([(await store.get_bouquet_by_name(name)).id for name in names or []])


async def _package_action(args: argparse.Namespace, store: SubscriberStore) -> None:
    if args.action == "list":
        _emit(args, [await _package_row(store, p) for p in await store.list_packages()], PACKAGE_COLUMNS)
        return
    if args.action == "add":
        package = await store.create_package(
            PackageInput(name=args.name, duration_days=args.days, max_connections=args.max_connections,
                         allowed_outputs=tuple(args.output or OUTPUT_FORMATS), is_trial=args.trial,
                         enabled=not args.disabled, bouquet_ids=await _bouquet_ids(store, args.bouquet))
        )  # fmt: skip
    else:
        package = await store.get_package_by_name(args.name)
    if args.action == "delete":
        await store.delete_package(package.id)
        _print(f"package {package.name} deleted")
        return
    if args.action == "set-bouquets":
        package = await store.set_package_bouquets(package.id, await _bouquet_ids(store, args.bouquets))
    _emit(args, [await _package_row(store, package)], PACKAGE_COLUMNS)


def _bouquet_row(bouquet: BouquetRecord) -> dict[str, Any]:
    return asdict(bouquet) | {"channels": ",".join(str(i) for i in bouquet.channel_ids) or "-"}


async def _bouquet_action(args: argparse.Namespace, store: SubscriberStore) -> None:
    if args.action == "list":
        _emit(args, [_bouquet_row(b) for b in await store.list_bouquets()], BOUQUET_COLUMNS)
        return
    if args.action == "add":
        bouquet = await store.create_bouquet(args.name, args.channel or [])
    else:
        bouquet = await store.get_bouquet_by_name(args.name)
    if args.action == "delete":
        await store.delete_bouquet(bouquet.id)
        _print(f"bouquet {bouquet.name} deleted")
        return
    if args.action == "set-channels":
        bouquet = await store.set_bouquet_channels(bouquet.id, args.channels)
    _emit(args, [_bouquet_row(bouquet)], BOUQUET_COLUMNS)


def cmd_line(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args, LINE_ACTIONS)


def cmd_package(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args, dict.fromkeys(["add", "list", "show", "delete", "set-bouquets"], _package_action))


def cmd_bouquet(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args, dict.fromkeys(["add", "list", "show", "delete", "set-channels"], _bouquet_action))


# -- parsers --------------------------------------------------------------------------------------------


def _action(actions: Subparsers, name: str, help: str, *, key: str | None = None) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help)
    if key is not None:
        parser.add_argument(key)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _line_parser(sub: Subparsers) -> None:
    line = sub.add_parser("line", help="manage subscriber lines (accounts)")
    line.set_defaults(func=cmd_line)
    actions = line.add_subparsers(dest="action", required=True)
    add = _action(actions, "add", "create a line and print its password (once)", key="username")
    add.add_argument("--package", action="append", help="package name (repeatable, in order)")
    add.add_argument("--days", type=int, help="days until it expires (default: the longest package duration)")
    add.add_argument("--max-connections", type=int, help="concurrent streams (default: from the packages)")
    add.add_argument("--password", help="use this password instead of generating one")
    add.add_argument("--output", action="append", choices=OUTPUT_FORMATS, help="allowed output (repeatable)")
    add.add_argument("--trial", action="store_true", help="mark the line as a trial")
    add.add_argument("--allow-ip", action="append", help="allowed IP or CIDR (repeatable; default: any)")
    add.add_argument("--allow-user-agent", action="append", help="allowed user-agent substring (repeatable)")
    add.add_argument("--notes")
    lst = _action(actions, "list", "list lines")
    lst.add_argument("--search", help="substring of the username or notes")
    lst.add_argument("--limit", type=int)
    lst.add_argument("--offset", type=int, default=0)
    _action(actions, "show", "show one line", key="username")
    for name, help in [("disable", "disable a line"), ("enable", "enable a line"), ("unban", "lift a ban")]:
        _action(actions, name, help, key="username")
    _action(actions, "ban", "ban a line", key="username").add_argument("--reason")
    renew = _action(actions, "renew", "extend a line from max(now, expiry)", key="username")
    how = renew.add_mutually_exclusive_group()
    how.add_argument("--days", type=int, help="by this many days (default: its longest package duration)")
    how.add_argument("--package", help="by this package's duration (and assign it)")
    _action(actions, "reset-password", "give a line a new password and print it", key="username").add_argument(
        "--password", help="use this password instead of generating one"
    )
    _action(actions, "delete", "delete a line", key="username")


def _package_parser(sub: Subparsers) -> None:
    package = sub.add_parser("package", help="manage packages (bouquets + limits + duration)")
    package.set_defaults(func=cmd_package)
    actions = package.add_subparsers(dest="action", required=True)
    add = _action(actions, "add", "create a package", key="name")
    add.add_argument("--days", type=int, default=30, help="duration in days (default 30)")
    add.add_argument("--max-connections", type=int, default=1, help="concurrent streams (default 1)")
    add.add_argument("--output", action="append", choices=OUTPUT_FORMATS, help="allowed output (repeatable)")
    add.add_argument("--trial", action="store_true")
    add.add_argument("--disabled", action="store_true")
    add.add_argument("--bouquet", action="append", help="bouquet name (repeatable, in order)")
    _action(actions, "list", "list packages")
    _action(actions, "show", "show one package", key="name")
    _action(actions, "delete", "delete a package no line holds", key="name")
    sets = _action(actions, "set-bouquets", "set a package's bouquets, in order", key="name")
    sets.add_argument("bouquets", nargs="*", help="bouquet names")


def _bouquet_parser(sub: Subparsers) -> None:
    bouquet = sub.add_parser("bouquet", help="manage bouquets (ordered groups of channels)")
    bouquet.set_defaults(func=cmd_bouquet)
    actions = bouquet.add_subparsers(dest="action", required=True)
    add = _action(actions, "add", "create a bouquet", key="name")
    add.add_argument("--channel", type=int, action="append", help="channel id (repeatable, in order)")
    _action(actions, "list", "list bouquets")
    _action(actions, "show", "show one bouquet", key="name")
    _action(actions, "delete", "delete a bouquet", key="name")
    sets = _action(actions, "set-channels", "set a bouquet's channels, in order", key="name")
    sets.add_argument("channels", nargs="*", type=int, help="channel ids")


def add_parsers(sub: Subparsers) -> None:
    """Register ``line``, ``package`` and ``bouquet`` on the ``headend`` parser."""
    _line_parser(sub)
    _package_parser(sub)
    _bouquet_parser(sub)


__all__ = ["add_parsers", "cmd_bouquet", "cmd_line", "cmd_package"]
