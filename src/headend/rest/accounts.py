"""REST: admin accounts — every role (admins only), and resellers, the sub-operators operators manage.

Passwords are answered once (created, or set by ``POST …/password``) and never audited. Disabling an
account, changing its role or its password ends its web sessions; its API tokens stop working while it is
disabled. An admin cannot delete its own account, and the last enabled admin can be neither deleted,
disabled nor demoted (Conflict).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import Field

from headend.admin.passwords import ADMIN_PASSWORD_MAX, ADMIN_PASSWORD_MIN
from headend.admin.principal import Role
from headend.admin.records import CREDITS_MAX, AdminAccount, AdminInput
from headend.catalog.admin_models import ADMIN_NOTES_MAX
from headend.errors import Conflict, NotFound
from headend.http.policy import Policy
from headend.rest.framework import ApiRoute, Call, Id, In, Out, Page, SearchQuery, changes, keep, route

USERNAME_PATTERN: Final = r"^[a-zA-Z0-9._-]{1,64}$"
ACCOUNT_LIST_MAX: Final = 10_000


class AccountOut(Out):
    id: int
    username: str
    role: Role
    enabled: bool
    credits: int
    packages: list[int] = Field(description="Packages a reseller may sell.")
    notes: str
    created_at: datetime
    last_login_at: datetime | None


class AccountPage(Page[AccountOut]):
    pass


class AccountCreated(Out):
    account: AccountOut
    password: str = Field(description="Shown this once.")


class AdminQuery(SearchQuery):
    role: Role | None = None


class ResellerCreate(In):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str | None = Field(
        None, min_length=ADMIN_PASSWORD_MIN, max_length=ADMIN_PASSWORD_MAX, description="None: generated."
    )
    credits: int = Field(0, ge=0, le=CREDITS_MAX)
    packages: list[Id] = Field(default_factory=list, max_length=1000)
    notes: str = Field("", max_length=ADMIN_NOTES_MAX)
    enabled: bool = True


class AdminCreate(ResellerCreate):
    role: Role


class ResellerUpdate(In):
    enabled: bool = keep()
    packages: list[Id] = keep(max_length=1000)
    notes: str = keep(max_length=ADMIN_NOTES_MAX)


class AdminUpdate(ResellerUpdate):
    role: Role = keep()
    credits: int = keep(ge=0, le=CREDITS_MAX)


class Credits(In):
    delta: int = Field(ge=-CREDITS_MAX, le=CREDITS_MAX, description="Credits to add (negative: to take away).")


class PasswordIn(In):
    password: str | None = Field(
        None, min_length=ADMIN_PASSWORD_MIN, max_length=ADMIN_PASSWORD_MAX, description="None: generated."
    )


class PasswordOut(Out):
    password: str = Field(description="Shown this once.")


def account_out(record: AdminAccount) -> AccountOut:
    return AccountOut(
        id=record.id, username=record.username, role=record.role, enabled=record.enabled, credits=record.credits,
        packages=list(record.packages), notes=record.notes, created_at=record.created_at,
        last_login_at=record.last_login_at,
    )  # fmt: skip


def _dump(out: AccountOut) -> dict[str, object]:
    return out.model_dump(mode="json", exclude={"last_login_at"})


async def _reseller(call: Call) -> AdminAccount:
    account = await call.svc.admin_accounts.get(call.id("reseller_id"))
    if account.role is not Role.RESELLER:
        raise NotFound(f"reseller {account.id} does not exist")
    return account


# -- resellers (operators) ---------------------------------------------------------------------------------------


async def list_resellers(call: Call) -> AccountPage:
    query = call.query(SearchQuery)
    rows = await call.svc.admin_accounts.list(role=Role.RESELLER, q=query.q, limit=ACCOUNT_LIST_MAX)
    return AccountPage.of([account_out(row) for row in rows], query)


async def get_reseller(call: Call) -> AccountOut:
    return account_out(await _reseller(call))


async def create_reseller(call: Call) -> AccountCreated:
    data = call.body(ResellerCreate)
    return await _create(call, _input(data, Role.RESELLER))


async def update_reseller(call: Call) -> AccountOut:
    before = await _reseller(call)
    return await _update(call, before, changes(call.body(ResellerUpdate)))


async def delete_reseller(call: Call) -> None:
    await _delete(call, await _reseller(call))


async def add_credits(call: Call) -> AccountOut:
    before = await _reseller(call)
    delta = call.body(Credits).delta
    out = account_out(await call.svc.admin_accounts.add_credits(before.id, delta))
    await call.audit(
        "reseller.credits", "admin", before.id, before={"credits": before.credits},
        after={"credits": out.credits, "delta": delta},
    )  # fmt: skip
    return out


# -- every account (admins) --------------------------------------------------------------------------------------


async def list_admins(call: Call) -> AccountPage:
    query = call.query(AdminQuery)
    rows = await call.svc.admin_accounts.list(role=query.role, q=query.q, limit=ACCOUNT_LIST_MAX)
    return AccountPage.of([account_out(row) for row in rows], query)


async def get_admin(call: Call) -> AccountOut:
    return account_out(await call.svc.admin_accounts.get(call.id("admin_id")))


async def create_admin(call: Call) -> AccountCreated:
    data = call.body(AdminCreate)
    return await _create(call, _input(data, data.role))


async def update_admin(call: Call) -> AccountOut:
    before = await call.svc.admin_accounts.get(call.id("admin_id"))
    return await _update(call, before, changes(call.body(AdminUpdate)))


async def delete_admin(call: Call) -> None:
    account = await call.svc.admin_accounts.get(call.id("admin_id"))
    if account.id == call.who.account_id:
        raise Conflict("you cannot delete your own account")
    await _delete(call, account)


async def set_password(call: Call) -> PasswordOut:
    account = await call.svc.admin_accounts.get(call.id("admin_id"))
    password = await call.svc.admin_accounts.set_password(account.id, call.body(PasswordIn).password)
    await call.svc.admin_sessions.end_for_account(account.id)
    await call.audit("admin.password", "admin", account.id)
    return PasswordOut(password=password)


# -- shared ------------------------------------------------------------------------------------------------------


def _input(data: ResellerCreate, role: Role) -> AdminInput:
    return AdminInput(
        username=data.username, role=role, password=data.password, credits=data.credits,
        packages=tuple(data.packages), notes=data.notes, enabled=data.enabled,
    )  # fmt: skip


async def _create(call: Call, data: AdminInput) -> AccountCreated:
    account, password = await call.svc.admin_accounts.create(data)
    out = account_out(account)
    await call.audit(f"{account.audit_kind}.create", "admin", account.id, after=_dump(out))
    return AccountCreated(account=out, password=password)


async def _update(call: Call, before: AdminAccount, given: dict[str, object]) -> AccountOut:
    accounts = call.svc.admin_accounts
    record = await accounts.update(before.id, **given)  # type: ignore[arg-type]  # validated by the model
    if not record.enabled or record.role is not before.role:
        await call.svc.admin_sessions.end_for_account(before.id)
    out = account_out(record)
    await call.audit(
        f"{before.audit_kind}.update", "admin", before.id, before=_dump(account_out(before)), after=_dump(out)
    )
    return out


async def _delete(call: Call, account: AdminAccount) -> None:
    await call.svc.admin_accounts.delete(account.id)
    await call.audit(f"{account.audit_kind}.delete", "admin", account.id, before=_dump(account_out(account)))


def routes() -> list[ApiRoute]:
    o, a = Policy.OPERATOR, Policy.ADMIN
    rs, r1 = "/api/v1/resellers", "/api/v1/resellers/{reseller_id}"
    ad, a1 = "/api/v1/admins", "/api/v1/admins/{admin_id}"
    return [
        route("GET", rs, list_resellers, policy=o, tag="resellers", summary="List resellers", query=SearchQuery,
              response=AccountPage),
        route("POST", rs, create_reseller, policy=o, tag="resellers",
              summary="Create a reseller; the password is shown once", body=ResellerCreate, response=AccountCreated),
        route("GET", r1, get_reseller, policy=o, tag="resellers", summary="Get a reseller", response=AccountOut),
        route("PATCH", r1, update_reseller, policy=o, tag="resellers",
              summary="Enable or disable a reseller, or change what it may sell", body=ResellerUpdate,
              response=AccountOut),
        route("DELETE", r1, delete_reseller, policy=o, tag="resellers",
              summary="Delete a reseller (its lines stay, without an owner)"),
        route("POST", r1 + "/credits", add_credits, policy=o, tag="resellers",
              summary="Add (or take away) a reseller's credits", body=Credits, response=AccountOut, status=200),
        route("GET", ad, list_admins, policy=a, tag="admins", summary="List admin accounts of every role",
              query=AdminQuery, response=AccountPage),
        route("POST", ad, create_admin, policy=a, tag="admins",
              summary="Create an admin account; the password is shown once", body=AdminCreate,
              response=AccountCreated),
        route("GET", a1, get_admin, policy=a, tag="admins", summary="Get an admin account", response=AccountOut),
        route("PATCH", a1, update_admin, policy=a, tag="admins", summary="Change an admin account",
              body=AdminUpdate, response=AccountOut),
        route("DELETE", a1, delete_admin, policy=a, tag="admins", summary="Delete an admin account"),
        route("POST", a1 + "/password", set_password, policy=a, tag="admins",
              summary="Set (or generate) an account's password, shown once; its sessions end", body=PasswordIn,
              response=PasswordOut, status=200),
    ]  # fmt: skip


__all__ = ["account_out", "routes"]
