"""Credentials never survive redaction: URL userinfo, secret query values, Xtream paths, registered secrets."""

from __future__ import annotations

import logging

import pytest

from headend.redact import MASK, RedactingFilter, Redactor, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://alice:s3cret@up.example:8080/live.ts", "http://***@up.example:8080/live.ts"),
        ("rtmp://bob@up.example/app", "rtmp://***@up.example/app"),
        ("srt://u:p@10.0.0.1:9000?mode=caller", "srt://***@10.0.0.1:9000?mode=caller"),
        ("[http @ 0x55] 'http://a:p@ss@h/x.ts': 403", "[http @ 0x55] 'http://***@h/x.ts': 403"),
        (
            "http://h/get.php?username=alice&password=s3cret&type=m3u",
            "http://h/get.php?username=***&password=***&type=m3u",
        ),
        (
            "http://h/x?TOKEN=abc&Signature=def&sig=1&X-Amz-Signature=2",
            "http://h/x?TOKEN=***&Signature=***&sig=***&X-Amz-Signature=***",
        ),
        (
            "http://h/x?api_key=k1&access_token=t1&auth=a&secret=s&pwd=p&passwd=q&pass=r&user=u",
            "http://h/x?api_key=***&access_token=***&auth=***&secret=***&pwd=***&passwd=***&pass=***&user=***",
        ),
        ("http://h/live/alice/s3cret/42.ts", "http://h/live/***/***/42.ts"),
        ("GET /movie/alice/s3cret/7.mkv HTTP/1.1", "GET /movie/***/***/7.mkv HTTP/1.1"),
        ("/series/alice/s3cret/9.mp4", "/series/***/***/9.mp4"),
        ("/timeshift/alice/s3cret/60/2026-01-01:10-00/5.ts", "/timeshift/***/***/60/2026-01-01:10-00/5.ts"),
        ("/LIVE/alice/s3cret/1.ts", "/LIVE/***/***/1.ts"),
        ("password=hunter2 in a log line", "password=*** in a log line"),
        ("nothing to hide: http://h/live.ts?channel=1", "nothing to hide: http://h/live.ts?channel=1"),
    ],
)
def test_structural_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_literal_secrets_and_their_url_encoding() -> None:
    redactor = Redactor()
    redactor.add_secret("p@ss w0rd")
    redactor.add_secret("abc")  # too short to mask safely: ignored
    text = "login p@ss w0rd ok; url http://h/x?q=p%40ss%20w0rd; abc stays"
    assert redactor.redact(text) == f"login {MASK} ok; url http://h/x?q={MASK}; abc stays"
    redactor.discard_secret("p@ss w0rd")
    assert redactor.redact("p@ss w0rd") == "p@ss w0rd"


def test_longer_secret_masked_whole() -> None:
    redactor = Redactor()
    redactor.add_secret("secret")
    redactor.add_secret("secret-long")
    assert redactor.redact("x secret-long y") == f"x {MASK} y"


def test_filter_redacts_message_args_and_exception(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("opening %s", "http://alice:s3cret@h/live/alice/s3cret/1.ts")
        try:
            raise ValueError("bad url http://u:s3cret@h/x")
        except ValueError:
            logger.exception("failed")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "s3cret" not in caplog.text
    assert "http://***@h/live/***/***/1.ts" in caplog.text
    assert "ValueError: bad url http://***@h/x" in caplog.text


def test_filter_survives_bad_format_args(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s %s password=%s", ("only-one",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "a %s %s password=***"
