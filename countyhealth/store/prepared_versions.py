"""Versions prepared before the unit of work that stores them (optimistic concurrency).

A hot write — a crowd taking the slots released at 07:00 — spends most of its time validating
resources and extracting their index rows, none of which needs the database. Preparing them
first leaves the write transaction, which every other writer waits for on SQLite, nothing but
the row writes. An update is prepared from the version it replaces and stored only if that
version is still current when the transaction writes it, exactly as an update with
``If-Match`` would be (https://hl7.org/fhir/R4/http.html#concurrency); a create is stored as
``POST`` (https://hl7.org/fhir/R4/http.html#create). Checks, scopes, custodian and audit are
those of :meth:`Repository.create` and :meth:`Repository.update`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from ..errors import error
from ..fhir.instant import format_instant
from ..fhir.task_workflow import check_task_write
from ..fhir.validation import check_resource
from .meta import with_meta
from .rows import (
    IndexTuples,
    NewVersion,
    delete_index_rows,
    index_tuples,
    insert_first_version,
    insert_history,
    insert_index_tuples,
    update_if_current,
)
from .stored import Stored

if TYPE_CHECKING:
    from .repository import Repository


@dataclass(frozen=True, slots=True)
class PreparedVersion:
    """A valid resource version with its index rows, waiting for :func:`write_versions`."""

    rtype: str
    rid: str
    #: the version an update replaces; None for a create
    base_version: int | None
    #: the resource with ``meta.versionId`` (``meta.lastUpdated`` is set when it is written)
    document: dict[str, Any]
    index: IndexTuples
    #: the AuditEvent of the write (patient data), prepared with it: it is ``recorded`` when
    #: the write was prepared, milliseconds before it commits
    audit: PreparedVersion | None = None

    @property
    def version_id(self) -> int:
        return 1 if self.base_version is None else self.base_version + 1


def prepare_create(
    repo: Repository, body: dict[str, Any], assigned_id: str | None = None
) -> PreparedVersion:
    """What :meth:`Repository.create` would store, checked now and written later."""
    rtype = repo.body_type(body)
    with repo.audited_failure("create", rtype, rtype, []):
        rid = repo.checked_new_id(rtype, body, assigned_id)
        repo.check_writable(rtype, rid, body, None)
        if rtype == "Task":
            check_task_write(None, body)
        return _prepared(repo, rtype, rid, None, repo.custodian_tagged(body, None))


def prepare_update(repo: Repository, current: Stored, body: dict[str, Any]) -> PreparedVersion:
    """What :meth:`Repository.update` with ``If-Match: current.version`` would store."""
    rtype, rid = current.type, current.id
    with repo.audited_failure("update", rtype, current.reference, []):
        repo.require(rtype, "update")
        if body.get("resourceType") != rtype or body.get("id") != rid:
            raise error("CH-2006", f"the prepared body is not {current.reference}", f"{rtype}.id")
        if current.deleted:
            raise error("CH-2009", f"{current.reference} is deleted; it cannot be updated")
        check_resource(body)
        repo.check_writable(rtype, rid, body, current)
        if rtype == "Task":
            check_task_write(current.resource, body)
        tagged = repo.custodian_tagged(body, current)
        return _prepared(repo, rtype, rid, current.version, tagged)


def _prepared(
    repo: Repository, rtype: str, rid: str, base: int | None, body: dict[str, Any]
) -> PreparedVersion:
    version_id = 1 if base is None else base + 1
    document = with_meta(body, rid, version_id, "")
    interaction = "create" if base is None else "update"
    event = repo.write_event(interaction, rtype, rid, version_id, document)
    extract = repo.store.extract
    audit = None
    if event is not None:
        event = with_meta(event, event["id"], 1, "")
        audit = PreparedVersion(
            "AuditEvent", event["id"], None, event, index_tuples(extract, event)
        )
    return PreparedVersion(rtype, rid, base, document, index_tuples(extract, document), audit)


def write_versions(repo: Repository, versions: Sequence[PreparedVersion]) -> list[Stored]:
    """Store prepared versions and their AuditEvents in one unit of work (the caller's, when
    one is open).

    Raises:
        OperationOutcomeError: CH-2009 (409) when an updated resource is no longer at the
            version it was prepared from; a create whose id exists already is a conflict too.
    """
    clock = repo.store.clock

    def work(conn: Connection) -> list[Stored]:
        stored = [_write(conn, v, clock.now_us()) for v in versions]
        for v in versions:
            if v.audit is not None:
                _write(conn, v.audit, clock.now_us())
        return stored

    return repo.write(work)


def _write(conn: Connection, prepared: PreparedVersion, now: int) -> Stored:
    rtype, rid = prepared.rtype, prepared.rid
    document = dict(prepared.document)
    document["meta"] = {**document["meta"], "lastUpdated": format_instant(now)}
    content = orjson.dumps(document)
    method = "POST" if prepared.base_version is None else "PUT"
    version = NewVersion(rtype, rid, prepared.version_id, now, method, content, document)
    if prepared.base_version is None:
        res_pk = insert_first_version(conn, version)
    else:
        key = update_if_current(conn, prepared.base_version, version)
        if key is None:
            raise error(
                "CH-2009",
                f"{rtype}/{rid} is no longer at version {prepared.base_version}; read it again",
            )
        res_pk = key
        delete_index_rows(conn, [res_pk])
    insert_history(conn, [(res_pk, version)])
    insert_index_tuples(conn, [(res_pk, rtype, prepared.index)])
    return Stored(rtype, rid, version.version_id, now, False, content, method)
