"""MPEG-TS packet helpers: sync, PSI (PAT/PMT), PES timestamps and random access points.

What this module promises:

- Pure functions on ``bytes``; no state, no I/O. Malformed input never raises: a helper that cannot make
  sense of a packet returns ``None``, ``False`` or ``-1``.
- Only headers are inspected. Payload bytes are looked at in exactly one place, :func:`is_keyframe`, and only
  in the first packet of a video PES (a regular-expression search over at most 184 bytes).
- PSI sections are accepted only when their CRC-32 checks out and they are "current" tables. Sections that
  span more than one packet are not reassembled (``None``): every single-program stream made by ffmpeg,
  and nearly every other one, fits its PAT and PMT into one packet each.
- Timestamps are the raw 33-bit, 90 kHz values; :func:`pts_delta` does wrap-aware arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

PACKET_SIZE: Final = 188
SYNC_BYTE: Final = 0x47
PAT_PID: Final = 0x0000
NULL_PID: Final = 0x1FFF
PTS_HZ: Final = 90_000
PTS_WRAP: Final = 1 << 33

ByteString = bytes | bytearray

VIDEO_STREAM_TYPES: Final[dict[int, str]] = {
    0x01: "mpeg1video",
    0x02: "mpeg2video",
    0x10: "mpeg4",
    0x1B: "h264",
    0x24: "hevc",
}
AUDIO_STREAM_TYPES: Final[dict[int, str]] = {
    0x03: "mp2",
    0x04: "mp2",
    0x0F: "aac",
    0x11: "aac_latm",
    0x1C: "aac",
    0x81: "ac3",
    0x87: "eac3",
}
# stream_type 0x06 (PES private data) is audio when a descriptor says so.
_PRIVATE_AUDIO_DESCRIPTORS: Final[dict[int, str]] = {0x6A: "ac3", 0x7A: "eac3", 0x7B: "dts", 0x7C: "aac"}
_REGISTERED_AUDIO: Final[dict[bytes, str]] = {b"Opus": "opus", b"AC-3": "ac3", b"EAC3": "eac3", b"DTS1": "dts"}

# Stream ids whose PES packets carry no optional header (and so no PTS).
_NO_PES_HEADER: Final = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})

# Start code followed by a random-access unit, per codec: H.264 IDR (5) / SPS (7) with any nal_ref_idc;
# HEVC IRAP (16-21) / VPS (32); MPEG-1/2 sequence or GOP header; MPEG-4 part 2 VOS/VOL/GOV or an I-VOP.
_RAP_PATTERNS: Final[dict[str, re.Pattern[bytes]]] = {
    "h264": re.compile(rb"\x00\x00\x01[\x05\x07\x25\x27\x45\x47\x65\x67]"),
    "hevc": re.compile(rb"\x00\x00\x01[\x20-\x2b\x40\x41]"),
    "mpeg1video": re.compile(rb"\x00\x00\x01[\xb3\xb8]"),
    "mpeg2video": re.compile(rb"\x00\x00\x01[\xb3\xb8]"),
    "mpeg4": re.compile(rb"\x00\x00\x01(?:[\x20-\x2f\xb0\xb3]|\xb6[\x00-\x3f])"),
}
_NOT_SYNC: Final = re.compile(rb"[^G]")


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()


def crc32_mpeg2(data: ByteString) -> int:
    """CRC-32/MPEG-2 of ``data``. Over a whole PSI section (CRC included) it is 0 when the section is intact."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


# --- sync -------------------------------------------------------------------------------------------------


def find_sync(data: ByteString, start: int = 0, *, confirm: int = 3) -> int:
    """First offset >= ``start`` where a sync byte repeats at 188-byte strides.

    The candidate must show ``confirm`` sync bytes, or as many as ``data`` holds from it on (a candidate near the
    end is not disproven yet: the caller decides whether to wait for more bytes). -1 when there is none.
    """
    n = len(data)
    pos = data.find(b"G", start)
    while pos >= 0:
        end = min(n, pos + confirm * PACKET_SIZE)
        syncs = data[pos:end:PACKET_SIZE]
        if syncs.count(SYNC_BYTE) == len(syncs):
            return pos
        pos = data.find(b"G", pos + 1)
    return -1


