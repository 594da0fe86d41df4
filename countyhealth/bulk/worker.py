"""Running bulk data jobs: a background worker thread per server process, or all at once.

Jobs are stored by :class:`~countyhealth.store.JobStore`; any process may run any job. A
:class:`BulkWorker` claims the oldest accepted job, runs it with the runner of its kind and
records the result, then looks again — at once after a submission in its own process, every
``bulk_poll_seconds`` otherwise. On start and on every look it queues again the jobs left
``in-progress`` by a process that ended (no heartbeat for ``bulk_stale_seconds``); they run
again from the start. :func:`run_pending` runs the queued jobs in the calling thread (tests,
command line).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import OperationOutcomeError, error
from ..store import Job, Store
from .export import run_export
from .import_job import run_import

log = logging.getLogger("countyhealth.bulk")


class JobInterrupted(Exception):
    """The job was cancelled by its owner, or its worker is stopping."""


class JobControl:
    """Handed to a runner: report progress (the heartbeat) and learn when to stop."""

    def __init__(self, store: Store, job: Job, runner: str, stopping: threading.Event) -> None:
        self._store = store
        self._job_id = job.id
        self._runner = runner
        self._stopping = stopping
        self._interval = min(1.0, store.settings.bulk_stale_seconds / 4)
        self._last = time.monotonic()

    def progress(self, text: str) -> None:
        """Record ``text`` (at most once per second).

        Raises:
            JobInterrupted: the worker is stopping, or the job is no longer this worker's.
        """
        if self._stopping.is_set():
            raise JobInterrupted("the worker is stopping")
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        if not self._store.jobs.heartbeat(self._job_id, self._runner, text):
            raise JobInterrupted("the job was cancelled")


#: A runner does the work of one job kind and returns its manifest.
Runner = Callable[[Store, Job, JobControl], dict[str, Any]]
RUNNERS: dict[str, Runner] = {"export": run_export, "import": run_import}


def runner_name() -> str:
    """A name for one worker, unique across hosts, processes and restarts."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_job(store: Store, job: Job, runner: str, stopping: threading.Event) -> None:
    """Run a claimed job and record how it ended."""
    jobs = store.jobs
    control = JobControl(store, job, runner, stopping)
    try:
        manifest = RUNNERS[job.kind](store, job, control)
    except JobInterrupted:
        if stopping.is_set() and jobs.release(job.id, runner):
            log.info("bulk job %s queued again: the worker is stopping", job.id)
        else:
            jobs.remove_folder(job.id)  # cancelled
        return
    except OperationOutcomeError as exc:
        first = exc.issues[0]
        outcome = error("CH-8005", f"{first.code} {first.diagnostics}").to_fhir()
        jobs.fail(job.id, runner, outcome)
        jobs.remove_folder(job.id)
        return
    except Exception:
        log.exception("bulk job %s failed", job.id)
        outcome = error("CH-8005", "the job failed on an unexpected error").to_fhir()
        jobs.fail(job.id, runner, outcome)
        jobs.remove_folder(job.id)
        return
    if not jobs.complete(job.id, runner, manifest):
        jobs.remove_folder(job.id)  # cancelled while it finished


def requeue_interrupted(store: Store) -> list[str]:
    """Queue again the jobs whose worker stopped reporting (its process ended)."""
    stale_us = int(store.settings.bulk_stale_seconds * 1_000_000)
    queued = store.jobs.requeue_stale(store.clock.now_us() - stale_us)
    for job_id in queued:
        log.warning("bulk job %s was interrupted; it runs again from the start", job_id)
    return queued


def run_pending(store: Store) -> int:
    """Run every queued job now, in this thread. Returns how many jobs ran."""
    requeue_interrupted(store)
    runner = runner_name()
    ran = 0
    while (job := store.jobs.claim_next(runner, RUNNERS)) is not None:
        run_job(store, job, runner, threading.Event())
        ran += 1
    return ran


class BulkWorker:
    """The background thread that runs bulk jobs in a server process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.name = runner_name()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        requeue_interrupted(self.store)
        self.store.jobs.sweep()
        self._unsubscribe = self.store.jobs.on_submit(self._wake.set)
        self._thread = threading.Thread(target=self._loop, name="bulk-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current page; a job in progress goes back to the queue."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        poll = self.store.settings.bulk_poll_seconds
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                requeue_interrupted(self.store)
                job = self.store.jobs.claim_next(self.name, RUNNERS)
                if job is not None:
                    run_job(self.store, job, self.name, self._stopping)
                    continue
            except Exception:  # e.g. the database is unreachable: try again later
                log.exception("the bulk worker could not look for jobs")
            self._wake.wait(poll)
