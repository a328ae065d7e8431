"""The decompressed bytes of an XMLTV file (gzip, xz or plain, told apart by magic bytes), with hard caps.

A guide comes from someone else's server, so it may be a compression bomb: ~1 MB of gzip that inflates to
1 GiB. :func:`open_document` returns a read-only stream that decompresses incrementally, never more than
:data:`MAX_OUTPUT_PER_CALL` bytes per call (``zlib``'s and ``lzma``'s ``max_length``), and raises
:class:`~headend.errors.ValidationError` (``field="xmltv"``) as soon as

* the file is larger than ``limits.max_compressed_bytes``,
* more than ``limits.max_xml_bytes`` were decompressed,
* more than :data:`RATIO_GRACE_BYTES` are out and decompressed/compressed exceeds ``limits.max_compression_ratio``,
* the compressed data is corrupt or truncated, or an xz stream needs more than :data:`XZ_MEMLIMIT` to decode.

Concatenated gzip members / xz streams (and zero padding between them) are read like ``gzip``/``xz`` do.
"""

from __future__ import annotations

import io
import lzma
import os
import zlib
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from headend.epg.entries import ReadLimits, ReadStats
from headend.errors import ValidationError

GZIP_MAGIC: Final = b"\x1f\x8b"
XZ_MAGIC: Final = b"\xfd7zXZ\x00"
READ_CHUNK: Final = 64 * 1024  # compressed bytes read from the file at a time
MAX_OUTPUT_PER_CALL: Final = 1024 * 1024
RATIO_GRACE_BYTES: Final = 16 * 1024 * 1024  # small files may compress very well
XZ_MEMLIMIT: Final = 128 * 1024 * 1024  # xz -9 needs 65 MiB; a custom 1.5 GiB dictionary is refused
_MIB: Final = 1024 * 1024
_UNSUPPORTED: Final = {
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, field="xmltv")


class _Codec(Protocol):
    def push(self, data: bytes) -> None: ...
    def pull(self, max_length: int) -> bytes: ...
    @property
    def complete(self) -> bool: ...


class _Members:
    """Shared logic for formats made of concatenated members (gzip) or streams (xz), optionally zero-padded."""

    name = ""
    magic = b""

    def __init__(self) -> None:
        self._input = b""
        self._started = False  # a member is being decoded
        self._seen_one = False

    def push(self, data: bytes) -> None:
        self._input += data

    @property
    def complete(self) -> bool:
        """At least one member ended and no data of another one is pending."""
        return self._seen_one and not self._started and not self._input

    def _next_member(self) -> bool:
        """Start decoding the next member if its first byte is here; False when more input is needed."""
        if self._seen_one:
            self._input = self._input.lstrip(b"\0")
        if not self._input:
            return False
        if not self.magic.startswith(self._input[: len(self.magic)]):
            raise _refuse(f"the {self.name} data is corrupt (unexpected bytes after the end of a {self.name} stream)")
        self._start()
        self._started = True
        return True

    def _member_ended(self, rest: bytes) -> None:
        self._started = False
        self._seen_one = True
        self._input = rest + self._input

    def pull(self, max_length: int) -> bytes:
        """Up to ``max_length`` decompressed bytes; ``b""`` when more input is needed (or all is done)."""
        while self._started or self._next_member():
            out = self._decode(max_length)
            if out or self._started:
                return out
        return b""

    def _start(self) -> None:
        raise NotImplementedError

    def _decode(self, max_length: int) -> bytes:
        raise NotImplementedError


class _Gzip(_Members):
    name = "gzip"
    magic = GZIP_MAGIC

    def _start(self) -> None:
        self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _decode(self, max_length: int) -> bytes:
        data, self._input = self._input, b""
        try:
            out = self._decoder.decompress(data, max_length)
        except zlib.error as exc:
            raise _refuse(f"the gzip data is corrupt ({exc})") from None
        if self._decoder.eof:
            self._member_ended(self._decoder.unused_data)
        else:
            self._input = self._decoder.unconsumed_tail
        return out


