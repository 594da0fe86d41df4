"""Running an $import job: the uploaded NDJSON through the import pipeline, as the caller.

The kick-off (``api/bulk.py``) stores the body under the job's ``input`` folder before it
submits the job, so a job never runs on a partial upload. The run is
:func:`countyhealth.ingest.import_paths` — the same validated and indexed path as
``countyhealth import`` — with its checkpoint in the job folder: a job interrupted by the end
of its server process is queued again and resumes after the last committed chunk instead of
starting over (replaying that chunk stores nothing twice). Rejected resources go to
``error.1.ndjson`` as OperationOutcomes, each naming the line it came from.

The manifest has the shape of an $export manifest
(https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status): ``output`` holds one
OperationOutcome summarising what was stored, ``error`` the rejects file when there are
rejects, and ``extension`` the counts (the IG allows an ``extension`` object there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ..fhir.instant import format_instant
from ..ingest import import_paths
from ..store import Job, Store

if TYPE_CHECKING:
    from .worker import JobControl

CHECKPOINT = "import.checkpoint.json"
REJECTS = "error.1.ndjson"
SUMMARY = "outcome.1.ndjson"


def run_import(store: Store, job: Job, control: JobControl) -> dict[str, Any]:
    """Import the job's input and return its manifest."""
    settings = store.settings
    jobs = store.jobs
    folder = jobs.folder(job.id)
    started_us = store.clock.now_us()

    def progress(done: int, bytes_done: int, total_bytes: int) -> None:
        share = 100 * bytes_done // max(total_bytes, 1)
        control.progress(f"{share}% of the input read; {done} resources in this run")

    control.progress("started")
    report = import_paths(
        store.repository(job.caller),
        [jobs.input_folder(job.id)],
        workers=settings.bulk_import_workers,
        chunk_size=settings.bulk_import_chunk_size,
        state_path=folder / CHECKPOINT,
        rejects_path=folder / REJECTS,
        progress=progress,
    )
    totals = report.totals()
    summary = (
        f"{totals['created']} created, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged, {totals['rejected']} rejected"
    )
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": summary}],
    }
    (folder / SUMMARY).write_bytes(orjson.dumps(outcome) + b"\n")
    files_url = f"{settings.base_url.rstrip('/')}/bulkfiles/{job.id}"
    errors = []
    if totals["rejected"]:
        errors.append(
            {
                "type": "OperationOutcome",
                "url": f"{files_url}/{REJECTS}",
                "count": totals["rejected"],
            }
        )
    return {
        "transactionTime": format_instant(started_us),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": "OperationOutcome", "url": f"{files_url}/{SUMMARY}", "count": 1}],
        "error": errors,
        "extension": totals,
    }
