"""``player_api.php`` and ``panel_api.php``: the Xtream Codes JSON API (``xtream-contract.md`` §1.1 to §1.10).

Answers are the contract's bodies, never Headend's ``{"error": …}`` JSON, and always HTTP 200 for JSON:

* bad credentials (unknown user or wrong password, one answer), a malformed request, or a client outside
  the line's allow-lists → ``{"user_info":{"auth":0}}`` (§1.3);
* an inactive line (Expired, Disabled, Banned): the login actions answer the full login payload with
  ``auth`` 0 and its ``status``; every other action → ``{"user_info":{"auth":0,"status":…}}``;
* no action, an unknown action and ``get_account_info`` → the login payload (§1.1);
* catalogue actions are served from :class:`~headend.api.cache.ResponseCache` (gzip, ETag);
* the EPG actions (``get_short_epg``, ``get_simple_data_table`` and its misspelling) are
  :mod:`headend.api.epg`'s; a stream the line may not see lists nothing.

Only a line's entitled, enabled channels (and the categories holding them) ever appear.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from headend.api import epg
from headend.api import xtream_json as xj
from headend.api.cache import Encoded, encode
from headend.api.context import Caller, XtreamContext, entitlement_key
from headend.api.lineup import Lineup
from headend.api.params import read_params
from headend.api.responses import encoded_response, json_bytes_response, json_response

_ID_DIGITS: Final = 10
_EMPTY_LIST: Final = b"[]"

# Actions with nothing to list until VOD and series exist: their contract shapes.
_EMPTY_ANSWERS: Final[dict[str, object]] = {
    "get_vod_categories": [],
    "get_vod_streams": [],
    "get_series_categories": [],
    "get_series": [],
    "get_vod_info": xj.vod_info_empty(),
    "get_series_info": xj.series_info_empty(),
}

Handler = Callable[[XtreamContext, Request, Caller, dict[str, str]], Awaitable[Response]]


async def player_api(ctx: XtreamContext, request: Request) -> Response:
    params = await read_params(request)
    caller = None if params is None else await ctx.caller(request, params)
    if params is None or caller is None or not caller.allowed:
        return json_response(xj.auth_failure())
    action = params.get("action", "")
    handler = _HANDLERS.get(action)
    if handler is None and action not in _EMPTY_ANSWERS:
        return _login(ctx, request, caller)  # no action, get_account_info, or one we do not know
    if not caller.active:
        return json_response(xj.auth_failure(caller.status))
    if handler is None:
        return json_response(_EMPTY_ANSWERS[action])
    return await handler(ctx, request, caller, params)


async def panel_api(ctx: XtreamContext, request: Request) -> Response:
    """The legacy all-in-one answer: login payload + ``categories`` + ``available_channels`` (§1.1).

    The per-line part is encoded per request; the catalogue parts come from the cache and are spliced in.
    """
    params = await read_params(request)
    caller = None if params is None else await ctx.caller(request, params)
    if params is None or caller is None or not caller.allowed:
        return json_response(xj.auth_failure())
    if not caller.active:
        return _login(ctx, request, caller)
    version = await ctx.version()
    categories = await _cached(ctx, "panel_categories", caller, version, None, fragment=True)
    channels = await _cached(ctx, "available_channels", caller, version, None, fragment=True)
    login = xj.login(ctx.line_info(caller), ctx.server_info(request))
    body = b"".join(
        (
            b'{"user_info":',
            xj.dumps(login["user_info"]),
            b',"server_info":',
            xj.dumps(login["server_info"]),
            b',"categories":',
            categories.body,
            b',"available_channels":',
            channels.body,
            b"}",
        )
    )
    return await json_bytes_response(request, body)


def _login(ctx: XtreamContext, request: Request, caller: Caller) -> Response:
    return json_response(xj.login(ctx.line_info(caller), ctx.server_info(request)))


# -- catalogue actions ---------------------------------------------------------------------------------------------


async def _live_categories(ctx: XtreamContext, request: Request, caller: Caller, params: dict[str, str]) -> Response:
    version = await ctx.version()
    return encoded_response(request, await _cached(ctx, "get_live_categories", caller, version, None))


async def _live_streams(ctx: XtreamContext, request: Request, caller: Caller, params: dict[str, str]) -> Response:
    raw = params.get("category_id", "").strip()
    if not raw:
        category = None
    elif raw.isdecimal() and raw.isascii() and len(raw) <= _ID_DIGITS:
        category = int(raw)
    else:  # no category has that id (XUI: intval() → 0 → nothing)
        return await json_bytes_response(request, _EMPTY_LIST)
    version = await ctx.version()
    return encoded_response(request, await _cached(ctx, "get_live_streams", caller, version, category))


_HANDLERS: Final[dict[str, Handler]] = {
    "get_live_categories": _live_categories,
    "get_live_streams": _live_streams,
    "get_short_epg": epg.short_epg,
    "get_simple_data_table": epg.data_table,
    "get_simple_date_table": epg.data_table,  # iptvnator's misspelling (§1.1)
}


# What each cached body is made of: (the lineup, the category filter) → the JSON value.
_BODIES: Final[dict[str, Callable[[Lineup, int | None], object]]] = {
    "get_live_categories": lambda lineup, _: xj.live_categories(lineup.categories),
    "get_live_streams": lambda lineup, category: xj.live_streams(
        lineup.streams if category is None else lineup.in_category(category)
    ),
    "panel_categories": lambda lineup, _: xj.panel_categories(lineup.categories),
    "available_channels": lambda lineup, _: xj.available_channels(lineup.streams),
}


async def _cached(
    ctx: XtreamContext, what: str, caller: Caller, version: int, category: int | None, *, fragment: bool = False
) -> Encoded:
    """The encoded body of ``what`` for the caller's entitlement at ``version`` (built on a miss); a
    ``fragment`` is spliced into a bigger body, so it is not gzipped on its own."""
    entitlement = caller.entitlement

    async def build() -> Encoded:
        lineup = await ctx.lineup(entitlement, version)
        return await encode(_BODIES[what](lineup, category), gzip=not fragment)

    return await ctx.cache.get((what, entitlement_key(entitlement), category), version, build)


__all__ = ["panel_api", "player_api"]
