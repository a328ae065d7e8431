"""Pre-encoded catalogue bodies: the JSON (orjson) and its gzip, built once per entitlement and catalog version.

A catalogue answer (``get_live_streams``, ``get_live_categories`` …) depends only on *which channels* a line
may see (its entitlement key: lines with the same bouquets share it), the action and its filter, and the
catalog version. :class:`ResponseCache` keeps the encoded bytes for those keys in an LRU bounded by entries
and bytes and drops everything when the catalog version moves on, so a 5,000-channel ``get_live_streams``
costs a dictionary lookup after the first request (``performance.md`` S8). Concurrent misses for one key
build it once. :class:`VersionedCache` is the same for other per-entitlement values (lineups, playlist
templates).

Per-line parts (``user_info``) are never stored here.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import orjson

MAX_ENTRIES: Final = 256
MAX_BYTES: Final = 256 * 1024 * 1024
GZIP_LEVEL: Final = 6
GZIP_MIN_BYTES: Final = 512  # smaller bodies are sent as they are
_THREAD_MIN_BYTES: Final = 64 * 1024  # compress bigger bodies off the event loop (zlib releases the GIL)

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Encoded:
    """A response body ready for the wire, with its gzip form (None when too small to be worth it)."""

    body: bytes
    gzipped: bytes | None
    etag: str  # a strong validator of ``body`` (quoted, as the ETag header wants it)


async def encode(value: object, *, gzip: bool = True) -> Encoded:
    """Encode ``value`` as JSON and gzip it; big bodies are compressed in a worker thread. ``gzip=False``
    for fragments that are spliced into a bigger body."""
    return await encode_bytes(orjson.dumps(value), gzip=gzip)


async def encode_bytes(body: bytes, *, gzip: bool = True) -> Encoded:
    gzipped: bytes | None = None
    if gzip and len(body) >= GZIP_MIN_BYTES:
        if len(body) >= _THREAD_MIN_BYTES:
            gzipped = await asyncio.to_thread(gzip_bytes, body)
        else:
            gzipped = gzip_bytes(body)
    return Encoded(body=body, gzipped=gzipped, etag=f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"')


def gzip_bytes(body: bytes, level: int = GZIP_LEVEL) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    return compressor.compress(body) + compressor.flush()


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header value admits gzip (``gzip``, ``x-gzip`` or ``*``, with q > 0)."""
    explicit: float | None = None
    wildcard: float | None = None
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        quality = _quality(params)
        name = coding.strip()
        if name in ("gzip", "x-gzip"):
            explicit = quality if explicit is None else max(explicit, quality)
        elif name == "*":
            wildcard = quality
    chosen = explicit if explicit is not None else wildcard
    return chosen is not None and chosen > 0


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


class VersionedCache(Generic[V]):
    """A bounded LRU of values that all belong to one catalog version, built once per key.

    ``key`` is any hashable that names the value within a version. A lookup with a newer version empties
    the cache; one with an older version (a request that read the version just before a change) is built
    but not stored. Concurrent misses for one key share one build. Bounded by entries and by ``size``
    (bytes, when ``size_of`` measures them).
    """

    def __init__(
        self, max_entries: int = MAX_ENTRIES, *, max_size: int | None = None, size_of: Callable[[V], int] | None = None
    ) -> None:
        self._max = max_entries
        self._max_size = max_size
        self._size_of = size_of
        self._size = 0
        self._version = -1
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._building: dict[tuple[int, Hashable], asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._size

    async def get(self, key: Hashable, version: int, build: Callable[[], Awaitable[V]]) -> V:
        if version > self._version:
            self._entries.clear()
            self._size = 0
            self._version = version
        if version == self._version:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[0]
        self.misses += 1
        return await self._build_once(key, version, build)

    async def _build_once(self, key: Hashable, version: int, build: Callable[[], Awaitable[V]]) -> V:
        pending = self._building.get((version, key))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._building[(version, key)] = future
        try:
            value = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._building[(version, key)]
        future.set_result(value)
        self._store(key, version, value)
        return value

    def _store(self, key: Hashable, version: int, value: V) -> None:
        if version != self._version:
            return
        size = self._size_of(value) if self._size_of is not None else 0
        if self._max_size is not None and size > self._max_size:
            return  # would evict everything else: serve it, do not keep it
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= old[1]
        self._entries[key] = (value, size)
        self._size += size
        while len(self._entries) > self._max or (self._max_size is not None and self._size > self._max_size):
            _, (_, dropped) = self._entries.popitem(last=False)
            self._size -= dropped


def encoded_size(value: Encoded) -> int:
    return len(value.body) + (len(value.gzipped) if value.gzipped is not None else 0)


class ResponseCache(VersionedCache[Encoded]):
    """Encoded response bodies, bounded by count and by bytes (body + gzip)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(max_entries, max_size=max_bytes, size_of=encoded_size)


__all__ = [
    "MAX_BYTES",
    "MAX_ENTRIES",
    "Encoded",
    "ResponseCache",
    "VersionedCache",
    "accepts_gzip",
    "encode",
    "encode_bytes",
    "encoded_size",
    "gzip_bytes",
]
