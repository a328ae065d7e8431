"""Who may stream what on the subscriber routes: statuses for every refusal, a path-traversal corpus that
never gets past the router (T15), and the HLS segment-token table (T11). Passwords never reach the logs."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from headend import settings as settings_mod
from headend.auth.secret import load_secret
from headend.auth.tokens import SegmentTokens
from headend.settings import Settings
from tests.delivery.xtream_env import HLS_URI, Line, XtreamEnv, fetch, past, segment_uris, xtream_headend


async def test_refusals_have_the_contract_statuses(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)], [str(loop_ts)]]) as env:
        inside, outside = env.channel_ids
        good = await env.line("good", max_connections=5)
        expired = await env.line("expired", exp_at=past())
        disabled = await env.line("disabled", enabled=False)
        banned = await env.line("banned")
        await env.store.ban(banned.id, "abuse")
        ts_only = await env.line("tsonly", allowed_outputs=("ts",))
        hls_only = await env.line("hlsonly", allowed_outputs=("m3u8",))
        by_ip = await env.line("byip", allowed_ips=("10.0.0.0/8",))
        by_ua = await env.line("byua", allowed_user_agents=("TiviMate",))
        wrong = dataclasses.replace(good, password="Wrong-pass-123")
        ghost = dataclasses.replace(good, record=dataclasses.replace(good.record, username="nobody-here"))
        cases: list[tuple[Line, str, int]] = [
            (good, good.live(inside), 200),
            (wrong, wrong.live(inside), 401),
            (ghost, ghost.live(inside), 401),
            (wrong, wrong.short(inside, ".m3u8"), 401),
            (expired, expired.live(inside), 403),
            (disabled, disabled.short(inside), 403),
            (banned, banned.live(inside, ".m3u8"), 403),
            (by_ip, by_ip.live(inside), 403),
            (by_ua, by_ua.live(inside), 403),
            (good, good.live(outside), 404),
            (good, good.live(outside, ".m3u8"), 404),
            (good, good.live(999_999), 404),
            (ts_only, ts_only.live(inside, ".m3u8"), 406),
            (hls_only, hls_only.short(inside, ".ts"), 406),
            (hls_only, hls_only.short(inside, ""), 406),
            (ts_only, ts_only.live(inside, ""), 200),
        ]
        bodies = {}
        for line, path, expected in cases:
            status, body = await fetch(env.port, path)
            assert status == expected, (line.username, path.replace(line.password, "***"), status, body)
            bodies[line.username, expected] = body
        assert bodies["good", 401] == bodies["nobody-here", 401], "unknown user and wrong password: one answer"
        assert (await fetch(env.port, by_ua.live(inside), ua="TiviMate/5.1 (Android)"))[0] == 200
        assert await env.wait_active(good, 0) == 0


TRAVERSAL = [
    "/live/{u}/{p}/../../etc/passwd",
    "/live/{u}/{p}/..%2f..%2fetc%2fpasswd",
    "/live/{u}/{p}/%2e%2e/%2e%2e/etc/passwd",
    "/live/../../etc/passwd",
    "/live/%2e%2e/%2e%2e/{id}.ts",
    "/live/{u}/%2e%2e/{id}.ts",
    "/live/{u}/{p}%2f..%2f/{id}.ts",
    "/live/{u}%2f{p}/{id}.ts",
    "/{u}%2f{p}/{id}.ts",
    "/{u}/{p}%5c..%5c/{id}.ts",
    "/%2e%2e/%2e%2e/{id}.ts",
    "/../../{id}.ts",
    "/live/{u}/{p}/{id}.ts%00",
    "/live/{u}/{p}/{id}%00.ts",
    "/live/{u}%00/{p}/{id}.ts",
    "/live/{u}/{p}/{id}.ts/../../../etc/passwd",
    "/live/{u}/{p}/{id}.m3u8/..",
    "/live/{u}/{p}/-1.ts",
    "/live/{u}/{p}/0.ts",
    "/live/{u}/{p}/2147483648.ts",
    "/live/{u}/{p}/9999999999.ts",
    "/live/{u}/{p}/99999999999999999999.ts",
    "/live/{u}/{p}/1e3.ts",
    "/live/{u}/{p}/0x1.ts",
    "/live/{u}/{p}/%31.ts%3f",
    "/live/{u}/{p}/abc.ts",
    "/live/{u}/{p}/{id}.mp4",
    "/live/{u}/{p}/{id}.ts.bak",
    "/live/{u}/{p}/{id}.",
    "/live/{u}/{p}/ {id}.ts",
    "/live/{u}/{p}/{id}..ts",
    "/live/{u}/{p}/",
    "/live/{u}/{id}.ts",
    "/live/{u}/{p}/{id}/extra.ts",
    "/live/" + "u" * 5000 + "/{p}/{id}.ts",
    "/live/{u}/" + "p" * 5000 + "/{id}.ts",
    "/live/{u}/{p}/" + "1" * 5000 + ".ts",
    "/live/us%C3%A9r/{p}/{id}.ts",
    "/live/{u}/{p}/%C2%B9.ts",
    "/hls/../{id}/1.ts",
    "/hls/%2e%2e/{id}/1.ts",
    "/hls/t/{id}/-1.ts",
    "/hls/t/{id}/1.ts/../../x",
    "/hls/" + "t" * 5000 + "/{id}/1.ts",
    "/api/v1/{id}",
    "/stream/{id}/1.ts",
]


async def test_path_traversal_and_malformed_paths_are_400_or_404(
    settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    canary = "canary-" + "x" * 12
    (tmp_path / "passwd").write_text(canary)
    async with xtream_headend(settings, caplog, [[str(loop_ts)]]) as env:
        line = await env.line("eve", max_connections=5)
        for template in TRAVERSAL:
            path = template.format(u=line.username, p=line.password, id=env.entitled[0])
            status, body = await fetch(env.port, path)
            shown = path.replace(line.password, "***")[:120]
            assert status in (400, 404), (shown, status)
            assert canary.encode() not in body, shown
            assert b"root:" not in body, shown
        assert (await fetch(env.port, line.live(env.entitled[0])))[0] == 200, "the line itself works"


async def _playlist_token(env: XtreamEnv, line: Line, channel_id: int) -> tuple[str, int]:
    status, body = await fetch(env.port, line.live(channel_id, ".m3u8"))
    assert status == 200
    match = HLS_URI.fullmatch(segment_uris(body)[-1])
    assert match is not None
    return match["token"], int(match["seq"])


def _tamper(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


async def test_segment_token_table(settings: Settings, loop_ts: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with xtream_headend(settings, caplog, [[str(loop_ts)], [str(loop_ts)]], entitled=2) as env:
        assert env.headend.services is not None
        services = env.headend.services
        one, two = env.entitled
        alice = await env.line("alice")
        mallory = await env.line("mallory")
        token, seq = await _playlist_token(env, alice, one)
        session = services.sessions.sessions(alice.id)[0]
        other_token, _ = await _playlist_token(env, mallory, two)
        secret = load_secret(settings)
        ttl = settings.subscribers.hls_token_ttl_s
        expired = SegmentTokens(secret, ttl, clock=lambda: time.time() - ttl - 5).issue(alice.id, one, session.id)
        foreign_key = SegmentTokens(b"another-installation-key", ttl).issue(alice.id, one, session.id)
        other_line = services.tokens.issue(mallory.id, one, session.id)
        cases = [
            ("valid", token, one, 200),
            ("expired", expired, one, 403),
            ("tampered", _tamper(token), one, 403),
            ("other key", foreign_key, one, 403),
            ("other line", other_line, one, 403),
            ("other channel", token, two, 403),
            ("other line's token", other_token, one, 403),
            ("truncated", token[:-3], one, 403),
            ("extended", token + "AAAA", one, 403),
            ("extra padding", token + "==", one, 403),
            ("bad base64", token[:10] + "+=" + token[12:], one, 403),
            ("not base64", "!!!not-base64***", one, 403),
            ("garbage", "garbage", one, 403),
            ("empty-ish", "A", one, 403),
        ]
        for name, candidate, channel, expected in cases:
            path = f"/hls/{candidate}/{channel}/{seq}.ts"
            status, body = await fetch(env.port, path)
            assert status == expected, (name, status)
            if expected == 200:
                assert body[:1] == b"\x47"
                assert len(body) > 188
        assert (await fetch(env.port, f"/hls/{token}/{one}/{seq}.ts", method="HEAD"))[0] == 200
        assert (await fetch(env.port, f"/hls/{token}/{one}/999999.ts"))[0] == 404
        services.sessions.end(session.id)
        assert (await fetch(env.port, f"/hls/{token}/{one}/{seq}.ts"))[0] == 403, "an ended session's token is dead"
        fresh, fresh_seq = await _playlist_token(env, alice, one)
        assert fresh != token, "a new playlist carries a fresh token"
        assert (await fetch(env.port, f"/hls/{fresh}/{one}/{fresh_seq}.ts"))[0] == 200


async def test_a_channel_without_picture_is_503_and_leaves_no_session(
    settings: Settings, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    settings = settings_mod.replace(settings, relay={"start_wait_s": 1.0})
    broken = tmp_path / "not-media.ts"
    broken.write_bytes(b"this is not MPEG-TS\n" * 100)
    async with xtream_headend(settings, caplog, [[str(broken)]]) as env:
        line = await env.line("frank", max_connections=1)
        cid = env.entitled[0]
        assert (await env.fetch(line.live(cid)))[0] == 503
        assert env.active_count(line) == 0
        assert (await env.fetch(line.live(cid, ".m3u8")))[0] == 503
        assert env.active_count(line) == 0, "a playlist that could not be served counts no viewer"
