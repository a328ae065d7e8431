"""``headend admin …`` and ``headend audit list``: admin accounts, API tokens and the audit log from the
command line (the same operations as the web panel's accounts pages).

Accounts are named by username, tokens by id. A password or token is printed once, when it is created
(a password given with ``--password-stdin`` is not echoed), and never again. Every change is written to
the audit log with actor ``cli``. Changing an account's password or disabling it ends its web sessions.
Errors are Headend errors, which ``headend.cli.main`` turns into one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from headend.admin.accounts import AdminAccounts
from headend.admin.api_tokens import ApiTokens
from headend.admin.audit import AuditLog
from headend.admin.passwords import AdminPasswordHasher
from headend.admin.principal import Role
from headend.admin.records import AdminAccount, AdminInput, ApiTokenRecord
from headend.admin.sessions import AdminSessions
from headend.catalog.db import Database
from headend.catalog.subscribers import SubscriberStore
from headend.cli import Subparsers, _emit, _print, add_action
from headend.settings import Settings

ACCOUNT_COLUMNS = ["id", "username", "role", "enabled", "credits", "packages", "last_login"]
TOKEN_COLUMNS = ["id", "username", "name", "prefix", "created", "last_used"]
AUDIT_COLUMNS = ["at", "actor", "action", "object_type", "object_id", "ip"]
ROLES = [role.value for role in Role]


class _NoHashing:
    """The subscriber store is only used here to look packages up by name: nothing is ever hashed."""

    def hash(self, password: str) -> str:  # pragma: no cover - never called
        raise RuntimeError("the admin CLI does not hash line passwords")


@dataclass(frozen=True, slots=True)
class _Admin:
    """What the admin commands work with, on one started database."""

    accounts: AdminAccounts
    sessions: AdminSessions
    tokens: ApiTokens
    audit: AuditLog
    subscribers: SubscriberStore


Action = Callable[[argparse.Namespace, _Admin], Awaitable[None]]


def _run(settings: Settings, args: argparse.Namespace, action: Action) -> int:
    async def work() -> int:
        db = Database(settings.database_url, echo=settings.db.echo)
        await db.start()
        try:
            await (db.migrate() if settings.db.auto_migrate else db.check_schema())
            admin = _Admin(
                accounts=AdminAccounts(db, AdminPasswordHasher()), sessions=AdminSessions(db, settings.admin),
                tokens=ApiTokens(db), audit=AuditLog(db), subscribers=SubscriberStore(db, _NoHashing()),
            )  # fmt: skip
            await action(args, admin)
            return 0
        finally:
            await db.aclose()

    return asyncio.run(work())


def _when(value: datetime | None, never: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else never


def _read_password(args: argparse.Namespace) -> str | None:
    """The password from stdin with ``--password-stdin`` (prompted for on a terminal), else None."""
    if not args.password_stdin:
        return None
    if sys.stdin.isatty():
        return getpass.getpass("New password: ")
    return sys.stdin.readline().rstrip("\r\n")


async def _package_names(admin: _Admin) -> dict[int, str]:
    return {p.id: p.name for p in await admin.subscribers.list_packages()}


async def _account_row(admin: _Admin, account: AdminAccount, names: dict[int, str] | None = None) -> dict[str, Any]:
    names = names if names is not None else await _package_names(admin)
    return asdict(account) | {
        "packages": ",".join(names.get(i, str(i)) for i in account.packages) or "-",
        "last_login": _when(account.last_login_at, "never"),
    }


def _audit_view(account: AdminAccount) -> dict[str, object]:
    return asdict(account)


# -- accounts ---------------------------------------------------------------------------------------------


async def _create(args: argparse.Namespace, admin: _Admin) -> None:
    given = _read_password(args)
    package_ids = tuple([(await admin.subscribers.get_package_by_name(name)).id for name in args.package or []])
    data = AdminInput(
        username=args.username, role=Role(args.role), password=given, credits=args.credits, packages=package_ids,
        notes=args.notes or "",
    )  # fmt: skip
    account, password = await admin.accounts.create(data)
    await admin.audit.record(None, f"{account.audit_kind}.create", "admin", account.id, after=_audit_view(account))
    row = await _account_row(admin, account) | {"password": "(as given)" if given is not None else password}
    _emit(args, [row], ["id", "username", "role", "credits", "packages", "password"])


async def _list(args: argparse.Namespace, admin: _Admin) -> None:
    names = await _package_names(admin)
    accounts = await admin.accounts.list(role=Role(args.role) if args.role else None, limit=10_000)
    _emit(args, [await _account_row(admin, a, names) for a in accounts], ACCOUNT_COLUMNS)


async def _passwd(args: argparse.Namespace, admin: _Admin) -> None:
    account = await admin.accounts.get_by_username(args.username)
    given = _read_password(args)
    password = await admin.accounts.set_password(account.id, given)
    await admin.sessions.end_for_account(account.id)
    await admin.audit.record(None, "admin.password", "admin", account.id, after={"username": account.username})
    shown = "(as given)" if given is not None else password
    _emit(args, [{"id": account.id, "username": account.username, "password": shown}], ["id", "username", "password"])


async def _enable(args: argparse.Namespace, admin: _Admin) -> None:
    account = await admin.accounts.get_by_username(args.username)
    enabled = args.action == "enable"
    changed = await admin.accounts.update(account.id, enabled=enabled)
    if not enabled:
        await admin.sessions.end_for_account(account.id)
    await admin.audit.record(
        None,
        f"{account.audit_kind}.{args.action}",
        "admin",
        account.id,
        before=_audit_view(account),
        after=_audit_view(changed),
    )
    _emit(args, [await _account_row(admin, changed)], ACCOUNT_COLUMNS)


async def _update(args: argparse.Namespace, admin: _Admin) -> None:
    account = await admin.accounts.get_by_username(args.username)
    packages = None
    if args.no_packages:
        packages = []
    elif args.package is not None:
        packages = [(await admin.subscribers.get_package_by_name(name)).id for name in args.package]
    changed = await admin.accounts.update(
        account.id, role=Role(args.role) if args.role else None, notes=args.notes, packages=packages
    )
    await admin.audit.record(
        None,
        f"{account.audit_kind}.update",
        "admin",
        account.id,
        before=_audit_view(account),
        after=_audit_view(changed),
    )
    _emit(args, [await _account_row(admin, changed)], ACCOUNT_COLUMNS)


async def _delete(args: argparse.Namespace, admin: _Admin) -> None:
    account = await admin.accounts.get_by_username(args.username)
    await admin.accounts.delete(account.id)
    await admin.audit.record(None, f"{account.audit_kind}.delete", "admin", account.id, before=_audit_view(account))
    _print(f"admin account {account.username} deleted")


async def _credits(args: argparse.Namespace, admin: _Admin) -> None:
    account = await admin.accounts.get_by_username(args.username)
    changed = await admin.accounts.add_credits(account.id, args.delta)
    await admin.audit.record(
        None, f"{account.audit_kind}.credits", "admin", account.id, before={"credits": account.credits},
        after={"credits": changed.credits, "delta": args.delta},
    )  # fmt: skip
    _emit(args, [await _account_row(admin, changed)], ACCOUNT_COLUMNS)


ACCOUNT_ACTIONS: dict[str, Action] = {
    "create": _create, "list": _list, "passwd": _passwd, "enable": _enable, "disable": _enable,
    "update": _update, "delete": _delete, "credits": _credits,
}  # fmt: skip


# -- tokens -----------------------------------------------------------------------------------------------


def _token_row(record: ApiTokenRecord, usernames: dict[int, str]) -> dict[str, Any]:
    return asdict(record) | {
        "username": usernames.get(record.admin_id, str(record.admin_id)),
        "created": _when(record.created_at),
        "last_used": _when(record.last_used_at, "never"),
    }


async def _token_action(args: argparse.Namespace, admin: _Admin) -> None:
    if args.token_action == "create":
        account = await admin.accounts.get_by_username(args.username)
        record, token = await admin.tokens.create(account.id, args.name)
        await admin.audit.record(None, "api_token.create", "api_token", record.id, after=asdict(record))
        row = _token_row(record, {account.id: account.username}) | {"token": token}
        _emit(args, [row], ["id", "username", "name", "token"])
    elif args.token_action == "list":
        account_id = (await admin.accounts.get_by_username(args.username)).id if args.username else None
        usernames = {a.id: a.username for a in await admin.accounts.list(limit=10_000)}
        _emit(args, [_token_row(r, usernames) for r in await admin.tokens.list(account_id)], TOKEN_COLUMNS)
    else:  # revoke
        record = await admin.tokens.get(args.id)
        await admin.tokens.revoke(record.id)
        await admin.audit.record(None, "api_token.revoke", "api_token", record.id, before=asdict(record))
        _print(f"API token {record.id} ({record.prefix}…) revoked")


# -- audit ------------------------------------------------------------------------------------------------


async def _audit_list(args: argparse.Namespace, admin: _Admin) -> None:
    entries = await admin.audit.list(actor=args.actor, object_type=args.type, action=args.action, limit=args.limit)
    rows = [asdict(e) | {"at": e.at.strftime("%Y-%m-%d %H:%M:%S UTC")} for e in entries]
    _emit(args, rows, AUDIT_COLUMNS)


def cmd_admin(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args, _token_action if args.action == "token" else ACCOUNT_ACTIONS[args.action])


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    return _run(settings, args, _audit_list)


# -- parsers ----------------------------------------------------------------------------------------------


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (default: generate and print one)"
    )


def _account_parsers(actions: Subparsers) -> None:
    create = add_action(actions, "create", "create an admin account (prints a generated password once)", key="username")
    create.add_argument("--role", required=True, choices=ROLES)
    _password_option(create)
    create.add_argument("--credits", type=int, default=0, help="reseller credits (default 0)")
    create.add_argument("--package", action="extend", nargs="+", help="package name a reseller may sell (repeatable)")
    create.add_argument("--notes")
    add_action(actions, "list", "list admin accounts").add_argument("--role", choices=ROLES)
    passwd = add_action(actions, "passwd", "set a new password (ends the account's sessions)", key="username")
    _password_option(passwd)
    add_action(actions, "enable", "enable an account", key="username")
    add_action(
        actions, "disable", "disable an account (ends its sessions; its API tokens stop working)", key="username"
    )
    update = add_action(actions, "update", "change an account's role, notes or sellable packages", key="username")
    update.add_argument("--role", choices=ROLES)
    update.add_argument("--notes")
    which = update.add_mutually_exclusive_group()
    which.add_argument("--package", action="extend", nargs="+", help="the packages a reseller may sell (all of them)")
    which.add_argument("--no-packages", action="store_true", help="the reseller may sell no package")
    add_action(actions, "delete", "delete an account (its lines lose their owner)", key="username")
    credits = add_action(actions, "credits", "add (or, negative, take away) reseller credits", key="username")
    credits.add_argument("delta", type=int)


def _token_parsers(actions: Subparsers) -> None:
    token = actions.add_parser("token", help="API tokens for the REST API")
    tokens = token.add_subparsers(dest="token_action", required=True)
    create = add_action(tokens, "create", "create a token acting as an account (printed once)", key="username")
    create.add_argument("--name", required=True, help="what the token is for")
    add_action(tokens, "list", "list tokens (of one account)").add_argument("username", nargs="?")
    add_action(tokens, "revoke", "revoke a token").add_argument("id", type=int, help="the token's id (see token list)")


def add_parsers(sub: Subparsers) -> None:
    """Register ``admin`` and ``audit`` on the ``headend`` parser."""
    admin = sub.add_parser("admin", help="admin accounts, roles, reseller credits and API tokens")
    admin.set_defaults(func=cmd_admin)
    actions = admin.add_subparsers(dest="action", required=True)
    _account_parsers(actions)
    _token_parsers(actions)
    audit = sub.add_parser("audit", help="the audit log")
    audit.set_defaults(func=cmd_audit)
    audit_actions = audit.add_subparsers(dest="audit_action", required=True)
    lst = add_action(audit_actions, "list", "list audit entries, newest first")
    lst.add_argument("--actor", help="username (as recorded; `cli` for command-line changes)")
    lst.add_argument("--type", help="object type (admin, line, package, channel, …)")
    lst.add_argument("--action", dest="action", help="action (e.g. admin.create)")
    lst.add_argument("--limit", type=int, default=50)


__all__ = ["add_parsers", "cmd_admin", "cmd_audit"]
