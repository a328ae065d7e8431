"""The prolog scan: what the XMLTV reader checks before the XML parser sees a single byte.

The prolog is everything before the root start tag (XML declaration, comments, processing instructions, the
DOCTYPE). It is read from the decompressed stream (at most :data:`HEAD_MAX` bytes, through the root start tag) and
the document is refused when it

* has a DOCTYPE with an internal subset (any ``[`` in it) or any ``<!ENTITY``: billion laughs, quadratic blowup,
  XXE and parameter entities all need one. A DOCTYPE with only an external id is fine (the parser never loads it);
* declares an encoding in which ``<!"'>[`` might not be those ASCII bytes (UTF-7, ISO-2022, EBCDIC...), or is
  UTF-16/32 or has NUL bytes, so that this byte-level scan always sees what the parser will see;
* has a root element other than ``<tv>``, or does not start with markup.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Final

from headend.errors import ValidationError

HEAD_MAX: Final = 64 * 1024
_HEAD_READ: Final = 8 * 1024
_UNICODE_WIDE: Final = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\x00<", b"<\x00", b"\x00\x00\x00<")
_ENCODING: Final = re.compile(rb"""\sencoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
# Encodings in which every byte below 0x40 (``<!"'>[``) stands for that ASCII character, so the byte-level prolog scan
# sees what the parser will see. Not UTF-7, ISO-2022-*, UTF-16/32 or EBCDIC.
_ASCII_COMPATIBLE: Final = re.compile(
    rb"utf-?8|us-ascii|ascii|iso[-_]?8859-\d{1,2}|latin-?[1-9]|(windows|cp)-?125\d|koi8-[ru]|tis-?620"
    rb"|gb2312|gbk|gb18030|big5(-hkscs)?|shift[-_]jis|sjis|windows-31j|euc-(jp|kr|cn|tw)|cp9(32|36|49|50)",
    re.IGNORECASE,
)
_XML_DECLARATION: Final = (b"<?xml ", b"<?xml\t", b"<?xml\r", b"<?xml\n")
_ENTITY_DECL: Final = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_ROOT_NAME: Final = re.compile(rb"<([^\s/>]*)")
_BLANK: Final = b" \t\r\n"
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, field="xmltv")


def _quoted_end(head: bytes, start: int, *, refuse_subset: bool) -> int | None:
    """Index just past the ``>`` closing the markup at ``start`` (quotes respected); None if not in ``head``."""
    quote = 0
    for index in range(start, len(head)):
        byte = head[index]
        if refuse_subset and byte == 0x5B:  # "[": an internal subset (or CDATA in the prolog)
            raise _refuse("the XMLTV DOCTYPE has an internal subset (entity declarations are refused)")
        if quote:
            quote = 0 if byte == quote else quote
        elif byte in (0x22, 0x27):
            quote = byte
        elif byte == 0x3E:
            return index + 1
    return None


def _check_declaration(declaration: bytes) -> None:
    found = _ENCODING.search(declaration)
    if found and not _ASCII_COMPATIBLE.fullmatch(found.group(1)):
        name = found.group(1).decode("ascii", "replace")[:40]
        raise _refuse(f"XMLTV encoding {name!r} is not supported (use UTF-8)")


def _markup_end(head: bytes, index: int) -> int | None:
    """End of the comment, processing instruction or declaration starting at ``index`` (None: need more)."""
    if head.startswith(b"<?", index):
        end = head.find(b"?>", index + 2)
        if end < 0:
            return None
        if head.startswith(_XML_DECLARATION, index):
            _check_declaration(head[index:end])
        return end + 2
    if head.startswith(b"<!--", index):
        end = head.find(b"-->", index + 4)
        return None if end < 0 else end + 3
    if len(head) - index < 4 and b"<!--".startswith(head[index:]):
        return None  # maybe a comment, maybe a DOCTYPE: wait for more
    return _quoted_end(head, index, refuse_subset=True)


def _root_start(head: bytes) -> int | None:
    """Index of the root start tag's ``<`` once the whole prolog and that tag are in ``head``; None: need more.

    Raises for what makes the document refused: an internal DTD subset, an entity declaration, an encoding
    that is not a superset of ASCII, a prolog longer than :data:`HEAD_MAX`.
    """
    if head.startswith(_UNICODE_WIDE) or b"\0" in head:
        raise _refuse("the XMLTV document is UTF-16, UTF-32 or has NUL bytes: not supported (use UTF-8)")
    index = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while index < len(head) and head[index] in _BLANK:
            index += 1
        if index >= len(head):
            return None
        if not head.startswith(b"<", index):
            line = head.count(b"\n", 0, index) + 1  # text before the root, or EBCDIC the scan cannot read
            raise _refuse(f"XMLTV syntax error at line {line}: the document does not start with an element")
        if not head.startswith((b"<?", b"<!"), index):
            return index if _quoted_end(head, index, refuse_subset=False) is not None else None
        end = _markup_end(head, index)
        if end is None:
            return None
        index = end


def read_head(stream: BinaryIO) -> bytes:
    """The first bytes of ``stream``, through the root start tag, once they passed the prolog checks."""
    head = b""
    while True:
        root = _root_start(head)
        if root is not None:
            break
        chunk = stream.read(_HEAD_READ)
        if not chunk:
            return head  # no root element: the parser says so, with a line number
        if len(head) >= HEAD_MAX:
            raise _refuse(f"the XMLTV prolog (before the <tv> element) is longer than {HEAD_MAX // 1024} KiB")
        head += chunk
    if _ENTITY_DECL.search(head, 0, root):
        raise _refuse("the XMLTV document declares entities (refused)")
    name = _ROOT_NAME.match(head, root)
    if name is not None and name.group(1) != b"tv":
        shown = _CONTROLS.sub("", name.group(1).decode("utf-8", "replace"))[:40]
        raise _refuse(f"the root element is <{shown}>, not <tv>: this is not an XMLTV document")
    return head


__all__ = ["HEAD_MAX", "read_head"]
