"""Sub-operators: what a principal may do with subscriber lines, and resellers' credit-paid line sales.

Who manages which lines:

* ``admin`` and ``operator``: every line; they create and renew lines for free, and the lines they create
  have no owner;
* ``reseller``: only the lines it owns (``owner_id``). It creates lines from the packages it may sell
  (``AdminAccount.packages``), spending each package's ``credit_cost``; renewing costs the same again.
  Another reseller's line (or the operator's) is NotFound to it, never Forbidden: it must not learn
  which usernames exist;
* ``support``: reads every line, but creates and renews none (Forbidden).

Payment invariant: the credits are taken in the *same* write transaction that creates or renews the line
(``SubscriberStore``'s ``in_transaction`` hook), with a conditional ``UPDATE … WHERE credits >= cost``. So
there is never a line without its payment nor a payment without its line, and concurrent sales cannot
overspend (a CHECK keeps ``credits >= 0`` even if they tried). The sellable-package check runs inside the
transaction too, so a package taken away meanwhile cannot be sold.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from headend.admin.accounts import AdminAccounts
from headend.admin.principal import Principal, Role
from headend.catalog.admin_models import AdminResellerPackageRow, AdminRow
from headend.catalog.records import check_int
from headend.catalog.subscriber_models import LineRow, PackageRow
from headend.catalog.subscriber_records import LineInput, LineRecord, check_username
from headend.catalog.subscribers import SubscriberStore
from headend.errors import Forbidden, NotFound, ValidationError

USERNAME_ALPHABET: Final = "abcdefghijkmnpqrstuvwxyz23456789"
"""Generated usernames: lower case, no 0/o, 1/l: easy to read out and type on a remote."""
USERNAME_LENGTH: Final = 10

_FULL_ACCESS: Final = frozenset({Role.ADMIN, Role.OPERATOR})
_READERS: Final = frozenset({Role.ADMIN, Role.OPERATOR, Role.SUPPORT})


def generate_username() -> str:
    """10 random characters of :data:`USERNAME_ALPHABET` (about 50 bits: collisions are negligible)."""
    return "".join(secrets.choice(USERNAME_ALPHABET) for _ in range(USERNAME_LENGTH))


class Resellers:
    """Line sales and renewals scoped by role (see the module docstring)."""

    def __init__(self, accounts: AdminAccounts, subscribers: SubscriberStore) -> None:
        self._accounts = accounts
        self._subscribers = subscribers

    def can_manage(self, principal: Principal, line: LineRecord) -> bool:
        """Admins and operators: any line; a reseller: its own lines; support: none."""
        if principal.role in _FULL_ACCESS:
            return True
        return principal.role is Role.RESELLER and line.owner_id is not None and line.owner_id == principal.account_id

    def can_read(self, principal: Principal, line: LineRecord) -> bool:
        """Admins, operators and support read every line; a reseller its own."""
        return principal.role in _READERS or self.can_manage(principal, line)

    async def create_line(
        self,
        principal: Principal,
        *,
        package_id: int,
        username: str | None = None,
        password: str | None = None,
        max_connections: int | None = None,
        notes: str = "",
    ) -> tuple[LineRecord, str]:
        """Create a line holding ``package_id`` (expiring after its duration); returns it and its password.

        A reseller pays the package's credit cost in the same transaction (ValidationError "not enough
        credits"), may only sell its packages (Forbidden), only enabled ones, and may not give more
        connections than the package has; the line is its own. Support: Forbidden."""
        _check_may_sell(principal)
        package_id = check_int(package_id, "package_id")
        data = LineInput(
            username=generate_username() if username is None else check_username(username),
            password=password, package_ids=(package_id,), max_connections=max_connections, notes=notes,
            owner_id=principal.account_id if principal.is_reseller else None,
        )  # fmt: skip
        if not principal.is_reseller:
            return await self._subscribers.create_line(data)
        hook = _charge(principal.account_id, package_id, max_connections=max_connections)
        return await self._subscribers.create_line(data, in_transaction=hook)

    async def renew_line(self, principal: Principal, line_id: int, package_id: int | None = None) -> LineRecord:
        """Extend a line by a package's duration (default: its first package; for admins and operators, its
        longest package). A reseller pays the package's credit cost and may renew only its own lines
        (NotFound otherwise) with packages it may sell."""
        _check_may_sell(principal)
        if not principal.is_reseller:
            return await self._subscribers.renew(line_id, package_id=package_id)
        line = await self._own_line(principal, line_id)
        if package_id is None:
            if not line.package_ids:
                raise ValidationError("the line holds no package: name the package to renew with", field="package_id")
            package_id = line.package_ids[0]
        hook = _charge(principal.account_id, check_int(package_id, "package_id"), line_id=line.id)
        return await self._subscribers.renew(line.id, package_id=package_id, in_transaction=hook)

    async def list_lines(
        self, principal: Principal, *, q: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[LineRecord]:
        """Lines by username: a reseller's own, everyone else's all."""
        owner = principal.account_id if principal.is_reseller else None
        return await self._subscribers.list_lines(search=q, limit=limit, offset=offset, owner_id=owner)

    async def get_line(self, principal: Principal, line_id: int) -> LineRecord:
        """One line, if the principal may read it (NotFound otherwise, like a missing line)."""
        line = await self._subscribers.get_line(line_id)
        if not self.can_read(principal, line):
            raise NotFound(f"line {line_id} does not exist")
        return line

    async def _own_line(self, principal: Principal, line_id: int) -> LineRecord:
        line = await self._subscribers.get_line(line_id)
        if not self.can_manage(principal, line):
            raise NotFound(f"line {line_id} does not exist")
        return line


def _check_may_sell(principal: Principal) -> None:
    if principal.role not in _FULL_ACCESS and not principal.is_reseller:
        raise Forbidden(f"the {principal.role.value} role cannot create or renew lines")


def _charge(
    account_id: int, package_id: int, *, line_id: int | None = None, max_connections: int | None = None
) -> Callable[[AsyncSession], Awaitable[None]]:
    """The in-transaction step of a reseller sale: ownership, sellable package, limits, then payment."""

    async def charge(session: AsyncSession) -> None:
        if line_id is not None:  # re-checked under the write lock: the line may have changed hands
            owner = await session.scalar(select(LineRow.owner_id).where(LineRow.id == line_id))
            if owner != account_id:
                raise NotFound(f"line {line_id} does not exist")
        sellable = select(AdminResellerPackageRow.package_id).where(
            AdminResellerPackageRow.admin_id == account_id, AdminResellerPackageRow.package_id == package_id
        )
        package = await session.get(PackageRow, package_id)
        if package is None or await session.scalar(sellable) is None:
            raise Forbidden(f"package {package_id} is not one this reseller may sell")
        if not package.enabled:
            raise ValidationError(f"package {package.name!r} is disabled", field="package_id")
        if max_connections is not None and max_connections > package.max_connections:
            raise ValidationError(
                f"at most {package.max_connections} connection(s) with package {package.name!r}",
                field="max_connections",
            )
        await _pay(session, account_id, package.credit_cost)

    return charge


async def _pay(session: AsyncSession, account_id: int, cost: int) -> None:
    """Take ``cost`` credits from an enabled account, or ValidationError: all or nothing."""
    if cost == 0:
        return
    stmt = (
        update(AdminRow)
        .where(AdminRow.id == account_id, AdminRow.enabled, AdminRow.credits >= cost)
        .values(credits=AdminRow.credits - cost)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(stmt))
    if result.rowcount != 1:
        raise ValidationError("not enough credits", field="credits")


__all__ = ["Resellers", "generate_username"]
