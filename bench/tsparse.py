"""An incremental MPEG-TS probe: when did the client get its first PAT, PMT and video keyframe?

Independent of Headend's own ``relay/ts.py`` on purpose: the bench is the oracle. A keyframe is the first
packet on the video PID (known from the PMT) that starts a PES with the adaptation field's
random_access_indicator set, or whose PES carries an H.264 IDR NAL unit (type 5) or, for HEVC, an IRAP
NAL unit, within its first 4 KiB of payload. Packets before the PMT are not decodable by a player (its
demuxer drops PIDs it does not know yet), so they do not count for ``t_keyframe``; ``t_keyframe_any`` notes
the first video PES on any PID whose first packet has the random_access_indicator, an SPS or an IDR, PMT or
not (a server that starts viewers at a keyframe but sends the PAT/PMT after it shows up there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PACKET: Final = 188
SYNC: Final = 0x47
_VIDEO_TYPES: Final = {0x01, 0x02, 0x10, 0x1B, 0x24}
_IDR: Final = {
    0x1B: re.compile(rb"\x00\x00\x01[\x05\x25\x45\x65]"),
    0x24: re.compile(rb"\x00\x00\x01[\x26-\x2b]"),
}
_PES_SCAN_BYTES: Final = 4096
_ANY_KEY: Final = re.compile(rb"\x00\x00\x01[\x05\x25\x45\x65\x07\x27\x47\x67]")


def packet_pid(packet: bytes | bytearray | memoryview) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def _payload(packet: bytes | bytearray) -> tuple[int, bool]:
    """Offset of the payload in ``packet`` (-1 if none) and the random_access_indicator."""
    afc = (packet[3] >> 4) & 0x3
    offset = 4
    rai = False
    if afc & 0x2:
        af_len = packet[4]
        rai = af_len > 0 and bool(packet[5] & 0x40)
        offset = 5 + af_len
    if not afc & 0x1 or offset >= PACKET:
        return -1, rai
    return offset, rai


def _section(packet: bytes | bytearray, offset: int) -> bytes | None:
    """The PSI section starting in this packet (after the pointer field), or None."""
    if not packet[1] & 0x40 or offset < 0:
        return None
    start = offset + 1 + packet[offset]
    if start + 3 > PACKET:
        return None
    length = ((packet[start + 1] & 0x0F) << 8) | packet[start + 2]
    end = start + 3 + length
    return bytes(packet[start:end]) if end <= PACKET else None


@dataclass
class Probe:
    """Feed it the response body as it arrives; it timestamps the milestones."""

    t_first_byte: float | None = None
    t_pat: float | None = None
    t_pmt: float | None = None
    t_keyframe: float | None = None
    t_keyframe_any: float | None = None
    keyframe_by: str = ""
    first_pid: int = -1
    aligned: bool = True  # the body started on a packet boundary
    packets: int = 0
    pmt_pid: int = -1
    video_pid: int = -1
    video_type: int = -1

    def __post_init__(self) -> None:
        self._rest = bytearray()
        self._pes = bytearray()
        self._scanning = False

    @property
    def done(self) -> bool:
        return self.t_keyframe is not None

    def feed(self, data: bytes | bytearray | memoryview, now: float) -> bool:
        """Consume body bytes received at ``now``; True once a keyframe has been seen."""
        if self.t_first_byte is None and len(data):
            self.t_first_byte = now
            self.aligned = data[0] == SYNC
        buf = self._rest
        buf += data
        pos = 0
        while len(buf) - pos >= PACKET and not self.done:
            if buf[pos] != SYNC:
                pos = self._resync(buf, pos)
                continue
            self._packet(bytes(buf[pos : pos + PACKET]), now)
            pos += PACKET
        del buf[:pos]
        return self.done

    @staticmethod
    def _resync(buf: bytearray, pos: int) -> int:
        nxt = buf.find(SYNC, pos + 1)
        while nxt != -1 and nxt + PACKET < len(buf) and buf[nxt + PACKET] != SYNC:
            nxt = buf.find(SYNC, nxt + 1)
        return len(buf) if nxt == -1 else nxt

    def _packet(self, packet: bytes, now: float) -> None:
        pid = packet_pid(packet)
        if self.packets == 0:
            self.first_pid = pid
        self.packets += 1
        offset, rai = _payload(packet)
        if pid == 0 and self.pmt_pid < 0:
            self._pat(_section(packet, offset), now)
        elif pid == self.pmt_pid and self.video_pid < 0:
            self._pmt(_section(packet, offset), now)
        elif pid == self.video_pid:
            self._video(packet, offset, rai, now)
        if self.t_keyframe_any is None and pid != 0 and packet[1] & 0x40 and offset >= 0:
            self._any_keyframe(packet, offset, rai, now)

    def _any_keyframe(self, packet: bytes, offset: int, rai: bool, now: float) -> None:
        if (
            offset + 9 >= PACKET
            or packet[offset : offset + 3] != b"\x00\x00\x01"
            or not 0xE0 <= packet[offset + 3] <= 0xEF
        ):
            return  # not a video PES
        if rai or _ANY_KEY.search(packet, offset + 9 + packet[offset + 8]):
            self.t_keyframe_any = now

    def _pat(self, section: bytes | None, now: float) -> None:
        if section is None or section[0] != 0x00:
            return
        for i in range(8, len(section) - 4, 4):
            program = (section[i] << 8) | section[i + 1]
            if program != 0:
                self.pmt_pid = ((section[i + 2] & 0x1F) << 8) | section[i + 3]
                self.t_pat = now
                return

    def _pmt(self, section: bytes | None, now: float) -> None:
        if section is None or section[0] != 0x02 or len(section) < 16:
            return
        i = 12 + (((section[10] & 0x0F) << 8) | section[11])
        while i + 5 <= len(section) - 4:
            stream_type = section[i]
            pid = ((section[i + 1] & 0x1F) << 8) | section[i + 2]
            if stream_type in _VIDEO_TYPES:
                self.video_pid, self.video_type = pid, stream_type
                break
            i += 5 + (((section[i + 3] & 0x0F) << 8) | section[i + 4])
        self.t_pmt = now

    def _video(self, packet: bytes, offset: int, rai: bool, now: float) -> None:
        if packet[1] & 0x40:  # payload_unit_start: a new PES
            if rai:
                self._hit("random_access_indicator", now)
                return
            self._pes.clear()
            self._scanning = offset >= 0 and packet[offset : offset + 3] == b"\x00\x00\x01"
            if self._scanning:
                offset += 9 + packet[offset + 8]
        if not self._scanning or offset < 0:
            return
        self._pes += packet[offset:]
        pattern = _IDR.get(self.video_type)
        if pattern is not None and pattern.search(self._pes):
            self._hit("idr_nal", now)
        elif len(self._pes) >= _PES_SCAN_BYTES:
            self._scanning = False

    def _hit(self, how: str, now: float) -> None:
        self.t_keyframe = now
        if self.t_keyframe_any is None:
            self.t_keyframe_any = now
        self.keyframe_by = how
