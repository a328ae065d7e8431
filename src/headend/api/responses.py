"""HTTP answers of the client APIs: JSON bodies (cached or not), streamed documents and short text errors.

These are the contract's bodies, not Headend's ``{"error": …}`` JSON: Xtream clients read
``user_info.auth`` (§1.3), players read a playlist or a status code. Every answer allows any origin (web
players, §1.3) and is ``private``: bodies name a line's channels, and playlists carry its credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Final

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from headend.api.cache import Encoded, accepts_gzip, gzip_bytes

JSON_TYPE: Final = "application/json"
M3U_TYPE: Final = "audio/x-mpegurl"
XML_TYPE: Final = "application/xml"
_SLICE: Final = 64 * 1024
_COMMON: Final = {"access-control-allow-origin": "*", "cache-control": "private, no-cache"}


def json_response(value: object) -> Response:
    """A small per-request JSON body (login payloads, failure bodies): always HTTP 200 (contract §1.3)."""
    return Response(orjson.dumps(value), media_type=JSON_TYPE, headers=_COMMON)


async def json_bytes_response(request: Request, body: bytes) -> Response:
    """Per-request JSON already encoded; gzipped on the fly (fast level, off the event loop) when it is big
    and the client accepts it."""
    if len(body) >= _SLICE and accepts_gzip(request.headers.get("accept-encoding", "")):
        packed = await asyncio.to_thread(gzip_bytes, body, 1)
        headers = _COMMON | {"content-encoding": "gzip", "vary": "Accept-Encoding"}
        return Response(packed, media_type=JSON_TYPE, headers=headers)
    return Response(body, media_type=JSON_TYPE, headers=_COMMON | {"vary": "Accept-Encoding"})


def encoded_response(request: Request, encoded: Encoded) -> Response:
    """A cached body: 304 when the client has it already, gzip when it accepts it."""
    headers = _COMMON | {"etag": encoded.etag, "vary": "Accept-Encoding"}
    if encoded.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    if encoded.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["content-encoding"] = "gzip"
        return Response(encoded.gzipped, media_type=JSON_TYPE, headers=headers)
    return Response(encoded.body, media_type=JSON_TYPE, headers=headers)


def streamed(request: Request, chunks: Iterable[bytes], media_type: str) -> Response:
    """A document sent while it is rendered (first byte before the last entry exists); HEAD gets the head only."""
    if request.method == "HEAD":
        return Response(None, media_type=media_type, headers=_COMMON)
    return StreamingResponse(_each(iter(chunks)), media_type=media_type, headers=_COMMON)


def streamed_encoded(request: Request, encoded: Encoded, media_type: str) -> Response:
    """A cached document sent in 64 KiB slices (gzip when accepted), with its ETag (304 when unchanged)."""
    headers = _COMMON | {"etag": encoded.etag, "vary": "Accept-Encoding"}
    if encoded.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    body = encoded.body
    if encoded.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["content-encoding"] = "gzip"
        body = encoded.gzipped
    if request.method == "HEAD":
        return Response(None, media_type=media_type, headers=headers)
    slices = (body[start : start + _SLICE] for start in range(0, len(body), _SLICE))
    return StreamingResponse(_each(slices), media_type=media_type, headers=headers)


async def _each(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Render on the event loop one chunk (~64 KiB) at a time, with the server's backpressure in between."""
    for chunk in chunks:
        yield chunk


def text_error(status: int, message: str) -> Response:
    """A short plain-text refusal for the playlist and guide endpoints (players show or log it)."""
    return PlainTextResponse(message + "\n", status_code=status, headers=_COMMON)


def _etags(value: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in value.split(",") if tag.strip()}


__all__ = [
    "encoded_response",
    "json_bytes_response",
    "json_response",
    "streamed",
    "streamed_encoded",
    "text_error",
]
