"""``get.php`` (M3U playlist, contract §1.11) and ``xmltv.php`` (XMLTV guide, §1.12), both streamed.

Players get a status code and a short text when they may not have the document: 401 for bad credentials
(unknown user and wrong password alike), 403 for an inactive line or a client outside its allow-lists,
400 for a ``type``/``output`` Headend does not serve, 403 for an output the line may not use.
Playlist URLs use the public base URL (:mod:`headend.api.endpoint`) and the ``/live/U/P/ID.ext`` form
(what XUI writes, served by the stream routes); the header's ``x-tvg-url`` points at ``xmltv.php``.

The playlist is built from per-entitlement escaped entries kept per catalog version (a line's request only
puts its URL prefix in, chunk by chunk, while the response streams). The guide is streamed by
:mod:`headend.api.epg` (channels, then programmes batch by batch, gzipped on the fly).
"""

from __future__ import annotations

from typing import Final, Literal

from starlette.requests import Request
from starlette.responses import Response

from headend.api import epg
from headend.api.context import Caller, XtreamContext
from headend.api.params import read_params
from headend.api.responses import M3U_TYPE, streamed, text_error
from headend.playlists import m3u

# get.php ``output`` values → the container of the live URLs (XUI and XStreamity aliases, §1.1).
OUTPUTS: Final[dict[str, m3u.Extension]] = {"ts": "ts", "mpegts": "ts", "m3u8": "m3u8", "hls": "m3u8"}
TYPES: Final[dict[str, m3u.PlaylistType]] = {"m3u_plus": "m3u_plus", "m3u": "m3u"}


async def playlist(ctx: XtreamContext, request: Request) -> Response:
    params = await read_params(request)
    if params is None:
        return text_error(400, "malformed form body")
    caller = await ctx.caller(request, params)
    if caller is None or not caller.active or not caller.allowed:
        return _refusal(caller)
    kind = TYPES.get(params.get("type", "").lower() or "m3u_plus")
    if kind is None:
        return text_error(400, "unsupported playlist type (use m3u or m3u_plus)")
    extension = _extension(params.get("output", ""), caller.outputs())
    if isinstance(extension, Response):
        return extension
    chunks = await ctx.playlist_template(caller.entitlement, await ctx.version(), kind)
    document = m3u.LivePlaylist(
        base_url=ctx.public(request).base_url,
        username=caller.found.line.username,
        password=caller.password,
        extension=extension,
        kind=kind,
    )
    return streamed(request, m3u.fill(chunks, document), M3U_TYPE)


async def guide(ctx: XtreamContext, request: Request) -> Response:
    params = await read_params(request)
    if params is None:
        return text_error(400, "malformed form body")
    caller = await ctx.caller(request, params)
    if caller is None or not caller.active or not caller.allowed:
        return _refusal(caller)
    return await epg.line_guide(ctx, request, caller)


def _refusal(caller: Caller | None) -> Response:
    if caller is None:
        return text_error(401, "invalid username or password")
    if not caller.active:
        return text_error(403, f"this line is {caller.status.lower()}")
    return text_error(403, "this line may not be used from this address or device")


def _extension(requested: str, allowed: tuple[str, ...]) -> m3u.Extension | Response:
    """The container of the playlist's URLs: the requested one if the line may use it, else refused; without
    a request ``ts`` when allowed, else the line's first allowed output (never one it may not use)."""
    if not allowed:
        return text_error(403, "this line has no output format Headend serves")
    if not requested:
        return "ts" if "ts" in allowed else _first(allowed)
    extension = OUTPUTS.get(requested.lower())
    if extension is None:
        return text_error(400, "unsupported output (use ts or m3u8)")
    if extension not in allowed:
        return text_error(403, f"output {extension} is not allowed for this line")
    return extension


def _first(allowed: tuple[str, ...]) -> Literal["ts", "m3u8"]:
    return "m3u8" if allowed[0] == "m3u8" else "ts"


__all__ = ["OUTPUTS", "TYPES", "guide", "playlist"]
