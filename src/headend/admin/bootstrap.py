"""The first admin account: no default password, ever.

When the server starts and no enabled admin account exists:

* listening on a loopback address only (``127.0.0.0/8``, ``::1``, ``localhost``), it creates the account
  ``admin`` (role admin) with a generated password and returns that password, which the caller prints once
  to the terminal (never to the log). Only someone on the machine can reach the panel, and they have the
  terminal; they change the password with ``headend admin passwd admin``;
* listening on any other address, it refuses to start (ConfigError): a fresh server on the network must not
  wait for the first stranger to claim it. The operator runs ``headend admin create USER`` first.

Several servers starting at once on one PostgreSQL database: one creates the account, the others find it.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Final

from headend.admin.accounts import AdminAccounts
from headend.admin.audit import AuditLog
from headend.admin.principal import Role
from headend.admin.records import AdminInput
from headend.errors import ConfigError, Conflict
from headend.settings import HttpSettings

logger = logging.getLogger(__name__)

FIRST_ADMIN: Final = "admin"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``); False for the rest,
    including the wildcard addresses (``0.0.0.0``, ``::``, empty) that listen on every interface."""
    text = host.strip().strip("[]").lower()
    if text in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


async def ensure_first_admin(
    accounts: AdminAccounts, http: HttpSettings, *, audit: AuditLog | None = None
) -> str | None:
    """Create the first admin when needed (see the module docstring). Returns its password, or None.
    With ``audit``, the creation is recorded (actor ``system``)."""
    if await accounts.count(enabled_admins_only=True) > 0:
        return None
    if not is_loopback_host(http.host):
        raise ConfigError(
            f"no enabled admin account exists and http.host is {http.host!r} (not loopback): "
            "run `headend admin create USER --role admin` first"
        )
    try:
        account, password = await accounts.create(AdminInput(username=FIRST_ADMIN, role=Role.ADMIN))
    except Conflict:
        if await accounts.count(enabled_admins_only=True) > 0:
            return None  # another server created it meanwhile
        raise ConfigError(
            f"no enabled admin account exists, and an account named {FIRST_ADMIN!r} does: enable it with "
            f"`headend admin enable {FIRST_ADMIN}` or create another with `headend admin create USER --role admin`"
        ) from None
    if audit is not None:
        after = {"username": account.username, "role": account.role}
        await audit.record(None, "admin.bootstrap", "admin", account.id, after=after, actor_name="system")
    logger.warning("created the first admin account %r; its password is shown once on the terminal", FIRST_ADMIN)
    return password


def first_admin_message(password: str) -> str:
    """The boxed note the server prints to the terminal (stdout, never the log) with the first password."""
    lines = [
        "First admin account created (no admin existed).",
        f"  username: {FIRST_ADMIN}",
        f"  password: {password}",
        f"Shown once; change it with `headend admin passwd {FIRST_ADMIN}`.",
    ]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule]) + "\n"


__all__ = ["FIRST_ADMIN", "ensure_first_admin", "first_admin_message", "is_loopback_host"]
