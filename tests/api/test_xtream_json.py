"""The pure serialisers: views → the contract's JSON, with the §1.15 types."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import orjson

from headend.api import xtream_json as xj
from headend.api.views import NEVER_EXPIRES_EPOCH, LineInfo, LiveCategory, LiveStream, ServerInfo
from tests.api.contract import check_types

NOW = datetime(2025, 12, 29, 9, 20, tzinfo=UTC)
LINE = LineInfo(
    username="u",
    password="p",
    status="Active",
    exp_date=1767225600,
    is_trial=False,
    active_cons=0,
    max_connections=2,
    created_at=1704067200,
    allowed_output_formats=("m3u8", "ts"),
)
SERVER = ServerInfo(host="tv.example.org", port=80, https_port=443, protocol="http", timezone="UTC", now=NOW)
STREAM = LiveStream(
    num=1,
    name="Campus TV",
    stream_id=101,
    icon="http://x/101.png",
    epg_channel_id="campus.tv",
    added=1700000000,
    category_id=5,
    tv_archive_days=3,
)


def test_login_matches_the_contract_example() -> None:
    """xtream-contract.md §1.2, byte for byte (except rtmp_port: "0", a number Go's ,string tag accepts)."""
    expected = (
        b'{"user_info":{"username":"u","password":"p","message":"","auth":1,"status":"Active",'
        b'"exp_date":"1767225600","is_trial":"0","active_cons":"0","created_at":"1704067200",'
        b'"max_connections":"2","allowed_output_formats":["m3u8","ts"]},'
        b'"server_info":{"url":"tv.example.org","port":"80","https_port":"443","server_protocol":"http",'
        b'"rtmp_port":"0","timezone":"UTC","timestamp_now":1767000000,"time_now":"2025-12-29 09:20:00",'
        b'"process":true}}'
    )
    assert xj.dumps(xj.login(LINE, SERVER)) == expected
    check_types(orjson.loads(expected))


def test_live_stream_matches_the_contract_example() -> None:
    """xtream-contract.md §1.5."""
    assert xj.dumps(xj.live_stream(STREAM)) == (
        b'{"num":1,"name":"Campus TV","stream_type":"live","stream_id":101,"stream_icon":"http://x/101.png",'
        b'"epg_channel_id":"campus.tv","added":"1700000000","is_adult":"0","category_id":"5","category_ids":[5],'
        b'"custom_sid":"","tv_archive":1,"direct_source":"","tv_archive_duration":3,"thumbnail":""}'
    )


def test_category_matches_the_contract_example() -> None:
    assert xj.live_category(LiveCategory(5, "News")) == {"category_id": "5", "category_name": "News", "parent_id": 0}


def test_inactive_and_never_expiring_lines() -> None:
    line = dataclasses.replace(LINE, status="Banned", exp_date=None, is_trial=True)
    user = xj.user_info(line)
    assert user["auth"] == 0
    assert user["status"] == "Banned"
    assert user["exp_date"] == str(NEVER_EXPIRES_EPOCH) == "2145916800"
    assert user["is_trial"] == "1"
    assert datetime.fromtimestamp(NEVER_EXPIRES_EPOCH, UTC).year == 2038
    assert NEVER_EXPIRES_EPOCH + 14 * 3600 < 2**31 - 1  # room for any UTC offset on a 32-bit time_t


def test_auth_failure_bodies() -> None:
    assert xj.dumps(xj.auth_failure()) == b'{"user_info":{"auth":0}}'
    assert xj.dumps(xj.auth_failure("Expired")) == b'{"user_info":{"auth":0,"status":"Expired"}}'


def test_time_now_is_in_the_operators_timezone() -> None:
    london_summer = ServerInfo(
        host="h", port=80, https_port=0, protocol="http", timezone="Europe/London", now=datetime(2025, 7, 1, tzinfo=UTC)
    )
    info = xj.server_info(london_summer)
    assert (info["timezone"], info["time_now"]) == ("Europe/London", "2025-07-01 01:00:00")
    assert info["timestamp_now"] == 1751328000
    bogus = xj.server_info(dataclasses.replace(london_summer, timezone="Mars/Base"))
    assert (bogus["timezone"], bogus["time_now"]) == ("UTC", "2025-07-01 00:00:00")


def test_empty_values() -> None:
    stream = xj.live_stream(dataclasses.replace(STREAM, epg_channel_id="", icon="", tv_archive_days=0))
    assert stream["epg_channel_id"] is None
    assert stream["stream_icon"] == ""
    assert (stream["tv_archive"], stream["tv_archive_duration"]) == (0, 0)
    assert xj.dumps(xj.available_channels([])) == b"{}"
    assert xj.dumps(xj.live_streams([])) == b"[]"
    assert xj.dumps(xj.panel_categories([])) == b'{"live":[],"movie":[],"series":[]}'
    assert xj.dumps(xj.vod_info_empty()) == b'{"info":{},"movie_data":{}}'
    assert xj.dumps(xj.series_info_empty()) == b'{"seasons":[],"info":{},"episodes":{}}'
    assert xj.dumps(xj.epg_listings_empty()) == b'{"epg_listings":[]}'