def first_bad_sync(data: ByteString, start: int, count: int) -> int:
    """Index of the first of ``count`` packets from ``start`` that does not begin with 0x47, or -1."""
    syncs = data[start : start + count * PACKET_SIZE : PACKET_SIZE]
    if syncs.count(SYNC_BYTE) == len(syncs):
        return -1
    match = _NOT_SYNC.search(syncs)
    return match.start() if match else -1


# --- packet header ----------------------------------------------------------------------------------------


def packet_pid(packet: ByteString) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def unit_start(packet: ByteString) -> bool:
    """payload_unit_start_indicator: a PES packet or a PSI section begins in this packet."""
    return bool(packet[1] & 0x40)


def random_access_indicator(packet: ByteString) -> bool:
    """The adaptation field's random_access_indicator."""
    return bool(packet[3] & 0x20) and packet[4] > 0 and bool(packet[5] & 0x40)


def payload_offset(packet: ByteString) -> int | None:
    """Offset of the payload inside the packet, ``None`` when the packet carries none."""
    control = (packet[3] >> 4) & 0x3
    if not control & 0x1:
        return None
    offset = 5 + packet[4] if control & 0x2 else 4
    return offset if offset < PACKET_SIZE else None


# --- PSI --------------------------------------------------------------------------------------------------


def psi_section(packet: ByteString) -> bytes | None:
    """The PSI section that starts in this packet, when it is complete within the packet."""
    if len(packet) < PACKET_SIZE or not unit_start(packet):
        return None
    offset = payload_offset(packet)
    if offset is None:
        return None
    start = offset + 1 + packet[offset]
    if start + 3 > PACKET_SIZE:
        return None
    end = start + 3 + (((packet[start + 1] & 0x0F) << 8) | packet[start + 2])
    return bytes(packet[start:end]) if end <= PACKET_SIZE else None


def _section_ok(section: bytes, table_id: int, min_length: int) -> bool:
    return (
        len(section) >= min_length
        and section[0] == table_id
        and bool(section[1] & 0x80)  # section_syntax_indicator
        and bool(section[5] & 0x01)  # current_next_indicator: a table in force, not the next one
        and crc32_mpeg2(section) == 0
    )


def parse_pat_section(section: bytes) -> int | None:
    """PMT PID of the first program listed in a PAT section (program 0, the NIT, is skipped)."""
    if not _section_ok(section, 0x00, 12):
        return None
    for i in range(8, len(section) - 4 - 3, 4):
        program = (section[i] << 8) | section[i + 1]
        if program != 0:
            return ((section[i + 2] & 0x1F) << 8) | section[i + 3]
    return None


def parse_pat(packet: ByteString) -> int | None:
    section = psi_section(packet)
    return None if section is None else parse_pat_section(section)


@dataclass(frozen=True, slots=True)
class ElementaryStream:
    pid: int
    stream_type: int
    kind: Literal["video", "audio", "other"]
    codec: str  # "h264", "hevc", "aac", ...; "" when unknown


@dataclass(frozen=True, slots=True)
class ProgramMap:
    program_number: int
    pcr_pid: int
    streams: tuple[ElementaryStream, ...]

    @property
    def video(self) -> ElementaryStream | None:
        """The first stream with a video stream_type."""
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> ElementaryStream | None:
        """The first audio stream."""
        return next((s for s in self.streams if s.kind == "audio"), None)


def _classify(stream_type: int, descriptors: bytes) -> tuple[Literal["video", "audio", "other"], str]:
    if stream_type in VIDEO_STREAM_TYPES:
        return "video", VIDEO_STREAM_TYPES[stream_type]
    if stream_type in AUDIO_STREAM_TYPES:
        return "audio", AUDIO_STREAM_TYPES[stream_type]
    if stream_type == 0x06:
        codec = _private_audio_codec(descriptors)
        if codec:
            return "audio", codec
    return "other", ""


def _private_audio_codec(descriptors: bytes) -> str:
    i = 0
    while i + 2 <= len(descriptors):
        tag, length = descriptors[i], descriptors[i + 1]
        if tag in _PRIVATE_AUDIO_DESCRIPTORS:
            return _PRIVATE_AUDIO_DESCRIPTORS[tag]
        if tag == 0x05 and length >= 4:
            codec = _REGISTERED_AUDIO.get(descriptors[i + 2 : i + 6], "")
            if codec:
                return codec
        i += 2 + length
    return ""


