"""Running an $export job: NDJSON files per resource type and the completion manifest.

https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status. The job runs as the
caller who started it (their scopes apply) and reads through the Repository page by page. The
``transactionTime`` is the moment the run starts: resources changed later are left for the
next export (``_since``). Each type goes to ``Type.1.ndjson``, ``Type.2.ndjson``… of at most
``bulk_max_lines_per_file`` resources; types without data get no file. Warnings (parameters
ignored under ``Prefer: handling=lenient``) go to ``error.1.ndjson`` as OperationOutcomes.

Identity numbers and phone numbers of Patients, RelatedPersons, Persons and Practitioners are
masked in the files (:func:`countyhealth.security.masking.mask_resource`) unless the caller
holds the ``full-identifiers`` privilege or is the platform itself (kind ``system``): an export
leaves the platform, and most of its uses (statistics, quality checks) need no full numbers
(PIPL art. 6, minimal necessary use).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

import orjson

from ..fhir.instant import format_instant
from ..operations.export import ExportJob, group_members
from ..security.masking import FULL_IDENTIFIERS, PEOPLE_TYPES, mask_resource
from ..store import ALL_PATIENTS, Caller, ExportSelection, Job, Store

if TYPE_CHECKING:
    from .worker import JobControl

NDJSON = "application/fhir+ndjson"


class NdjsonFiles:
    """The NDJSON files of one resource type, split at ``max_lines`` resources per file."""

    def __init__(self, folder: Path, stem: str, max_lines: int) -> None:
        self.folder = folder
        self.stem = stem
        self.max_lines = max_lines
        self.files: list[tuple[str, int]] = []  # (file name, resources in it)
        self.count = 0  # resources written, over all files
        self._out: IO[bytes] | None = None
        self._lines = 0

    def write(self, line: bytes) -> None:
        """Append one JSON document (already compact JSON: stored resources are)."""
        if self._out is None or self._lines >= self.max_lines:
            self._roll()
        assert self._out is not None
        if b"\n" in line:  # keep one resource per line whatever the stored formatting
            line = orjson.dumps(orjson.loads(line))
        self._out.write(line)
        self._out.write(b"\n")
        self._lines += 1
        self.count += 1
        name, _ = self.files[-1]
        self.files[-1] = (name, self._lines)

    def _roll(self) -> None:
        self.close()
        name = f"{self.stem}.{len(self.files) + 1}.ndjson"
        self._out = (self.folder / name).open("wb")
        self._lines = 0
        self.files.append((name, 0))

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def __enter__(self) -> NdjsonFiles:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _patients(store: Store, job: Job, spec: ExportJob) -> tuple[str, ...] | Literal["*"] | None:
    if spec.level == "system":
        return None
    if spec.level == "group":
        assert spec.group is not None
        repo = store.repository(job.caller)
        members = group_members(repo.read("Group", spec.group).resource)
        if spec.patients:
            return tuple(m for m in members if m in spec.patients)
        return tuple(members)
    return spec.patients or ALL_PATIENTS


def sees_full_identifiers(caller: Caller) -> bool:
    """Whether ``caller``'s exports carry identity and phone numbers unmasked."""
    return caller.kind == "system" or FULL_IDENTIFIERS in caller.privileges


def run_export(store: Store, job: Job, control: JobControl) -> dict[str, Any]:
    """Write the job's files and return its manifest."""
    spec = ExportJob.from_json(job.params)
    settings = store.settings
    repo = store.repository(job.caller)
    transaction_us = store.clock.now_us()
    folder = store.jobs.fresh_folder(job.id)
    patients = _patients(store, job, spec)
    files_url = f"{settings.base_url.rstrip('/')}/bulkfiles/{job.id}"
    output: list[dict[str, Any]] = []
    unmasked = sees_full_identifiers(job.caller)
    for number, rtype in enumerate(spec.types, 1):
        masked = not unmasked and rtype in PEOPLE_TYPES
        selection = ExportSelection(
            rtype,
            until_us=transaction_us,
            since_us=spec.since_us,
            filters=spec.filters_for(rtype),
            patients=patients,
            label=job.request_url,
        )
        with NdjsonFiles(folder, rtype, settings.bulk_max_lines_per_file) as files:
            control.progress(f"{rtype} ({number} of {len(spec.types)} types)")
            for page in repo.export_pages(selection, settings.bulk_page_size):
                for stored in page:
                    assert stored.content is not None
                    if masked:
                        files.write(orjson.dumps(mask_resource(orjson.loads(stored.content))))
                    else:
                        files.write(stored.content)
                control.progress(
                    f"{rtype} ({number} of {len(spec.types)} types): {files.count} resources"
                )
        for name, count in files.files:
            output.append({"type": rtype, "url": f"{files_url}/{name}", "count": count})
    errors: list[dict[str, Any]] = []
    if spec.warnings:
        with NdjsonFiles(folder, "error", max(len(spec.warnings), 1)) as files:
            for text in spec.warnings:
                outcome = {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "warning", "code": "not-supported", "diagnostics": text}
                    ],
                }
                files.write(orjson.dumps(outcome))
        name, count = files.files[0]
        errors.append({"type": "OperationOutcome", "url": f"{files_url}/{name}", "count": count})
    return {
        "transactionTime": format_instant(transaction_us),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": output,
        "error": errors,
    }
