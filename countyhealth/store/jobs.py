"""Bulk data jobs: their rows in ``bulk_job`` and their folders under ``settings.bulk_dir``.

A job follows the FHIR Asynchronous Request Pattern (https://hl7.org/fhir/R4/async.html and
https://hl7.org/fhir/uv/bulkdata/export.html): a caller submits it, a worker — in any server
process — runs it, and the caller polls it. Its state lives in the database, so every process
can answer a poll and a job outlives a restart; its output files live in one folder per job.
``kind`` says what a job does (``export``); another kind needs a runner, not a new table.

Status: ``accepted`` → ``in-progress`` → ``completed`` or ``failed``; the owner may cancel at
any time (``cancelled``; the job then looks unknown). While a job runs its worker reports
progress, which doubles as a heartbeat: an ``in-progress`` job whose heartbeat is older than
``bulk_stale_seconds`` was interrupted (its process ended) and is queued again from the start.
Every status change is a conditional UPDATE, so two workers never run the same job.
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Row, func, select, update

from ..errors import error, forbidden
from .clock import Clock
from .context import Caller
from .dialect import Engines
from .schema import bulk_job
from .scopes import Scopes

ACCEPTED, IN_PROGRESS, COMPLETED, FAILED, CANCELLED = (
    "accepted",
    "in-progress",
    "completed",
    "failed",
    "cancelled",
)
#: How often a job may be interrupted before it is given up as failed.
MAX_ATTEMPTS = 3

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.ndjson$")


@dataclass(frozen=True, slots=True)
class Job:
    """One bulk data job as stored."""

    id: str
    kind: str
    owner: str
    caller: Caller
    request_url: str
    params: dict[str, Any]
    status: str
    progress: str
    attempts: int
    created_us: int
    updated_us: int
    manifest: dict[str, Any] | None
    error: dict[str, Any] | None  # the OperationOutcome of a failed job


def owner_of(caller: Caller) -> str:
    return f"{caller.kind}/{caller.id}"


def caller_json(caller: Caller) -> str:
    """The caller a job runs as, scopes included (the channel and address are the request's)."""
    return orjson.dumps(
        {
            "kind": caller.kind,
            "id": caller.id,
            "scope": caller.scopes.text(),
            "roles": list(caller.roles),
            "organization": caller.organization,
            "network_address": caller.network_address,
            "channel": caller.channel,
            "display": caller.display,
            "access": caller.access,
            "actors": list(caller.actors),
            "patients": list(caller.patients),
            "privileges": list(caller.privileges),
        }
    ).decode()


def caller_from_json(text: str) -> Caller:
    data = orjson.loads(text)
    return Caller(
        kind=data["kind"],
        id=data["id"],
        scopes=Scopes.parse(data["scope"]),
        roles=tuple(data.get("roles") or ()),
        organization=data.get("organization"),
        network_address=data.get("network_address"),
        channel=data.get("channel") or "api",
        display=data.get("display"),
        access=data.get("access") or "all",
        actors=tuple(data.get("actors") or ()),
        patients=tuple(data.get("patients") or ()),
        privileges=tuple(data.get("privileges") or ()),
    )


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        owner=row.owner,
        caller=caller_from_json(row.caller),
        request_url=row.request_url,
        params=orjson.loads(row.params),
        status=row.status,
        progress=row.progress,
        attempts=row.attempts,
        created_us=row.created_us,
        updated_us=row.updated_us,
        manifest=orjson.loads(row.manifest) if row.manifest else None,
        error=orjson.loads(row.error) if row.error else None,
    )


