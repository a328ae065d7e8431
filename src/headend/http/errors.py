"""The one place where Headend's exceptions become HTTP answers.

Both the ASGI control plane (Starlette exception handlers) and the native media routes use
:func:`status_for`, so a given error always gets the same status code and body shape everywhere.
"""

from __future__ import annotations

import math

from headend import errors

_STATUS: tuple[tuple[type[errors.HeadendError], int], ...] = (
    (errors.ConfigError, 400),
    (errors.ValidationError, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.AuthFailed, 401),
    (errors.NotAcceptable, 406),
    (errors.TooManyConnections, 403),
    (errors.TooManyRequests, 429),
    (errors.Forbidden, 403),
    (errors.ChannelUnavailable, 503),
    (errors.IngestError, 503),
    (errors.DatabaseError, 503),
)


def status_for(exc: errors.HeadendError) -> int:
    """HTTP status for a Headend error (500 for an error class nobody mapped)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def headers_for(exc: errors.HeadendError) -> dict[str, str]:
    """Headers that belong with the answer: how to authenticate (401), when to retry (429)."""
    if isinstance(exc, errors.AuthFailed):
        return {"www-authenticate": 'Bearer realm="headend"'}
    if isinstance(exc, errors.TooManyRequests):
        return {"retry-after": str(max(1, math.ceil(exc.retry_after)))}
    return {}


def body_for(exc: errors.HeadendError) -> dict[str, object]:
    """The JSON error body: ``{"error": {"type": ..., "message": ..., "field": ...}}``."""
    detail: dict[str, object] = {"type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, errors.ValidationError) and exc.field:
        detail["field"] = exc.field
    return {"error": detail}
