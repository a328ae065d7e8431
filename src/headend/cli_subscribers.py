"""``headend line …``: subscriber lines from the command line (packages and bouquets: ``headend.cli_packages``).

Lines are named by username, packages by name, reseller accounts by username. Output is a table, or JSON
with ``--json``. A password is printed once, by ``line add`` and ``line reset-password``, and never again.
``line add --reseller NAME`` and ``line renew --reseller NAME`` sell on a reseller's behalf exactly as the
reseller would through the panel (``Resellers``): only packages it may sell, paid from its credits.
Every change is audited with actor ``cli`` under the REST API's action names (``line.create``, …; never a
password). Errors are Headend errors, which ``headend.cli.main`` turns into one line on stderr. A running
server sees these changes within ``subscribers.auth_cache_s``; streams already playing are not cut (end
them with ``headend session end --line USERNAME``).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from headend.admin.accounts import AdminAccounts
from headend.admin.audit import AuditLog
from headend.admin.passwords import AdminPasswordHasher
from headend.admin.principal import Principal, Role
from headend.admin.resellers import Resellers
from headend.auth.passwords import PasswordHasher
from headend.auth.secret import load_secret
from headend.catalog.db import Database
from headend.catalog.subscriber_records import OUTPUT_FORMATS, LineInput, LinePatch, LineRecord
from headend.catalog.subscribers import SubscriberStore
from headend.cli import Subparsers, _emit, _print, add_action, nothing_to_change, run_db, snapshot
from headend.errors import ConfigError, Forbidden, ValidationError
from headend.settings import Settings

LINE_COLUMNS = ["id", "username", "status", "expires", "max_connections", "packages", "outputs", "last_seen"]
UPDATE_OPTIONS = ("new_username", "max_connections", "notes", "allow_ip", "allow_user_agent", "expires", "output",
                  "trial", "package", "owner")  # fmt: skip
NOT_WITH_RESELLER = ("days", "output", "trial", "allow_ip", "allow_user_agent")


class _LazyHasher:
    """Loads (or creates) the secret key only when a password is actually hashed."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._hasher: PasswordHasher | None = None

    def hash(self, password: str) -> str:
        if self._hasher is None:
            self._hasher = PasswordHasher(load_secret(self._settings))
        return self._hasher.hash(password)


@dataclass(frozen=True, slots=True)
class _Context:
    store: SubscriberStore
    accounts: AdminAccounts
    resellers: Resellers
    audit: AuditLog


Action = Callable[[argparse.Namespace, _Context], Awaitable[None]]


def subscriber_store(db: Database, settings: Settings) -> SubscriberStore:
    """The subscriber store of the command line (the secret key is loaded when a password is first hashed)."""
    return SubscriberStore(db, _LazyHasher(settings))


