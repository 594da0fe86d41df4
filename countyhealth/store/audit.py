"""AuditEvents for every interaction with patient data, written durably in batches.

Events follow the shape of the IHE Basic Audit Log Patterns (BALP) for RESTful interactions:
type ``rest``, subtype the FHIR interaction, the caller as requesting agent, the server as
source, the resource and the patient(s) as entities. See
https://hl7.org/fhir/R4/auditevent.html and https://profiles.ihe.net/ITI/BALP/.

Successful writes insert their AuditEvent in the same transaction as the resource. Reads and
failures go through :class:`AuditWriter`, which gathers events from many requests into one
transaction (group commit) and answers each request only once its event is committed, so an
acknowledged interaction is never missing from the audit trail.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import orjson
from sqlalchemy import Connection

from ..fhir.instant import format_instant
from .context import Caller
from .rows import IndexExtractor, NewVersion, insert_new_resources

log = logging.getLogger(__name__)

_ACTION = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "update": "U",
    "patch": "U",
    "delete": "D",
}
_INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
CALLER_SYSTEM = "https://countyhealth.example.org/fhir/NamingSystem/caller"


def build_audit_event(
    *,
    caller: Caller,
    interaction: str,
    recorded_us: int,
    outcome_status: int,
    entity: str | None,
    patients: Sequence[str],
    detail: str | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    """An AuditEvent for one interaction.

    Args:
        interaction: FHIR restful interaction code (read, vread, update, search-type, …).
        outcome_status: HTTP status of the answer; 2xx → 0, 4xx → 4 (minor), 5xx → 8.
        entity: the resource acted on as ``Type/id[/_history/v]``, or None for type/system level.
        patients: ids of the patients whose data was involved.
        detail: the error code and diagnostics of a failure.
        query: the query string of a search or history interaction.
    """
    outcome = "0" if outcome_status < 400 else ("4" if outcome_status < 500 else "8")
    agent: dict[str, Any] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP" if caller.kind == "user" else "AUT",
                }
            ]
        },
        "who": {
            "identifier": {"system": f"{CALLER_SYSTEM}/{caller.kind}", "value": caller.id},
            "display": caller.display or caller.id,
        },
        "requestor": True,
    }
    if caller.organization:
        agent["who"]["reference"] = caller.organization
    if caller.network_address:
        agent["network"] = {"address": caller.network_address, "type": "2"}
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(uuid.uuid4()),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation",
        },
        "subtype": [{"system": _INTERACTION_SYSTEM, "code": interaction, "display": interaction}],
        "action": _ACTION.get(interaction, "E"),
        "recorded": format_instant(recorded_us),
        "outcome": outcome,
        "agent": [agent],
        "source": {
            "site": caller.channel,
            "observer": {"display": "CountyHealth FHIR server"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
    }
    if detail:
        event["outcomeDesc"] = detail
    entities: list[dict[str, Any]] = []
    for pid in patients:
        entities.append(
            {
                "what": {"reference": f"Patient/{pid}"},
                "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1"),
                "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "1"),
            }
        )
    if entity is not None or query is not None:
        item: dict[str, Any] = {
            "type": _coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
            "role": _coding("http://terminology.hl7.org/CodeSystem/object-role", "4"),
        }
        if entity is not None:
            item["what"] = {"reference": entity}
        if query is not None:
            item["query"] = _base64(query)
        entities.append(item)
    if entities:
        event["entity"] = entities
    return event


def _coding(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode("ascii")


def audit_versions(events: Sequence[dict[str, Any]], now_us: int) -> list[NewVersion]:
    """Stamp meta on AuditEvents and turn them into first versions to insert."""
    stamp = format_instant(now_us)
    out = []
    for event in events:
        event["meta"] = {"versionId": "1", "lastUpdated": stamp}
        out.append(
            NewVersion("AuditEvent", event["id"], 1, now_us, "POST", orjson.dumps(event), event)
        )
    return out


class AuditWriter:
    """Background writer that commits AuditEvents from many requests in one transaction.

    ``record`` blocks until the events are committed (or raises if they cannot be), so the
    caller can answer its request knowing the audit trail holds it.
    """

    def __init__(
        self,
        begin_write: Callable[[], Any],
        extract: IndexExtractor,
        now_us: Callable[[], int],
        *,
        batch_size: int = 500,
        flush_ms: float = 2.0,
    ) -> None:
        self._begin_write = begin_write
        self._extract = extract
        self._now_us = now_us
        self._batch_size = batch_size
        self._flush_s = flush_ms / 1000
        self._queue: queue.Queue[tuple[list[dict[str, Any]], Future[None]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    t = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                    t.start()
                    self._thread = t

    def record(self, events: list[dict[str, Any]], timeout: float = 60.0) -> None:
        """Queue events and wait until they are committed."""
        if not events:
            return
        self._ensure_thread()
        fut: Future[None] = Future()
        self._queue.put((events, fut))
        fut.result(timeout=timeout)

    def write_now(self, conn: Connection, events: list[dict[str, Any]]) -> None:
        """Insert events inside the caller's open write transaction."""
        if events:
            insert_new_resources(conn, audit_versions(events, self._now_us()), self._extract)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            count = len(item[0])
            deadline = time.monotonic() + self._flush_s
            stop = False
            while count < self._batch_size:
                remaining = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=max(remaining, 0)) if remaining > 0 else (
                        self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
                count += len(nxt[0])
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[list[dict[str, Any]], Future[None]]]) -> None:
        events = [e for evs, _ in batch for e in evs]
        for attempt in range(5):
            try:
                with self._begin_write() as conn:
                    self.write_now(conn, events)
                break
            except Exception as exc:  # retried, then reported to every waiting request
                log.warning("audit batch of %d failed (attempt %d): %s", len(events), attempt, exc)
                if attempt == 4:
                    for _, fut in batch:
                        fut.set_exception(exc)
                    return
                time.sleep(0.05 * (attempt + 1))
        for _, fut in batch:
            fut.set_result(None)
