"""The public base URL: the configured one, a validated Host header, or the server's own address."""

from __future__ import annotations

import pytest

from headend.api.endpoint import from_public_url, from_request, parse_host_header
from headend.api.views import PublicEndpoint


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tv.example.org", PublicEndpoint("https", "tv.example.org", 443)),
        ("https://TV.example.org:8443/iptv/", PublicEndpoint("https", "tv.example.org", 8443, "/iptv")),
        ("http://192.0.2.7:8080", PublicEndpoint("http", "192.0.2.7", 8080)),
        ("http://[2001:db8::1]:81", PublicEndpoint("http", "[2001:db8::1]", 81)),
        ('http://tv.example.org/a"b c', PublicEndpoint("http", "tv.example.org", 80, "/a%22b%20c")),
    ],
)
def test_public_url(url: str, expected: PublicEndpoint) -> None:
    assert from_public_url(url) == expected


@pytest.mark.parametrize(
    "url", ["", "ftp://x.org", "tv.example.org", "http://", "http://x.org:99999", "http://a_b.org"]
)
def test_unusable_public_urls_are_ignored(url: str) -> None:
    assert from_public_url(url) is None


def test_base_url_omits_default_ports() -> None:
    assert PublicEndpoint("https", "tv.example.org", 443, "/iptv").base_url == "https://tv.example.org/iptv"
    assert PublicEndpoint("http", "tv.example.org", 443).base_url == "http://tv.example.org:443"
    assert PublicEndpoint("http", "[::1]", 8080).base_url == "http://[::1]:8080"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("tv.example.org", ("tv.example.org", None)),
        ("TV.Example.org:8080", ("tv.example.org", 8080)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]:8080", ("[::1]", 8080)),
        ("localhost.", ("localhost.", None)),
    ],
)
def test_good_host_headers(header: str, expected: tuple[str, int | None]) -> None:
    assert parse_host_header(header) == expected


@pytest.mark.parametrize(
    "header",
    ['x.org"', "x.org y", "x.org/p", "u@x.org", "x.org:0", "x.org:65536", "-x.org", "x..org", "::1", "[zz]", "é.org",
     "x.org\r\nX-Evil: 1", "a" * 300, "x.org:80:80", ""],
)  # fmt: skip
def test_bad_host_headers_are_refused(header: str) -> None:
    assert parse_host_header(header) is None


def test_fallbacks() -> None:
    assert from_request('evil"', ("127.0.0.1", 8080)) == PublicEndpoint("http", "127.0.0.1", 8080)
    assert from_request(None, ("0.0.0.0", 8080)) == PublicEndpoint("http", "localhost", 8080)
    assert from_request(None, ("::", 8080)) == PublicEndpoint("http", "localhost", 8080)
    assert from_request(None, None) == PublicEndpoint("http", "localhost", 80)
    assert from_request("tv.example.org", None, "https") == PublicEndpoint("https", "tv.example.org", 443)