def cmd_line(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> int:
        store, accounts = subscriber_store(db, settings), AdminAccounts(db, AdminPasswordHasher())
        await LINE_ACTIONS[args.action](args, _Context(store, accounts, Resellers(accounts, store), AuditLog(db)))
        return 0

    return run_db(settings, work)


def _when(value: datetime | None, never: str = "never") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else never


def line_view(line: LineRecord) -> dict[str, object]:
    """A line for the audit log, as the REST API records it (no password, no last-seen time)."""
    return snapshot(line, drop=("last_seen_at",))


async def _line_row(store: SubscriberStore, line: LineRecord, names: dict[int, str] | None = None) -> dict[str, Any]:
    names = names if names is not None else {p.id: p.name for p in await store.list_packages()}
    return asdict(line) | {
        "status": line.status(datetime.now(UTC)).value,
        "expires": _when(line.exp_at),
        "last_seen": _when(line.last_seen_at, "-"),
        "packages": ",".join(names.get(i, str(i)) for i in line.package_ids) or "-",
        "outputs": ",".join(line.allowed_outputs),
    }


async def _audited(ctx: _Context, action: str, before: LineRecord | None, after: LineRecord | None) -> None:
    line = after if after is not None else before
    assert line is not None
    await ctx.audit.record(
        None, action, "line", line.id, before=None if before is None else line_view(before),
        after=None if after is None else line_view(after),
    )  # fmt: skip


# -- create ------------------------------------------------------------------------------------------------------


async def _line_add(args: argparse.Namespace, ctx: _Context) -> None:
    if args.reseller:
        await _reseller_sale(args, ctx)
        return
    store = ctx.store
    package_ids = tuple([(await store.get_package_by_name(name)).id for name in args.package or []])
    data = LineInput(
        username=args.username, password=args.password, package_ids=package_ids, days=args.days,
        max_connections=args.max_connections, allowed_outputs=tuple(args.output) if args.output else None,
        is_trial=True if args.trial else None, allowed_ips=tuple(args.allow_ip or ()),
        allowed_user_agents=tuple(args.allow_user_agent or ()), notes=args.notes or "",
    )  # fmt: skip
    line, password = await store.create_line(data)
    await _audited(ctx, "line.create", None, line)
    row = await _line_row(store, line) | {"password": password}
    _emit(args, [row], ["id", "username", "password", "expires", "max_connections", "packages"])


async def _acting_reseller(ctx: _Context, username: str) -> Principal:
    """The reseller account ``username`` as the principal a sale runs as."""
    account = await ctx.accounts.get_by_username(username)
    if account.role is not Role.RESELLER:
        raise ValidationError(f"{account.username} is a {account.role.value} account, not a reseller", field="reseller")
    if not account.enabled:
        raise Forbidden(f"reseller {account.username} is disabled")
    # acting with the reseller's own authority, as an API token of its account would ("token": not a session)
    return Principal(account_id=account.id, username=account.username, role=account.role, via="token")


async def _reseller_sale(args: argparse.Namespace, ctx: _Context) -> None:
    given = [f"--{name.replace('_', '-')}" for name in NOT_WITH_RESELLER if getattr(args, name)]
    if given:
        raise ConfigError(f"{', '.join(given)} cannot be used with --reseller: the package sets them")
    if len(args.package or []) != 1:
        raise ConfigError("a sale on a reseller's behalf needs exactly one --package")
    reseller = await _acting_reseller(ctx, args.reseller)
    package = await ctx.store.get_package_by_name(args.package[0])
    line, password = await ctx.resellers.create_line(
        reseller, package_id=package.id, username=args.username, password=args.password,
        max_connections=args.max_connections, notes=args.notes or "",
    )  # fmt: skip
    credits = (await ctx.accounts.get(reseller.account_id)).credits
    await ctx.audit.record(
        None, "line.create", "line", line.id,
        after=line_view(line) | {"reseller": reseller.username, "credit_cost": package.credit_cost},
    )  # fmt: skip
    row = await _line_row(ctx.store, line) | {"password": password, "reseller": reseller.username, "credits": credits}
    _emit(args, [row], ["id", "username", "password", "expires", "packages", "reseller", "credits"])


# -- read --------------------------------------------------------------------------------------------------------


async def _line_list(args: argparse.Namespace, ctx: _Context) -> None:
    names = {p.id: p.name for p in await ctx.store.list_packages()}
    lines = await ctx.store.list_lines(search=args.search, limit=args.limit, offset=args.offset)
    _emit(args, [await _line_row(ctx.store, line, names) for line in lines], LINE_COLUMNS)


async def _line_show(args: argparse.Namespace, ctx: _Context) -> None:
    line = await ctx.store.get_line_by_username(args.username)
    entitlement = await ctx.store.entitlement(line.id)
    owner = (await ctx.accounts.get(line.owner_id)).username if line.owner_id is not None else "-"
    row = await _line_row(ctx.store, line) | {
        "channel_ids": entitlement.channel_ids,
        "channels": len(entitlement.channel_ids),
        "allowed_ips": ",".join(line.allowed_ips) or "any",
        "allowed_user_agents": ",".join(line.allowed_user_agents) or "any",
        "owner": owner,
    }
    columns = [*LINE_COLUMNS, "channels", "allowed_ips", "allowed_user_agents", "owner", "ban_reason", "notes"]
    if args.json:
        _emit(args, [row], columns)
        return
    width = max(len(c) for c in columns)
    for column in columns:
        _print(f"{column.upper():<{width}}  {row[column]}")


# -- change ------------------------------------------------------------------------------------------------------


async def _line_change(args: argparse.Namespace, ctx: _Context) -> None:
    store = ctx.store
    before = await store.get_line_by_username(args.username)
    if args.action in ("disable", "enable"):
        line = await store.set_enabled(before.id, args.action == "enable")
    elif args.action == "ban":
        line = await store.ban(before.id, args.reason or "")
    else:
        line = await store.unban(before.id)
    await _audited(ctx, f"line.{args.action}", before, line)
    _emit(args, [await _line_row(store, line)], LINE_COLUMNS)


async def _line_renew(args: argparse.Namespace, ctx: _Context) -> None:
    store = ctx.store
    before = await store.get_line_by_username(args.username)
    package_id = (await store.get_package_by_name(args.package)).id if args.package else None
    if args.reseller:
        if args.days is not None:
            raise ConfigError("--days cannot be used with --reseller: the package's duration is what it sells")
        line = await ctx.resellers.renew_line(await _acting_reseller(ctx, args.reseller), before.id, package_id)
    else:
        line = await store.renew(before.id, days=args.days, package_id=package_id)
    await _audited(ctx, "line.renew", before, line)
    _emit(args, [await _line_row(store, line)], LINE_COLUMNS)


def _expiry(text: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--expires {text[:40]!r} is not a date (YYYY-MM-DD[THH:MM])", field="exp_at") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _line_patch(args: argparse.Namespace, ctx: _Context) -> LinePatch:
    given = {"username": args.new_username, "max_connections": args.max_connections, "notes": args.notes,
             "is_trial": args.trial}  # fmt: skip
    fields: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    lists = {"allowed_ips": args.allow_ip, "allowed_user_agents": args.allow_user_agent, "allowed_outputs": args.output}
    fields |= {name: tuple(value) for name, value in lists.items() if value is not None}
    if args.expires is not None:
        fields["exp_at"] = _expiry(args.expires) if args.expires else None
    if args.owner is not None:
        fields["owner_id"] = (await ctx.accounts.get_by_username(args.owner)).id if args.owner else None
    return LinePatch(**fields)  # the fields not given stay UNSET: unchanged


async def _line_update(args: argparse.Namespace, ctx: _Context) -> None:
    nothing_to_change(args, UPDATE_OPTIONS)
    store = ctx.store
    before = await store.get_line_by_username(args.username)
    patch = await _line_patch(args, ctx)  # everything checked before anything is written
    package_ids = None if args.package is None else [(await store.get_package_by_name(n)).id for n in args.package]
    line = await store.update_line(before.id, patch)
    if package_ids is not None:
        line = await store.assign_packages(before.id, package_ids)
    await _audited(ctx, "line.update", before, line)
    _emit(args, [await _line_row(store, line)], LINE_COLUMNS)


async def _line_reset_password(args: argparse.Namespace, ctx: _Context) -> None:
    line = await ctx.store.get_line_by_username(args.username)
    password = await ctx.store.reset_password(line.id, args.password)
    await ctx.audit.record(None, "line.reset_password", "line", line.id, after={"username": line.username})
    _emit(args, [{"id": line.id, "username": line.username, "password": password}], ["id", "username", "password"])


async def _line_delete(args: argparse.Namespace, ctx: _Context) -> None:
    line = await ctx.store.get_line_by_username(args.username)
    await ctx.store.delete_line(line.id)
    await _audited(ctx, "line.delete", line, None)
    _print(f"line {line.username} deleted")


LINE_ACTIONS: dict[str, Action] = {
    "add": _line_add, "list": _line_list, "show": _line_show, "update": _line_update, "disable": _line_change,
    "enable": _line_change, "renew": _line_renew, "ban": _line_change, "unban": _line_change,
    "reset-password": _line_reset_password, "delete": _line_delete,
}  # fmt: skip


# -- parsers -----------------------------------------------------------------------------------------------------


def _add_parser(actions: Subparsers) -> None:
    add = add_action(actions, "add", "create a line and print its password (once)", key="username")
    add.add_argument("--package", action="append", help="package name (repeatable, in order)")
    add.add_argument("--reseller", help="sell it as this reseller: one --package it may sell, paid from its credits")
    add.add_argument("--days", type=int, help="days until it expires (default: the longest package duration)")
    add.add_argument("--max-connections", type=int, help="concurrent streams (default: from the packages)")
    add.add_argument("--password", help="use this password instead of generating one")
    add.add_argument("--output", action="append", choices=OUTPUT_FORMATS, help="allowed output (repeatable)")
    add.add_argument("--trial", action="store_true", help="mark the line as a trial")
    add.add_argument("--allow-ip", action="append", help="allowed IP or CIDR (repeatable; default: any)")
    add.add_argument("--allow-user-agent", action="append", help="allowed user-agent substring (repeatable)")
    add.add_argument("--notes")


def _update_parser(actions: Subparsers) -> None:
    update = add_action(actions, "update", "change a line (only the options given)", key="username")
    update.add_argument("--username", dest="new_username", metavar="NEW", help="rename the line")
    update.add_argument("--max-connections", type=int)
    update.add_argument("--notes")
    expiry = update.add_mutually_exclusive_group()
    expiry.add_argument("--expires", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC unless an offset is given)")
    expiry.add_argument("--never-expires", dest="expires", action="store_const", const="")
    update.add_argument("--output", action="append", choices=OUTPUT_FORMATS, help="allowed outputs (all of them)")
    trial = update.add_mutually_exclusive_group()
    trial.add_argument("--trial", action="store_const", const=True)
    trial.add_argument("--no-trial", dest="trial", action="store_const", const=False)
    ips = update.add_mutually_exclusive_group()
    ips.add_argument("--allow-ip", action="append", help="allowed IP or CIDR (all of them, repeatable)")
    ips.add_argument("--any-ip", dest="allow_ip", action="store_const", const=[], help="allow every address")
    agents = update.add_mutually_exclusive_group()
    agents.add_argument("--allow-user-agent", action="append", help="allowed user-agent substring (all of them)")
    agents.add_argument("--any-user-agent", dest="allow_user_agent", action="store_const", const=[])
    packages = update.add_mutually_exclusive_group()
    packages.add_argument("--package", action="append", help="the line's packages (all of them, in order)")
    packages.add_argument("--no-packages", dest="package", action="store_const", const=[])
    owner = update.add_mutually_exclusive_group()
    owner.add_argument("--owner", help="the reseller account that owns it")
    owner.add_argument("--no-owner", dest="owner", action="store_const", const="", help="the operator's own line")


def add_parsers(sub: Subparsers) -> None:
    """Register ``line`` on the ``headend`` parser."""
    line = sub.add_parser("line", help="manage subscriber lines (accounts)")
    line.set_defaults(func=cmd_line)
    actions = line.add_subparsers(dest="action", required=True)
    _add_parser(actions)
    lst = add_action(actions, "list", "list lines")
    lst.add_argument("--search", help="substring of the username or notes")
    lst.add_argument("--limit", type=int)
    lst.add_argument("--offset", type=int, default=0)
    add_action(actions, "show", "show one line", key="username")
    _update_parser(actions)
    for name, help in [("disable", "disable a line"), ("enable", "enable a line"), ("unban", "lift a ban")]:
        add_action(actions, name, help, key="username")
    add_action(actions, "ban", "ban a line", key="username").add_argument("--reason")
    renew = add_action(actions, "renew", "extend a line from max(now, expiry)", key="username")
    how = renew.add_mutually_exclusive_group()
    how.add_argument("--days", type=int, help="by this many days (default: its longest package duration)")
    how.add_argument("--package", help="by this package's duration (and assign it)")
    renew.add_argument("--reseller", help="renew as this reseller, paid from its credits")
    add_action(actions, "reset-password", "give a line a new password and print it", key="username").add_argument(
        "--password", help="use this password instead of generating one"
    )
    add_action(actions, "delete", "delete a line", key="username")


__all__ = ["add_parsers", "cmd_line", "line_view", "subscriber_store"]