class JobStore:
    """Rows and folders of bulk jobs, for every caller (workers use this; callers go through
    :class:`CallerJobs`, which only shows them their own jobs)."""

    def __init__(self, engines: Engines, clock: Clock, root: Path) -> None:
        self.engines = engines
        self.clock = clock
        self.root = root
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ submit and read

    @staticmethod
    def new_id() -> str:
        """An id for a job whose input is stored before it is submitted ($import)."""
        return uuid.uuid4().hex

    def submit(
        self,
        kind: str,
        caller: Caller,
        request_url: str,
        params: dict[str, Any],
        job_id: str | None = None,
    ) -> Job:
        now = self.clock.now_us()
        job_id = job_id or self.new_id()
        with self.engines.write.begin() as conn:
            conn.execute(
                bulk_job.insert().values(
                    id=job_id,
                    kind=kind,
                    owner=owner_of(caller),
                    caller=caller_json(caller),
                    request_url=request_url,
                    params=orjson.dumps(params).decode(),
                    status=ACCEPTED,
                    progress="",
                    attempts=0,
                    created_us=now,
                    updated_us=now,
                )
            )
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        job = self.get(job_id)
        assert job is not None
        return job

    def on_submit(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each submission in this process; returns the unsubscriber."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def get(self, job_id: str) -> Job | None:
        if not _JOB_ID.match(job_id):
            return None
        with self.engines.read.connect() as conn:
            row = conn.execute(select(bulk_job).where(bulk_job.c.id == job_id)).first()
        return _job(row) if row is not None else None

    # ------------------------------------------------------------------ workers

    def claim_next(self, runner: str, kinds: Iterable[str]) -> Job | None:
        """Take the oldest accepted job of ``kinds`` for ``runner`` (None when there is none)."""
        kinds = list(kinds)
        with self.engines.read.connect() as conn:
            candidates = conn.execute(
                select(bulk_job.c.id)
                .where(bulk_job.c.status == ACCEPTED, bulk_job.c.kind.in_(kinds))
                .order_by(bulk_job.c.created_us)
                .limit(5)
            ).all()
        for (job_id,) in candidates:
            claimed = self._change(
                job_id,
                [ACCEPTED],
                None,
                status=IN_PROGRESS,
                runner=runner,
                progress="started",
                attempts=bulk_job.c.attempts + 1,
            )
            if claimed:
                return self.get(job_id)
        return None

    def heartbeat(self, job_id: str, runner: str, progress: str) -> bool:
        """Report progress; False when the job is no longer this runner's (e.g. cancelled)."""
        return self._change(job_id, [IN_PROGRESS], runner, progress=progress[:200])

    def complete(self, job_id: str, runner: str, manifest: dict[str, Any]) -> bool:
        return self._change(
            job_id,
            [IN_PROGRESS],
            runner,
            status=COMPLETED,
            progress="completed",
            manifest=orjson.dumps(manifest).decode(),
        )

    def fail(self, job_id: str, runner: str | None, outcome: dict[str, Any]) -> bool:
        return self._change(
            job_id,
            [IN_PROGRESS],
            runner,
            status=FAILED,
            progress="failed",
            error=orjson.dumps(outcome).decode(),
        )

    def release(self, job_id: str, runner: str) -> bool:
        """Give a job back to the queue (its worker is stopping); this run does not count."""
        return self._change(
            job_id,
            [IN_PROGRESS],
            runner,
            status=ACCEPTED,
            runner=None,
            progress="queued again",
            attempts=bulk_job.c.attempts - 1,
        )

    def requeue_stale(self, stale_before_us: int) -> list[str]:
        """Queue again the in-progress jobs whose heartbeat is older than ``stale_before_us``.

        A job interrupted :data:`MAX_ATTEMPTS` times fails instead. Returns the ids queued.
        """
        with self.engines.read.connect() as conn:
            rows = conn.execute(
                select(bulk_job.c.id, bulk_job.c.attempts).where(
                    bulk_job.c.status == IN_PROGRESS, bulk_job.c.updated_us < stale_before_us
                )
            ).all()
        queued = []
        for job_id, attempts in rows:
            stale = bulk_job.c.updated_us < stale_before_us
            if attempts >= MAX_ATTEMPTS:
                outcome = error(
                    "CH-8005", f"the job was interrupted {attempts} times; it is given up"
                ).to_fhir()
                self._change(
                    job_id,
                    [IN_PROGRESS],
                    None,
                    stale,
                    status=FAILED,
                    progress="failed",
                    error=orjson.dumps(outcome).decode(),
                )
                continue
            if self._change(
                job_id,
                [IN_PROGRESS],
                None,
                stale,
                status=ACCEPTED,
                runner=None,
                progress="queued again after an interruption",
            ):
                queued.append(job_id)
        return queued

    def cancel(self, job_id: str) -> str | None:
        """Cancel a job; returns the status it had (None when there was nothing to cancel).

        The files of a job that is not running are removed now; a running job's worker
        notices at its next heartbeat, stops and removes them.
        """
        job = self.get(job_id)
        if job is None or job.status == CANCELLED:
            return None
        if not self._change(
            job_id, [job.status], None, status=CANCELLED, progress="cancelled", manifest=None
        ):
            return self.cancel(job_id)  # the status changed meanwhile: cancel what it is now
        if job.status != IN_PROGRESS:
            self.remove_folder(job_id)
        return job.status

    def count(self, status: str) -> int:
        with self.engines.read.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(bulk_job).where(bulk_job.c.status == status)
                ).scalar_one()
            )

    def _change(
        self,
        job_id: str,
        statuses: list[str],
        held_by: str | None,
        *conditions: Any,
        **values: Any,
    ) -> bool:
        """Update a job if it is in one of ``statuses`` (and run by ``held_by``, if given)."""
        values["updated_us"] = self.clock.now_us()
        where = [bulk_job.c.id == job_id, bulk_job.c.status.in_(statuses), *conditions]
        if held_by is not None:
            where.append(bulk_job.c.runner == held_by)
        with self.engines.write.begin() as conn:
            result = conn.execute(update(bulk_job).where(*where).values(**values))
        return result.rowcount == 1

    # ------------------------------------------------------------------ folders

    def folder(self, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id[:40]!r}")
        return self.root / job_id

    def input_folder(self, job_id: str) -> Path:
        """Where a job's input files are kept (never served: output files are the folder's
        own ``.ndjson`` files)."""
        return self.folder(job_id) / "input"

    def fresh_folder(self, job_id: str) -> Path:
        """The job's folder, emptied (a job run again starts from scratch)."""
        path = self.folder(job_id)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def remove_folder(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def output_file(self, job_id: str, name: str) -> Path | None:
        if not _FILE_NAME.match(name):
            return None
        path = self.folder(job_id) / name
        return path if path.is_file() else None

    def sweep(self) -> int:
        """Remove the folders of cancelled jobs whose worker ended before it could."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for path in self.root.iterdir():
            if path.is_dir() and _JOB_ID.match(path.name):
                job = self.get(path.name)
                if job is not None and job.status == CANCELLED:
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
        return removed


class CallerJobs:
    """The bulk jobs of one caller. Other callers' jobs look unknown (404), so their
    existence does not leak."""

    def __init__(self, jobs: JobStore, caller: Caller) -> None:
        self._jobs = jobs
        self.caller = caller

    def submit(
        self, kind: str, request_url: str, params: dict[str, Any], job_id: str | None = None
    ) -> Job:
        return self._jobs.submit(kind, self.caller, request_url, params, job_id)

    def new_input(self) -> tuple[str, Path]:
        """A new job id and the empty folder for its input, stored before the job is submitted;
        the caller removes it with :meth:`discard_input` if the submission does not happen.

        Raises:
            OperationOutcomeError: CH-4003 when the scopes allow no create or update, so that
                nothing could be imported.
        """
        scopes = self.caller.scopes
        if not (scopes.allows_any("create") or scopes.allows_any("update")):
            raise forbidden("the granted scopes allow no writes, so nothing could be imported")
        job_id = self._jobs.new_id()
        folder = self._jobs.input_folder(job_id)
        folder.mkdir(parents=True)
        return job_id, folder

    def discard_input(self, job_id: str) -> None:
        self._jobs.remove_folder(job_id)

    def get(self, job_id: str) -> Job:
        """The caller's job; CH-8001 when unknown, cancelled or someone else's."""
        job = self._jobs.get(job_id)
        if job is None or job.owner != owner_of(self.caller) or job.status == CANCELLED:
            raise error("CH-8001", f"bulk data job {job_id[:64]!r} is not known")
        return job

    def cancel(self, job_id: str) -> None:
        self.get(job_id)
        if self._jobs.cancel(job_id) is None:
            raise error("CH-8001", f"bulk data job {job_id[:64]!r} is not known")

    def output_file(self, job_id: str, name: str) -> Path:
        """A file of the caller's completed job; CH-8006 when there is no such file."""
        job = self.get(job_id)
        path = self._jobs.output_file(job_id, name) if job.status == COMPLETED else None
        if path is None:
            raise error("CH-8006", f"bulk data job {job_id} has no file {name[:80]!r}")
        return path


__all__ = ["CallerJobs", "Job", "JobStore", "caller_from_json", "caller_json", "owner_of"]
