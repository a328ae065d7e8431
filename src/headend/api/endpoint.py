"""The public base URL clients must use: the operator's ``http.public_url``, else derived from the request.

Playlists put this URL in front of every stream and ``server_info`` reports its parts (contract §1.2: behind
a reverse proxy they must describe the *public* endpoint). A ``Host`` header is used only when it is a plain
host name or IP literal with an optional port; anything else (spaces, quotes, ``/``, ``@``, CR/LF …) falls
back to the server's own address, so a forged header cannot inject text into a playlist.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import quote, urlsplit

from headend.api.views import Protocol, PublicEndpoint

_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_HOST_HEADER: Final = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?")
_HOST_MAX: Final = 253


def default_port(scheme: Protocol) -> int:
    return 443 if scheme == "https" else 80


def from_public_url(public_url: str) -> PublicEndpoint | None:
    """The endpoint of a configured ``http.public_url`` (None when it is empty or not an http(s) URL)."""
    if not public_url:
        return None
    try:
        parts = urlsplit(public_url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    protocol: Protocol = "https" if scheme == "https" else "http"
    host = _url_host(parts.hostname)
    if host is None:
        return None
    path = quote(parts.path.rstrip("/"), safe="/-._~%")  # nothing in it may end a quoted M3U/XML attribute
    return PublicEndpoint(protocol, host, port or default_port(protocol), path)


def from_request(host_header: str | None, server: tuple[str, int] | None, scheme: Protocol = "http") -> PublicEndpoint:
    """The endpoint a client reached: a well-formed ``Host`` header, else the listening address."""
    if host_header:
        parsed = parse_host_header(host_header)
        if parsed is not None:
            host, port = parsed
            return PublicEndpoint(scheme, host, port if port is not None else default_port(scheme))
    if server is not None:
        address = _url_host(server[0])
        if address is not None and not _unspecified(server[0]):
            return PublicEndpoint(scheme, address, server[1])
        return PublicEndpoint(scheme, "localhost", server[1])
    return PublicEndpoint(scheme, "localhost", default_port(scheme))


def parse_host_header(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host header value, or None when it is not a bare host name or IP literal."""
    found = _HOST_HEADER.fullmatch(value)
    if found is None:
        return None
    host = _url_host(found["host"].strip("[]") if found["host"].startswith("[") else found["host"])
    if host is None:
        return None
    port = found["port"]
    if port is None:
        return host, None
    number = int(port)
    return (host, number) if 0 < number < 65536 else None


def _url_host(value: str) -> str | None:
    """``value`` as it goes into a URL (IPv6 bracketed), or None when it is neither a name nor an address."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        if len(value) <= _HOST_MAX and _HOST_NAME.fullmatch(value):
            return value.lower()
        return None
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _unspecified(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_unspecified
    except ValueError:
        return False


__all__ = ["default_port", "from_public_url", "from_request", "parse_host_header"]
