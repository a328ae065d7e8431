"""REST: API tokens — long-lived bearer credentials, each acting as one admin account.

Every account manages its own tokens; admins see and revoke everyone's, and may create one for another
account (``account_id``: how the bootstrap token, which owns no account, hands out the first real token).
The token itself is answered once, when created; lists show its display prefix only.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headend.admin.principal import Role
from headend.admin.records import ApiTokenRecord
from headend.catalog.admin_models import TOKEN_NAME_MAX
from headend.errors import NotFound, ValidationError
from headend.http.policy import Policy
from headend.rest.framework import ID_MAX, ApiRoute, Call, Id, In, Out, Page, PageQuery, route


class TokenOut(Out):
    id: int
    admin_id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None


class TokenPage(Page[TokenOut]):
    pass


class TokenQuery(PageQuery):
    account_id: int | None = Field(None, ge=1, le=ID_MAX, description="Admins: only this account's tokens.")


class TokenCreate(In):
    name: str = Field(min_length=1, max_length=TOKEN_NAME_MAX)
    account_id: Id | None = Field(None, description="Admins only: the account the token acts as (default: yours).")


class TokenCreated(Out):
    token: str = Field(description="Shown this once: send it as 'Authorization: Bearer <token>'.")
    api_token: TokenOut


def token_out(record: ApiTokenRecord) -> TokenOut:
    return TokenOut(
        id=record.id, admin_id=record.admin_id, name=record.name, prefix=record.prefix,
        created_at=record.created_at, last_used_at=record.last_used_at,
    )  # fmt: skip


def _is_admin(call: Call) -> bool:
    return call.who.role is Role.ADMIN


async def list_tokens(call: Call) -> TokenPage:
    query = call.query(TokenQuery)
    account = query.account_id if _is_admin(call) else call.who.account_id
    rows = await call.svc.api_tokens.list(account)
    return TokenPage.of([token_out(row) for row in rows], query)


async def create_token(call: Call) -> TokenCreated:
    data = call.body(TokenCreate)
    account = call.who.account_id
    if data.account_id is not None and data.account_id != account:
        if not _is_admin(call):  # the same answer as for an account that does not exist: nothing is revealed
            raise ValidationError(f"admin account {data.account_id} does not exist", field="account_id")
        account = data.account_id
    if account == 0:
        raise ValidationError("the bootstrap token owns no account: give account_id", field="account_id")
    try:
        record, token = await call.svc.api_tokens.create(account, data.name)
    except NotFound:
        raise ValidationError(f"admin account {account} does not exist", field="account_id") from None
    out = token_out(record)
    await call.audit("token.create", "api_token", record.id, after=out.model_dump(mode="json"))
    return TokenCreated(token=token, api_token=out)


async def revoke_token(call: Call) -> None:
    token_id = call.id("token_id")
    record = await call.svc.api_tokens.get(token_id)
    if not _is_admin(call) and record.admin_id != call.who.account_id:
        raise NotFound(f"API token {token_id} does not exist")
    await call.svc.api_tokens.revoke(token_id)
    await call.audit("token.revoke", "api_token", token_id, before=token_out(record).model_dump(mode="json"))


def routes() -> list[ApiRoute]:
    a = Policy.ACCOUNT
    return [
        route("GET", "/api/v1/tokens", list_tokens, policy=a, tag="tokens",
              summary="List API tokens (yours; an admin: everyone's)", query=TokenQuery, response=TokenPage),
        route("POST", "/api/v1/tokens", create_token, policy=a, tag="tokens",
              summary="Create an API token; the token is shown once", body=TokenCreate, response=TokenCreated),
        route("DELETE", "/api/v1/tokens/{token_id}", revoke_token, policy=a, tag="tokens",
              summary="Revoke an API token"),
    ]  # fmt: skip


__all__ = ["routes", "token_out"]
