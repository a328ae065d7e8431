"""What every panel view shares: the caller, the audit record of a change, and small conversions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from starlette.requests import Request

from headend.http.control import client_ip, principal, services
from headend.http.policy import Policy
from headend.web.templating import allowed


async def audit(
    request: Request,
    action: str,
    object_type: str,
    object_id: object,
    *,
    before: object = None,
    after: object = None,
) -> None:
    """Write one audit entry for a change made through the panel (same log as the REST API)."""
    await services(request).audit.record(
        principal(request),
        action,
        object_type,
        None if object_id is None else str(object_id),
        before=snapshot(before),
        after=snapshot(after),
        ip=client_ip(request),
    )


def snapshot(value: object) -> dict[str, object] | None:
    """A JSON-able dict of a record (dataclass) or mapping, for the audit log."""
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items: Mapping[str, Any] = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, Mapping):
        items = value
    else:
        return {"value": plain(value)}
    return {str(k): plain(v) for k, v in items.items()}


def plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return snapshot(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def can(request: Request, policy: Policy) -> bool:
    """Whether the caller's role is one ``policy`` admits (to show or hide actions)."""
    return allowed(principal(request), policy)


__all__ = ["audit", "can", "plain", "snapshot"]
