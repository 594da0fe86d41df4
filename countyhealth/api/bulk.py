"""Status, cancellation and files of bulk data jobs over HTTP.

https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request. The kick-off
(``$export``) is an operation (``operations/export.py``) that answers with a status URL:

* ``GET /fhir/bulkstatus/{job}``: 202 with ``X-Progress`` and ``Retry-After`` while the job
  waits or runs; 200 with the manifest (``application/json``) when it is complete; for a
  failed job the OperationOutcome with its status (CH-8005, 500).
* ``DELETE /fhir/bulkstatus/{job}``: cancel the job, or delete a finished job's files → 202;
  later requests answer 404.
* ``GET /fhir/bulkfiles/{job}/{file}``: an output file, streamed as ``application/fhir+ndjson``.
* ``POST /fhir/$import``: the kick-off of an import; the body is the NDJSON to import
  (``application/fhir+ndjson``, optionally ``Content-Encoding: gzip``), stored in full before
  the job is queued (:mod:`countyhealth.bulk.import_job` runs it). The same status URL and
  manifest as an export follow.

Every request needs the bearer token of the caller who started the job: the manifest says
``requiresAccessToken: true``. Anyone else gets 404 (CH-8001), as for a job that does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from ..errors import CODES, error, information
from .deps import repository
from .media import fhir_response, pretty

#: Seconds a client is asked to wait between polls of a job that is not finished.
RETRY_AFTER = 2


def _status_code(outcome: dict[str, Any]) -> int:
    try:
        code = outcome["issue"][0]["details"]["coding"][0]["code"]
        return CODES[code].status
    except (KeyError, IndexError, TypeError):
        return 500


async def status(request: Request) -> Response:
    repo = repository(request)
    job = await run_in_threadpool(repo.jobs.get, request.path_params["job"])
    if job.status == "completed":
        return Response(orjson.dumps(job.manifest), 200, media_type="application/json")
    if job.status == "failed":
        outcome = job.error or {}
        return fhir_response(outcome, _status_code(outcome), indent=pretty(request))
    progress = job.progress if job.status == "in-progress" else "accepted; waiting to start"
    headers = {"X-Progress": progress[:99], "Retry-After": str(RETRY_AFTER)}
    return Response(status_code=202, headers=headers)


async def cancel(request: Request) -> Response:
    repo = repository(request)
    job_id = request.path_params["job"]
    await run_in_threadpool(repo.jobs.cancel, job_id)
    text = f"bulk data job {job_id} cancelled; its files are deleted"
    return fhir_response(information(text), 202, indent=pretty(request))


async def output_file(request: Request) -> Response:
    repo = repository(request)
    p = request.path_params
    path = await run_in_threadpool(repo.jobs.output_file, p["job"], p["name"])
    return FileResponse(path, media_type="application/fhir+ndjson")


NDJSON_TYPES = ("application/fhir+ndjson", "application/ndjson", "application/x-ndjson")


async def import_kickoff(request: Request) -> Response:
    """``POST [base]/$import`` with the NDJSON as the body: 202 and the status URL."""
    repo = repository(request)
    settings = repo.store.settings
    if "respond-async" not in request.headers.get("prefer", "").lower():
        raise error("CH-8002", "$import runs asynchronously: send Prefer: respond-async")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in NDJSON_TYPES:
        raise error(
            "CH-1003",
            f"$import takes the resources as NDJSON (application/fhir+ndjson) in the body, "
            f"not {media or 'an untyped body'}; inputs by URL are not supported",
        )
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise error("CH-1003", f"Content-Encoding {encoding[:40]} is not supported (gzip is)")
    jobs = repo.jobs
    base = settings.base_url.rstrip("/")
    job_id, folder = await run_in_threadpool(jobs.new_input)
    name = "upload.ndjson.gz" if encoding == "gzip" else "upload.ndjson"
    try:
        size = await _save_body(request, folder / name, settings.bulk_import_max_bytes)
        if size == 0:
            raise error("CH-1006", "the $import body is empty")
        job = await run_in_threadpool(
            jobs.submit, "import", f"{base}/$import", {"bytes": size, "file": name}, job_id
        )
    except BaseException:
        await run_in_threadpool(jobs.discard_input, job_id)
        raise
    location = f"{base}/bulkstatus/{job.id}"
    text = f"import accepted ({size} bytes); poll {location}"
    return fhir_response(
        information(text), 202, indent=pretty(request), headers={"Content-Location": location}
    )


async def _save_body(request: Request, path: Path, limit: int) -> int:
    """Stream the body to ``path``; CH-1004 past ``limit`` bytes."""
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise error("CH-1004", f"the $import body is larger than {limit} bytes")
            await run_in_threadpool(out.write, chunk)
    return size


routes = [
    Route("/$import", import_kickoff, methods=["POST"]),
    Route("/bulkstatus/{job}", status, methods=["GET"]),
    Route("/bulkstatus/{job}", cancel, methods=["DELETE"]),
    Route("/bulkfiles/{job}/{name}", output_file, methods=["GET"]),
]