class _Xz(_Members):
    name = "xz"
    magic = XZ_MAGIC

    def _start(self) -> None:
        self._decoder = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)

    def _decode(self, max_length: int) -> bytes:
        data, self._input = self._input, b""
        if not data and self._decoder.needs_input:
            return b""
        try:
            out = self._decoder.decompress(data, max_length)
        except lzma.LZMAError as exc:
            raise _refuse(f"the xz data is corrupt or needs too much memory to decode ({exc})") from None
        if self._decoder.eof:
            self._member_ended(self._decoder.unused_data)
        return out


class _Plain:
    def __init__(self) -> None:
        self._input = b""

    def push(self, data: bytes) -> None:
        self._input += data

    def pull(self, max_length: int) -> bytes:
        out, self._input = self._input[:max_length], self._input[max_length:]
        return out

    @property
    def complete(self) -> bool:
        return True


class _Document(io.RawIOBase):
    """Raw stream of decompressed bytes; every byte out is counted against the caps."""

    def __init__(self, file: BinaryIO, codec: _Codec, compressed: bool, limits: ReadLimits, stats: ReadStats) -> None:
        super().__init__()
        self._file = file
        self._codec = codec
        self._compressed = compressed
        self._limits = limits
        self._stats = stats

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._next(min(len(buffer), MAX_OUTPUT_PER_CALL))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()

    def _next(self, size: int) -> bytes:
        while True:
            out = self._codec.pull(size)
            if out:
                self._count(len(out))
                return out
            chunk = self._file.read(READ_CHUNK)
            if not chunk:
                if not self._codec.complete:
                    raise _refuse("the compressed XMLTV file is truncated")
                return b""
            self._stats.compressed_bytes += len(chunk)
            if self._stats.compressed_bytes > self._limits.max_compressed_bytes:
                raise _refuse(f"the XMLTV file is larger than {_size(self._limits.max_compressed_bytes)}")
            self._codec.push(chunk)

    def _count(self, produced: int) -> None:
        stats, limits = self._stats, self._limits
        stats.xml_bytes += produced
        if stats.xml_bytes > limits.max_xml_bytes:
            raise _refuse(f"the XMLTV document is larger than {_size(limits.max_xml_bytes)} once decompressed")
        if (
            self._compressed
            and stats.xml_bytes > RATIO_GRACE_BYTES
            and stats.xml_bytes > limits.max_compression_ratio * max(stats.compressed_bytes, 1)
        ):
            raise _refuse(
                f"the XMLTV file decompresses more than {limits.max_compression_ratio} times its size "
                "(a compression bomb?)"
            )


def _size(value: int) -> str:
    return f"{value / _MIB:g} MiB" if value >= _MIB else f"{value} bytes"


def _codec_for(head: bytes) -> tuple[_Codec, bool]:
    if head.startswith(GZIP_MAGIC):
        return _Gzip(), True
    if head.startswith(XZ_MAGIC):
        return _Xz(), True
    for magic, what in _UNSUPPORTED.items():
        if head.startswith(magic):
            raise _refuse(f"the XMLTV file is {what}; only gzip, xz or plain XML are supported")
    return _Plain(), False


def open_document(path: Path, limits: ReadLimits, stats: ReadStats) -> BinaryIO:
    """The decompressed bytes of the XMLTV file at ``path`` (gzip, xz or plain, by magic, never by file name).

    Reading raises :class:`ValidationError` (``field="xmltv"``) for the caps described in the module docstring;
    ``stats.compressed_bytes`` and ``stats.xml_bytes`` grow as the stream is read. Close the stream when done.
    """
    file = path.open("rb")
    try:
        size = os.fstat(file.fileno()).st_size
        if size > limits.max_compressed_bytes:
            raise _refuse(f"the XMLTV file is larger than {_size(limits.max_compressed_bytes)}")
        codec, compressed = _codec_for(file.read(8))
        file.seek(0)
    except BaseException:
        file.close()
        raise
    document = _Document(file, codec, compressed, limits, stats)
    return io.BufferedReader(document, buffer_size=READ_CHUNK)


__all__ = ["open_document"]
