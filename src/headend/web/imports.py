"""M3U import: upload a playlist (size-capped), import it in the background, watch its progress, see the summary.

The import is :class:`headend.importing.Importer` (the same as ``headend channel import-m3u``) fed by the
bounded streaming parser; a progress callback and the report it updates in place drive the progress fragment,
which the page polls every second until the job is done. Titles from the file are untrusted text: they are
escaped like everything else.
"""

from __future__ import annotations

import io
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from headend.admin.principal import Principal
from headend.errors import HeadendError, NotFound
from headend.http.control import PolicyRoute, client_ip, principal, services
from headend.http.policy import Policy
from headend.importing import Importer, ImportReport
from headend.playlists.m3u_parse import parse
from headend.services import Services
from headend.web.forms import read_form, see_other
from headend.web.jobs import ImportJob, web_jobs
from headend.web.routing import PanelRoute
from headend.web.templating import render

IMPORT_MAX_BYTES: Final = 8 * 1024 * 1024
PROBLEMS_SHOWN: Final = 50


async def import_page(request: Request) -> Response:
    return await _form(request, {})


async def _form(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    jobs = list(reversed(web_jobs(request).imports.values()))
    context = {"title": "Import M3U", "jobs": jobs, "errors": errors, "max_mib": IMPORT_MAX_BYTES // (1024 * 1024)}
    return render(request, "import.html", context, status=status)


async def import_start(request: Request) -> Response:
    form = await read_form(request)
    upload = form.file("file")
    if upload is None or not upload.filename:
        return await _form(request, {"file": "choose an M3U file to upload"}, status=422)
    data = await upload.read(IMPORT_MAX_BYTES + 1)
    await upload.close()
    if len(data) > IMPORT_MAX_BYTES:
        message = f"the file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MiB"
        return await _form(request, {"file": message}, status=413)
    if not data.strip():
        return await _form(request, {"file": "the file is empty"}, status=422)
    dry_run = form.flag("dry_run")
    svc, who, ip = services(request), principal(request), client_ip(request)
    job = web_jobs(request).start_import(
        upload.filename[:200], len(data), dry_run, lambda job: _run(svc, who, ip, data, job)
    )
    return see_other(f"/admin/import/{job.id}")


async def _run(svc: Services, who: Principal, ip: str, data: bytes, job: ImportJob) -> None:
    importer = Importer(svc.channels, dry_run=job.dry_run)
    importer.report = job.report  # the page reads the live counters

    def progress(report: ImportReport) -> None:
        job.progress_calls += 1

    try:
        await importer.run(parse(io.BytesIO(data)), progress=progress)
    except HeadendError as exc:
        job.error = exc.message
    after = {
        "file": job.filename, "dry_run": job.dry_run, "entries": job.report.entries,
        "channels_created": job.report.channels_created, "sources_added": job.report.sources_added,
        "problems": len(job.report.problems), "error": job.error,
    }  # fmt: skip
    await svc.audit.record(who, "channel.import", "channel", None, after=after, ip=ip)


def _job(request: Request) -> ImportJob:
    job = web_jobs(request).imports.get(str(request.path_params["job_id"]))
    if job is None:
        raise NotFound("no such import (imports are kept while the server runs)")
    return job


def _context(job: ImportJob) -> dict[str, object]:
    return {"job": job, "report": job.report, "problems": job.report.problems[:PROBLEMS_SHOWN]}


async def import_job(request: Request) -> Response:
    job = _job(request)
    return render(request, "import_job.html", {"title": "Import", **_context(job)})


async def import_progress(request: Request) -> Response:
    return render(request, "import_progress.html", _context(_job(request)))


def import_routes() -> list[PolicyRoute]:
    o = Policy.OPERATOR
    return [
        PanelRoute("/admin/import", import_page, policy=o),
        PanelRoute("/admin/import", import_start, policy=o, methods=["POST"]),
        PanelRoute("/admin/import/{job_id}", import_job, policy=o),
        PanelRoute("/admin/import/{job_id}/progress", import_progress, policy=o),
    ]


__all__ = ["IMPORT_MAX_BYTES", "import_routes"]
