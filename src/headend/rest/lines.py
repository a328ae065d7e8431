"""REST: subscriber lines, scoped by role (:class:`headend.admin.resellers.Resellers` decides).

* reading: admins, operators and support see every line; a reseller only its own — another's id is 404;
* creating and renewing: through ``Resellers`` (a reseller pays credits, sells only its packages);
* changing and deleting: admins and operators any line, a reseller its own (and only its notes and
  allow-lists: limits, expiry and packages are what it sells);
* enabling, disabling and resetting the password: support too (resellers: own lines);
* banning: operators.

Disabling, banning, deleting a line or resetting its password also ends its live streams. Passwords are
answered once, when created or reset, and never audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, Field

from headend.admin.principal import Principal
from headend.catalog.subscriber_records import (
    ALLOWED_IPS_MAX,
    ALLOWED_USER_AGENTS_MAX,
    BAN_REASON_MAX,
    MAX_CONNECTIONS_MAX,
    NOTES_MAX,
    USER_AGENT_RULE_MAX,
    LinePatch,
    LineRecord,
)
from headend.catalog.subscribers import LIST_LIMIT_MAX
from headend.errors import Forbidden, NotFound
from headend.http.policy import Policy
from headend.rest.framework import ID_MAX, ApiRoute, Call, Id, In, Out, Page, SearchQuery, changes, keep, route
from headend.services import Services

USERNAME_PATTERN: Final = r"^[A-Za-z0-9._@-]{1,64}$"
PASSWORD_PATTERN: Final = r"^[A-Za-z0-9._~@-]{8,64}$"
RESELLER_FIELDS: Final = frozenset({"notes", "allowed_ips", "allowed_user_agents"})

Output = Literal["ts", "m3u8"]
Network = Annotated[str, Field(min_length=1, max_length=64)]
AgentRule = Annotated[str, Field(min_length=1, max_length=USER_AGENT_RULE_MAX)]


# -- models ------------------------------------------------------------------------------------------------------


class LineOut(Out):
    id: int
    username: str
    status: Literal["Active", "Banned", "Disabled", "Expired"]
    exp_at: datetime | None = Field(description="None: never expires.")
    enabled: bool
    banned: bool
    ban_reason: str
    is_trial: bool
    max_connections: int
    active_connections: int
    allowed_outputs: list[str]
    allowed_ips: list[str]
    allowed_user_agents: list[str]
    notes: str
    created_at: datetime
    last_seen_at: datetime | None
    package_ids: list[int]
    owner_id: int | None = Field(description="The reseller account that sold it; None: the operator's own.")


class LinePage(Page[LineOut]):
    pass


class LineQuery(SearchQuery):
    enabled: bool | None = Field(None, description="Only enabled (true) or disabled (false) lines.")


class LineCreate(In):
    package_id: Id
    username: str | None = Field(None, pattern=USERNAME_PATTERN, description="None: generated.")
    password: str | None = Field(None, pattern=PASSWORD_PATTERN, description="None: generated.")
    max_connections: int | None = Field(None, ge=1, le=MAX_CONNECTIONS_MAX, description="None: the package's.")
    notes: str = Field("", max_length=NOTES_MAX)


class LineCreated(Out):
    line: LineOut
    password: str = Field(description="Shown this once.")


class LineUpdate(In):
    """Resellers may change only ``notes``, ``allowed_ips`` and ``allowed_user_agents``."""

    notes: str = keep(max_length=NOTES_MAX)
    allowed_ips: list[Network] = keep(max_length=ALLOWED_IPS_MAX)
    allowed_user_agents: list[AgentRule] = keep(max_length=ALLOWED_USER_AGENTS_MAX)
    username: str = keep(pattern=USERNAME_PATTERN)
    exp_at: AwareDatetime | None = keep(description="None: never expires.")
    max_connections: int = keep(ge=1, le=MAX_CONNECTIONS_MAX)
    allowed_outputs: list[Output] = keep(min_length=1, max_length=4)
    is_trial: bool = keep()
    package_ids: list[Id] = keep(max_length=100)
    owner_id: int | None = keep(ge=1, le=ID_MAX, description="The reseller that owns it; None: nobody.")


class Renewal(In):
    package_id: Id | None = Field(None, description="None: the line's (first or longest) package.")


class Ban(In):
    reason: str = Field("", max_length=BAN_REASON_MAX)


class NewPassword(Out):
    password: str = Field(description="Shown this once.")


def line_out(record: LineRecord, svc: Services) -> LineOut:
    return LineOut(
        id=record.id, username=record.username, status=record.status(datetime.now(UTC)).value,
        exp_at=record.exp_at, enabled=record.enabled, banned=record.banned, ban_reason=record.ban_reason,
        is_trial=record.is_trial, max_connections=record.max_connections,
        active_connections=svc.sessions.active_count(record.id), allowed_outputs=list(record.allowed_outputs),
        allowed_ips=list(record.allowed_ips), allowed_user_agents=list(record.allowed_user_agents),
        notes=record.notes, created_at=record.created_at, last_seen_at=record.last_seen_at,
        package_ids=list(record.package_ids), owner_id=record.owner_id,
    )  # fmt: skip


def _dump(out: LineOut) -> dict[str, object]:
    return out.model_dump(mode="json", exclude={"active_connections", "last_seen_at", "status"})


async def readable(call: Call, line_id: int) -> LineRecord:
    """The line if the caller may read it (NotFound otherwise: a reseller must not learn another's ids)."""
    return await call.svc.resellers.get_line(call.who, line_id)


async def manageable(call: Call, line_id: int) -> LineRecord:
    """The line if the caller may change it (admins, operators; a reseller its own); NotFound otherwise."""
    line = await call.svc.subscribers.get_line(line_id)
    if not call.svc.resellers.can_manage(call.who, line):
        raise NotFound(f"line {line_id} does not exist")
    return line


async def owned_line_ids(svc: Services, who: Principal) -> set[int] | None:
    """The ids of a reseller's lines (None: the caller sees every line)."""
    if not who.is_reseller:
        return None
    return {line.id for line in await svc.resellers.list_lines(who, limit=LIST_LIMIT_MAX)}


# -- read --------------------------------------------------------------------------------------------------------


async def list_lines(call: Call) -> LinePage:
    query = call.query(LineQuery)
    rows = await call.svc.resellers.list_lines(call.who, q=query.q, limit=LIST_LIMIT_MAX)
    if query.enabled is not None:
        rows = [row for row in rows if row.enabled is query.enabled]
    return LinePage.of([line_out(row, call.svc) for row in rows], query)


async def get_line(call: Call) -> LineOut:
    return line_out(await readable(call, call.id("line_id")), call.svc)


# -- create, change, delete --------------------------------------------------------------------------------------


async def create_line(call: Call) -> LineCreated:
    data = call.body(LineCreate)
    record, password = await call.svc.resellers.create_line(
        call.who, package_id=data.package_id, username=data.username, password=data.password,
        max_connections=data.max_connections, notes=data.notes,
    )  # fmt: skip
    out = line_out(record, call.svc)
    await call.audit("line.create", "line", record.id, after=_dump(out))
    return LineCreated(line=out, password=password)


async def update_line(call: Call) -> LineOut:
    line_id = call.id("line_id")
    before = await manageable(call, line_id)
    given = changes(call.body(LineUpdate))
    if call.who.is_reseller and set(given) - RESELLER_FIELDS:
        raise Forbidden("a reseller may change only notes, allowed_ips and allowed_user_agents")
    packages = given.pop("package_ids", None)
    for name in ("allowed_ips", "allowed_user_agents", "allowed_outputs"):
        if name in given:
            given[name] = tuple(given[name])
    store = call.svc.subscribers
    record = await store.update_line(line_id, LinePatch(**given))
    if packages is not None:
        record = await store.assign_packages(line_id, packages)
    out = line_out(record, call.svc)
    await call.audit("line.update", "line", line_id, before=_dump(line_out(before, call.svc)), after=_dump(out))
    return out


async def delete_line(call: Call) -> None:
    line_id = call.id("line_id")
    before = await manageable(call, line_id)
    await call.svc.subscribers.delete_line(line_id)
    ended = call.svc.sessions.end_line(line_id)
    await call.audit(
        "line.delete", "line", line_id, before=_dump(line_out(before, call.svc)), after={"streams_ended": ended}
    )


async def renew_line(call: Call) -> LineOut:
    line_id = call.id("line_id")
    before = await manageable(call, line_id)
    record = await call.svc.resellers.renew_line(call.who, line_id, call.body(Renewal).package_id)
    out = line_out(record, call.svc)
    await call.audit("line.renew", "line", line_id, before=_dump(line_out(before, call.svc)), after=_dump(out))
    return out


# -- actions (support too) ---------------------------------------------------------------------------------------


async def enable_line(call: Call) -> LineOut:
    return await _switch(call, "line.enable", enabled=True)


async def disable_line(call: Call) -> LineOut:
    return await _switch(call, "line.disable", enabled=False)


async def _switch(call: Call, action: str, *, enabled: bool) -> LineOut:
    line_id = call.id("line_id")
    before = await readable(call, line_id)
    record = await call.svc.subscribers.set_enabled(line_id, enabled)
    ended = 0 if enabled else call.svc.sessions.end_line(line_id)
    out = line_out(record, call.svc)
    after = _dump(out) | ({"streams_ended": ended} if ended else {})
    await call.audit(action, "line", line_id, before=_dump(line_out(before, call.svc)), after=after)
    return out


async def reset_password(call: Call) -> NewPassword:
    line_id = call.id("line_id")
    await readable(call, line_id)
    password = await call.svc.subscribers.reset_password(line_id)
    ended = call.svc.sessions.end_line(line_id)
    await call.audit("line.reset_password", "line", line_id, after={"streams_ended": ended})
    return NewPassword(password=password)


async def ban_line(call: Call) -> LineOut:
    line_id = call.id("line_id")
    before = line_out(await call.svc.subscribers.get_line(line_id), call.svc)
    record = await call.svc.subscribers.ban(line_id, call.body(Ban).reason)
    ended = call.svc.sessions.end_line(line_id)
    out = line_out(record, call.svc)
    await call.audit("line.ban", "line", line_id, before=_dump(before), after=_dump(out) | {"streams_ended": ended})
    return out


async def unban_line(call: Call) -> LineOut:
    line_id = call.id("line_id")
    before = line_out(await call.svc.subscribers.get_line(line_id), call.svc)
    out = line_out(await call.svc.subscribers.unban(line_id), call.svc)
    await call.audit("line.unban", "line", line_id, before=_dump(before), after=_dump(out))
    return out


def routes() -> list[ApiRoute]:
    a, r, o = Policy.ACCOUNT, Policy.RESELLER, Policy.OPERATOR
    base, one = "/api/v1/lines", "/api/v1/lines/{line_id}"
    return [
        route("GET", base, list_lines, policy=a, tag="lines", summary="List lines (a reseller: its own)",
              query=LineQuery, response=LinePage),
        route("POST", base, create_line, policy=r, tag="lines",
              summary="Create a line from a package (a reseller pays its credit cost); the password is shown once",
              body=LineCreate, response=LineCreated),
        route("GET", one, get_line, policy=a, tag="lines", summary="Get a line", response=LineOut),
        route("PATCH", one, update_line, policy=r, tag="lines", summary="Change a line", body=LineUpdate,
              response=LineOut),
        route("DELETE", one, delete_line, policy=r, tag="lines", summary="Delete a line (its streams end)"),
        route("POST", one + "/renew", renew_line, policy=r, tag="lines",
              summary="Extend a line by a package's duration (a reseller pays its credit cost)", body=Renewal,
              response=LineOut, status=200),
        route("POST", one + "/enable", enable_line, policy=a, tag="lines", summary="Enable a line",
              response=LineOut),
        route("POST", one + "/disable", disable_line, policy=a, tag="lines",
              summary="Disable a line (its streams end)", response=LineOut),
        route("POST", one + "/reset-password", reset_password, policy=a, tag="lines",
              summary="Give a line a new password, shown once (its streams end)", response=NewPassword),
        route("POST", one + "/ban", ban_line, policy=o, tag="lines", summary="Ban a line (its streams end)",
              body=Ban, response=LineOut, status=200),
        route("POST", one + "/unban", unban_line, policy=o, tag="lines", summary="Lift a line's ban",
              response=LineOut),
    ]  # fmt: skip


__all__ = ["line_out", "owned_line_ids", "readable", "routes"]
