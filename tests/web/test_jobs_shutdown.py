"""Stopping the server while the panel's M3U import runs: the job is cancelled (and says so) before the
database closes, instead of failing later against a closed database."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from headend.web.jobs import WebJobs
from tests.web.conftest import panel_server, web_settings


def _playlist(entries: int) -> bytes:
    lines = ["#EXTM3U"]
    for n in range(entries):
        lines += [f'#EXTINF:-1 tvg-id="c{n}" group-title="Bulk",Channel {n}', f"http://192.0.2.1/{n}.ts"]
    return ("\n".join(lines) + "\n").encode()


async def test_a_running_import_is_cancelled_before_the_database_closes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with panel_server(web_settings(tmp_path / "data")) as panel:
        operator = await panel.login("operator")
        answer = await operator.client.post(
            "/admin/import",
            data={"csrf_token": operator.csrf},
            files={"file": ("big.m3u", _playlist(20_000), "audio/x-mpegurl")},
        )
        assert answer.status_code == 303, answer.text
        jobs = panel.headend.app.state.web_jobs if panel.headend.app is not None else None
        assert isinstance(jobs, WebJobs)
        (job,) = jobs.imports.values()
        assert not job.done  # still importing when the server is told to stop
    ended = jobs.imports[job.id]  # (the same job, read again after the server stopped)
    assert ended.done
    assert "cancelled" in ended.error
    assert "has not been called" not in caplog.text
    assert "M3U import" not in caplog.text  # no unexpected failure was logged