def parse_pmt_section(section: bytes) -> ProgramMap | None:
    """The program map in a PMT section, or ``None`` when the section is not a valid, current PMT."""
    if not _section_ok(section, 0x02, 16):
        return None
    end = len(section) - 4
    i = 12 + (((section[10] & 0x0F) << 8) | section[11])
    streams = []
    while i + 5 <= end:
        stream_type = section[i]
        pid = ((section[i + 1] & 0x1F) << 8) | section[i + 2]
        info_length = ((section[i + 3] & 0x0F) << 8) | section[i + 4]
        kind, codec = _classify(stream_type, section[i + 5 : min(end, i + 5 + info_length)])
        streams.append(ElementaryStream(pid, stream_type, kind, codec))
        i += 5 + info_length
    program = (section[3] << 8) | section[4]
    return ProgramMap(program, ((section[8] & 0x1F) << 8) | section[9], tuple(streams))


def parse_pmt(packet: ByteString) -> ProgramMap | None:
    section = psi_section(packet)
    return None if section is None else parse_pmt_section(section)


# --- PES --------------------------------------------------------------------------------------------------


def _pes_start(packet: ByteString) -> int | None:
    """Offset of the PES header in a packet that starts a PES with an optional header, else ``None``."""
    if len(packet) < PACKET_SIZE or not unit_start(packet):
        return None
    offset = payload_offset(packet)
    if offset is None or offset + 9 > PACKET_SIZE or packet[offset : offset + 3] != b"\x00\x00\x01":
        return None
    if packet[offset + 3] in _NO_PES_HEADER or packet[offset + 6] & 0xC0 != 0x80:
        return None
    return offset


def pes_pts(packet: ByteString) -> int | None:
    """PTS (33 bits, 90 kHz) of the PES that starts in this packet, ``None`` when it has none."""
    offset = _pes_start(packet)
    if offset is None or not packet[offset + 7] & 0x80 or offset + 14 > PACKET_SIZE:
        return None
    p = offset + 9
    return (
        ((packet[p] >> 1) & 0x07) << 30
        | packet[p + 1] << 22
        | (packet[p + 2] >> 1) << 15
        | packet[p + 3] << 7
        | packet[p + 4] >> 1
    )


def pes_payload(packet: ByteString) -> bytes:
    """The elementary-stream bytes that follow the PES header in this packet (b"" when none)."""
    offset = _pes_start(packet)
    if offset is None:
        return b""
    return bytes(packet[offset + 9 + packet[offset + 8] : PACKET_SIZE])


def is_keyframe(packet: ByteString, codec: str) -> bool:
    """Whether this first packet of a video PES starts a random access point.

    True when the adaptation field's random_access_indicator is set, or (fallback, for muxers that do not set it)
    when the PES payload in this packet holds the codec's random-access unit: H.264 IDR or SPS, HEVC IRAP or VPS,
    MPEG-1/2 sequence or GOP header, MPEG-4 part 2 VOS/VOL/GOV or I-VOP. The fallback only sees this packet: a
    keyframe whose first such unit starts in a later packet is missed.
    """
    if not unit_start(packet):
        return False
    if random_access_indicator(packet):
        return True
    pattern = _RAP_PATTERNS.get(codec)
    return pattern is not None and pattern.search(pes_payload(packet)) is not None


def pts_delta(earlier: int, later: int) -> int:
    """``later - earlier`` in 90 kHz ticks across the 33-bit wrap, as a signed value in (-2**32, 2**32]."""
    delta = (later - earlier) % PTS_WRAP
    return delta - PTS_WRAP if delta > PTS_WRAP // 2 else delta


__all__ = [
    "AUDIO_STREAM_TYPES",
    "NULL_PID",
    "PACKET_SIZE",
    "PAT_PID",
    "PTS_HZ",
    "PTS_WRAP",
    "SYNC_BYTE",
    "VIDEO_STREAM_TYPES",
    "ElementaryStream",
    "ProgramMap",
    "crc32_mpeg2",
    "find_sync",
    "first_bad_sync",
    "is_keyframe",
    "packet_pid",
    "parse_pat",
    "parse_pat_section",
    "parse_pmt",
    "parse_pmt_section",
    "payload_offset",
    "pes_payload",
    "pes_pts",
    "psi_section",
    "pts_delta",
    "random_access_indicator",
    "unit_start",
]
