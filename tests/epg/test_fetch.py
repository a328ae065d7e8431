"""EPG downloads against a real HTTP server on 127.0.0.1, and the managed directory of EPG files."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.epg.fetch import FetchError, fetch_to_file, source_path, store_upload, upload_name
from headend.errors import NotFound, ValidationError
from headend.settings import Settings
from tests.epg.guide_server import GuideServer

GUIDE = b'<?xml version="1.0"?>\n<tv><channel id="a"><display-name>A</display-name></channel></tv>\n'
MIB = 1024 * 1024


@pytest.fixture
def server() -> Iterator[GuideServer]:
    with GuideServer() as srv:
        yield srv


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def test_download_is_saved_whole_with_progress(server: GuideServer, tmp_path: Path) -> None:
    body = GUIDE * 5000
    server.route("/guide.xml", body=body)
    seen: list[int] = []
    path = await fetch_to_file(
        server.url("/guide.xml"), tmp_path / "dl", max_bytes=MIB, timeout_s=5, progress=seen.append
    )
    assert path.read_bytes() == body
    assert path.parent == tmp_path / "dl"
    assert leftovers(tmp_path / "dl") == [path.name], "no .part file is left"
    assert seen[-1] == len(body)
    assert seen == sorted(seen)
    headers = server.headers_seen[-1]
    assert "authorization" not in headers
    assert headers["user-agent"].startswith("headend/")


async def test_gzip_content_encoding_is_kept_as_sent(server: GuideServer, tmp_path: Path) -> None:
    packed = gzip.compress(GUIDE)
    server.route("/g", body=packed, headers={"Content-Encoding": "gzip"})
    path = await fetch_to_file(server.url("/g"), tmp_path, max_bytes=MIB, timeout_s=5)
    assert path.read_bytes() == packed, "the reader decompresses, under its own caps"


async def test_redirects_are_followed_up_to_five(server: GuideServer, tmp_path: Path) -> None:
    server.route("/guide.xml", body=GUIDE)
    for hop in range(1, 7):
        server.redirect(f"/r{hop}", f"/r{hop - 1}" if hop > 1 else "/guide.xml", status=301 if hop % 2 else 302)
    path = await fetch_to_file(server.url("/r5"), tmp_path, max_bytes=MIB, timeout_s=5)
    assert path.read_bytes() == GUIDE
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await fetch_to_file(server.url("/r6"), tmp_path, max_bytes=MIB, timeout_s=5)
    assert leftovers(tmp_path) == [path.name]


async def test_credentials_do_not_follow_a_redirect_to_another_origin(server: GuideServer, tmp_path: Path) -> None:
    server.route("/guide.xml", body=GUIDE)
    server.redirect("/away", server.url("/guide.xml").replace("127.0.0.1", "localhost"))
    url = server.url("/away").replace("http://", "http://op:s3cret@")
    await fetch_to_file(url, tmp_path, max_bytes=MIB, timeout_s=5)
    first, second = server.headers_seen[-2:]
    assert first["authorization"].startswith("Basic ")  # the URL's own credentials, for its own host
    assert "authorization" not in second


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/guide.xml", "file:///etc/passwd", "gopher://x/", "/etc/passwd"])
async def test_non_http_urls_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        await fetch_to_file(url, tmp_path / "dl", max_bytes=MIB, timeout_s=5)
    assert caught.value.field == "location"
    assert leftovers(tmp_path / "dl") == []


async def test_a_redirect_to_another_scheme_is_refused(server: GuideServer, tmp_path: Path) -> None:
    server.redirect("/sneaky", "file:///etc/passwd")
    with pytest.raises(FetchError, match="not http"):
        await fetch_to_file(server.url("/sneaky"), tmp_path, max_bytes=MIB, timeout_s=5)
    assert leftovers(tmp_path) == []


async def test_byte_cap_declared_and_streamed(server: GuideServer, tmp_path: Path) -> None:
    server.route("/declared", body=b"x" * (2 * MIB))
    server.route("/streamed", chunked_total=64 * MIB)  # no Content-Length
    with pytest.raises(FetchError, match="1 MiB download limit"):
        await fetch_to_file(server.url("/declared"), tmp_path, max_bytes=MIB, timeout_s=5)
    seen: list[int] = []
    with pytest.raises(FetchError, match="larger than the 1 MiB download limit"):
        await fetch_to_file(server.url("/streamed"), tmp_path, max_bytes=MIB, timeout_s=5, progress=seen.append)
    assert max(seen) <= MIB, "nothing beyond the cap is written"
    assert leftovers(tmp_path) == [], "the partial download is deleted"


async def test_no_data_timeout_removes_the_partial_file(server: GuideServer, tmp_path: Path) -> None:
    server.route("/stall", body=GUIDE * 100, stall_after=1000)
    seen: list[int] = []
    with pytest.raises(FetchError, match=r"no data for 0\.5 s"):
        await fetch_to_file(server.url("/stall"), tmp_path, max_bytes=MIB, timeout_s=0.5, progress=seen.append)
    assert seen == [1000]
    assert leftovers(tmp_path) == []


async def test_errors_are_redacted(server: GuideServer, tmp_path: Path) -> None:
    url = server.url("/missing?token=t0ps3cret").replace("http://", "http://op:pa55word@")
    with pytest.raises(FetchError) as caught:
        await fetch_to_file(url, tmp_path, max_bytes=MIB, timeout_s=5)
    assert "HTTP 404" in caught.value.message
    assert "t0ps3cret" not in caught.value.message
    assert "pa55word" not in caught.value.message
    dead = "http://op:pa55word@127.0.0.1:1/guide.xml"  # nothing listens on port 1
    with pytest.raises(FetchError) as refused:
        await fetch_to_file(dead, tmp_path, max_bytes=MIB, timeout_s=5)
    assert "ConnectError" in refused.value.message
    assert "pa55word" not in refused.value.message


# -- the managed directory ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = settings_mod.load(env={})
    return settings_mod.replace(base, paths={"data_dir": tmp_path / "data"}, epg={"max_download_mib": 1})


def test_store_upload_copies_atomically_and_never_clobbers(settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "my guide (final).xml.gz"
    src.write_bytes(GUIDE)
    first = store_upload(settings, src, src.name)
    assert first == "my-guide-final-.xml.gz"
    second = store_upload(settings, io.BytesIO(b"<tv/>"), src.name)
    assert second == "my-guide-final--2.xml.gz"
    assert (settings.epg_dir / first).read_bytes() == GUIDE
    assert (settings.epg_dir / second).read_bytes() == b"<tv/>"
    again = store_upload(settings, io.BytesIO(b"<tv></tv>"), first, replace=True)
    assert again == first
    assert (settings.epg_dir / first).read_bytes() == b"<tv></tv>"
    assert leftovers(settings.epg_dir) == sorted([first, second]), "no temporary files are left"


def test_store_upload_refuses_too_big_and_missing(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="larger than 1 MiB"):
        store_upload(settings, io.BytesIO(b"x" * (MIB + 1)), "big.xml")
    with pytest.raises(NotFound):
        store_upload(settings, tmp_path / "nope.xml", "nope.xml")
    assert leftovers(settings.epg_dir) == []


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        (".hidden", "hidden"),
        ("a b/c d.xml", "c-d.xml"),
        ("..", "guide.xml"),
        ("C:\\guides\\tv.xml", "tv.xml"),
        ("", "guide.xml"),
    ],
)
def test_upload_names_are_plain(name: str, safe: str) -> None:
    assert upload_name(name) == safe


def test_source_path_stays_inside_the_epg_dir(settings: Settings, tmp_path: Path) -> None:
    settings.epg_dir.mkdir(parents=True)
    (settings.epg_dir / "guide.xml").write_bytes(GUIDE)
    assert source_path(settings, "guide.xml") == (settings.epg_dir / "guide.xml").resolve()
    outside = tmp_path / "secret.xml"
    outside.write_bytes(GUIDE)
    (settings.epg_dir / "link.xml").symlink_to(outside)
    (settings.epg_dir / ".downloads").mkdir()
    (settings.epg_dir / ".downloads" / "x").write_bytes(GUIDE)
    for location in ("../secret.xml", str(outside), "link.xml", ".downloads/x", ".", ""):
        with pytest.raises(ValidationError):
            source_path(settings, location)
    with pytest.raises(NotFound):
        source_path(settings, "missing.xml")
