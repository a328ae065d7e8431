"""The parameters of an Xtream request: the query string, merged with a form body when the client POSTs.

IPTV Smarters POSTs ``username``/``password``/``action`` as ``application/x-www-form-urlencoded`` (contract
§1.1); form values win over query values of the same name. Every value is a string; nothing here trusts
it (lengths and shapes are checked where a value is used).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_FORM_FIELDS: Final = 64
_FORM_TYPE: Final = "application/x-www-form-urlencoded"


async def read_params(request: Request) -> dict[str, str] | None:
    """All parameters by name (the last value of a repeated one), or None when the form body is malformed."""
    params = dict(request.query_params)
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != _FORM_TYPE:
        return params
    body = await request.body()
    try:
        fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        return None
    params.update(fields)
    return params


__all__ = ["MAX_FORM_FIELDS", "read_params"]
