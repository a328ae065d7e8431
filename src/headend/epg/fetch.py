"""Getting an EPG document onto local disk: streamed downloads and the managed directory of EPG files.

Downloads (:func:`fetch_to_file`) go through httpx with ``trust_env=False`` (no ``.netrc``, no proxy
variables: nothing of ours is ever sent), http(s) only, at most :data:`MAX_REDIRECTS` redirects (httpx drops
an ``Authorization`` taken from the URL when a redirect leaves its origin), a byte cap and a no-data
timeout. The body is saved as sent (``Content-Encoding: gzip`` stays gzip: the reader recognises it and
applies its decompression caps), into a ``.part`` file renamed when complete and deleted on any failure.

File sources live in the managed directory ``settings.epg_dir``: :func:`source_path` resolves a source's
location there and refuses anything that lands outside; :func:`store_upload` copies a file in atomically.
Every error is a :class:`~headend.errors.HeadendError` whose message has the URL's credentials redacted.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import urlsplit

import httpx

from headend import __version__
from headend.errors import HeadendError, NotFound, ValidationError
from headend.redact import redact
from headend.settings import Settings

MAX_REDIRECTS: Final = 5
CHUNK: Final = 256 * 1024
MIB: Final = 1024 * 1024
UPLOAD_NAME_MAX: Final = 120
DOWNLOADS: Final = ".downloads"  # under epg_dir; a location may not start with "." so it never names these

Progress = Callable[[int], None]


class FetchError(ValidationError):
    """An EPG source's location could not be read (network error, HTTP status, timeout, cap)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message), field="location")


def check_url(url: str) -> None:
    """Refuse anything but an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"EPG URL must be http(s): {redact(url)}", field="location")


async def fetch_to_file(
    url: str, dest_dir: Path, *, max_bytes: int, timeout_s: float, progress: Progress | None = None
) -> Path:
    """Download ``url`` into a new file in ``dest_dir`` and return its path (the caller deletes it)."""
    check_url(url)
    final, part = _new_download(dest_dir)
    try:
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            trust_env=False,
            headers={"User-Agent": f"headend/{__version__}", "Accept-Encoding": "gzip"},
        ) as client:
            await _download(client, url, part, max_bytes, timeout_s, progress)
        part.replace(final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return final


def _new_download(dest_dir: Path) -> tuple[Path, Path]:
    """A fresh download's final name and its ``.part`` name in ``dest_dir`` (created if missing)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / f"download-{secrets.token_hex(8)}"
    return final, final.with_name(final.name + ".part")


async def _download(
    client: httpx.AsyncClient, url: str, part: Path, max_bytes: int, timeout_s: float, progress: Progress | None
) -> None:
    shown = redact(url)
    try:
        async with client.stream("GET", url) as response:
            _check_response(response, shown, max_bytes)
            received = 0
            with part.open("wb") as out:
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if received > max_bytes:
                        raise FetchError(f"{shown} is larger than the {max_bytes // MIB} MiB download limit")
                    out.write(chunk)
                    if progress is not None:
                        progress(received)
    except httpx.TimeoutException:
        raise FetchError(f"{shown}: no data for {timeout_s:g} s") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"{shown}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.UnsupportedProtocol:
        raise FetchError(f"{shown}: redirected to a URL that is not http(s)") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{shown}: {type(exc).__name__}: {exc}") from None
    except OSError as exc:  # the local file
        raise FetchError(f"{shown}: could not save the download: {exc.strerror or exc}") from None


def _check_response(response: httpx.Response, shown: str, max_bytes: int) -> None:
    if response.status_code != 200:
        raise FetchError(f"{shown} answered HTTP {response.status_code}")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", ""):
        raise FetchError(f"{shown}: unsupported Content-Encoding {encoding[:40]!r}")
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{shown} is {int(length)} bytes, more than the {max_bytes // MIB} MiB download limit")


# -- the managed directory --------------------------------------------------------------------------------------


def source_path(settings: Settings, location: str) -> Path:
    """The file of a file source: ``location`` inside ``settings.epg_dir`` (anything resolving outside is refused)."""
    base = settings.epg_dir.resolve()
    path = (base / location).resolve()
    if path == base or not path.is_relative_to(base) or path.relative_to(base).parts[0].startswith("."):
        raise ValidationError(f"EPG file {location!r} is not inside the EPG directory", field="location")
    if not path.is_file():
        raise NotFound(f"EPG file {location!r} does not exist in {base}")
    return path


def upload_name(name: str) -> str:
    """A safe plain file name for ``name``: letters, digits, ``.``, ``-`` and ``_``; never hidden, never empty."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name.replace("\\", "/")).name).lstrip(".-")
    return base[-UPLOAD_NAME_MAX:].lstrip(".-") or "guide.xml"


def store_upload(settings: Settings, src: Path | BinaryIO, name: str, *, replace: bool = False) -> str:
    """Copy ``src`` into the managed directory under (a safe form of) ``name``; return the location name.

    The copy is written to a temporary file and then linked in atomically. An existing file of that name is
    kept (the new one gets ``-2``, ``-3``… before its extension) unless ``replace``. Larger than
    ``epg.max_download_mib`` → :class:`ValidationError`.
    """
    base = settings.epg_dir
    base.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=base, prefix=".upload-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy(src, out, settings.epg.max_download_mib * MIB)
        return _link_in(tmp, base, upload_name(name), replace=replace)
    finally:
        tmp.unlink(missing_ok=True)


def _copy(src: Path | BinaryIO, out: BinaryIO, max_bytes: int) -> None:
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(src.open("rb")) if isinstance(src, Path) else src
        except OSError as exc:
            raise NotFound(f"cannot read {src}: {exc.strerror or exc}") from None
        copied = 0
        while chunk := stream.read(CHUNK):
            copied += len(chunk)
            if copied > max_bytes:
                raise ValidationError(f"EPG file is larger than {max_bytes // MIB} MiB", field="file")
            out.write(chunk)


def _link_in(tmp: Path, base: Path, name: str, *, replace: bool) -> str:
    if replace:
        tmp.replace(base / name)
        return name
    stem, dot, ext = name.partition(".")
    for n in range(1, 1000):
        candidate = name if n == 1 else f"{stem}-{n}{dot}{ext}"
        try:
            os.link(tmp, base / candidate)
        except FileExistsError:
            continue
        return candidate
    raise HeadendError(f"too many EPG files named like {name!r}")


__all__ = [
    "DOWNLOADS",
    "MAX_REDIRECTS",
    "FetchError",
    "check_url",
    "fetch_to_file",
    "source_path",
    "store_upload",
    "upload_name",
]
