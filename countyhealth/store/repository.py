"""The Repository: the only door to stored data.

Built per request with the :class:`Caller`; every interaction checks the caller's scopes and
writes an AuditEvent when it touches patient data, on success and on failure. The REST layer,
domain services and the synthetic-county generator all go through it. Interactions follow
https://hl7.org/fhir/R4/http.html.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import jsonpatch
import orjson
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from ..errors import OperationOutcomeError, conflict, error, forbidden, gone, not_found
from ..fhir import compartment, definitions
from ..fhir.consent_grants import custodian_of, with_custodian
from ..fhir.instant import format_instant
from ..fhir.search_request import SearchRequest, parse_search
from ..fhir.task_workflow import check_task_write
from ..fhir.validation import check_resource
from . import conditional
from .access import AccessRule
from .access_log import Access, access_log
from .audit import build_audit_event
from .break_glass import Opening, break_glass_openings, live_opening, open_break_glass
from .bulk import put_many
from .context import Caller
from .dialect import lock_for_update, lock_key
from .export_read import ExportSelection, export_pages
from .history import HistoryPage, HistoryQuery, read_history
from .ingest_prepare import PreparedChunk
from .ingest_write import ChunkCounts, write_chunk
from .jobs import CallerJobs
from .meta import check_id, with_meta
from .patient_blocking import BlockingKeys, patient_candidates
from .prepared_versions import (
    PreparedVersion,
    prepare_create,
    prepare_update,
    write_versions,
)
from .referrers import Stamp, referring_resources, referring_versions
from .rows import (
    CurrentRow,
    NewVersion,
    current_row,
    insert_first_version,
    insert_history,
    replace_index_rows,
    update_current,
)
from .schema import resource, resource_history
from .scopes import Scopes
from .search import ConditionBuilder, SearchPage, run_search
from .search.compartments import compartment_condition
from .search.usable import check_usable
from .stored import Stored

if TYPE_CHECKING:
    from .store import Store

T = TypeVar("T")

# Statements of the hot read paths, built once (SQLAlchemy caches their compiled form).
_READ_CURRENT = select(
    resource.c.version_id, resource.c.last_updated_us, resource.c.deleted, resource.c.content
).where(resource.c.res_type == bindparam("t"), resource.c.res_id == bindparam("i"))
_READ_VERSION = select(
    resource_history.c.last_updated_us, resource_history.c.method, resource_history.c.content
).where(
    resource_history.c.res_type == bindparam("t"),
    resource_history.c.res_id == bindparam("i"),
    resource_history.c.version_id == bindparam("v"),
)


class Repository:
    """Data access for one caller. Cheap to build; holds no connection between calls."""

    def __init__(self, store: Store, caller: Caller) -> None:
        self.store = store
        self.caller = caller
        self._local = threading.local()  # the open unit of work, per thread
        self._aggregate = False  # see elevated()

    @property
    def _tx(self) -> Connection | None:
        return getattr(self._local, "tx", None)

    @_tx.setter
    def _tx(self, conn: Connection | None) -> None:
        self._local.tx = conn

    @property
    def _registry_changed(self) -> bool:
        return bool(getattr(self._local, "registry_changed", False))

    @_registry_changed.setter
    def _registry_changed(self, value: bool) -> None:
        self._local.registry_changed = value

    # ------------------------------------------------------------------ unit of work

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Run the writes inside the block in one database transaction (all or nothing).

        Used by FHIR transaction Bundles and conditional interactions. Writes in the block
        reuse the open transaction; reads and searches see it too.
        """
        if self._tx is not None:
            yield self._tx
            return
        with self.store.engines.write.begin() as conn:
            self._tx = conn
            try:
                yield conn
            finally:
                self._tx = None
        if self._registry_changed:
            self._registry_changed = False
            self.store.search_state.sync()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        if self._tx is not None:
            yield self._tx
        else:
            with self.store.engines.read.connect() as conn:
                yield conn

    def matches(self, rtype: str, criteria: list[tuple[str, str]], limit: int = 2) -> list[Stored]:
        """Resources matching search ``criteria`` (conditional interactions; not audited as a
        search: the interaction that uses it is). Unknown parameters are errors here."""
        self.check_type(rtype)
        self.require(rtype, "search-type")
        if not criteria:
            raise error("CH-1006", f"a conditional interaction on {rtype} needs search criteria")
        req = parse_search([rtype], criteria, strict=True, max_count=max(limit, 1))
        req.count = limit
        check_usable(req, self.store.search_state.pending(conn=self._tx))
        builder = ConditionBuilder(
            self.store.settings.base_url, [rtype], self.store.engines.backend
        )
        row_rule = self.access_rule().condition([rtype])
        with self._reading() as conn:
            if self._tx is not None:
                lock_key(conn, f"{rtype}?{sorted(criteria)}", self.store.engines.backend)
            return run_search(conn, req, builder, [] if row_rule is None else [row_rule]).entries

    def existing_ids(self, resources: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        """Which (type, id) of ``resources`` are stored (current or deleted): generators of
        reference data (the slot pool) add what is missing and leave the rest alone. For
        patient-compartment types (a Schedule may name a patient) only callers who read all
        patient data may ask: existence is itself information."""
        keys = [(str(r["resourceType"]), str(r["id"])) for r in resources]
        for rtype in {k[0] for k in keys}:
            self.check_type(rtype)
            if compartment.is_patient_data(rtype) and self.caller.access != "all":
                raise forbidden(f"existing_ids does not answer for patient data ({rtype})")
            self.require(rtype, "read")
        found: set[tuple[str, str]] = set()
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        with self._reading() as conn:
            # one ``res_id IN (…)`` per type: SQLite scans the table for a row-value IN list
            for rtype, ids in by_type.items():
                for start in range(0, len(ids), 500):
                    rows = conn.execute(
                        select(resource.c.res_id).where(
                            resource.c.res_type == rtype,
                            resource.c.res_id.in_(ids[start : start + 500]),
                        )
                    )
                    found.update((rtype, str(i)) for (i,) in rows)
        return found

    def patient_candidates(self, keys: BlockingKeys, cap: int = 60) -> list[Stored]:
        """The Patients that share a blocking key with a record being matched (see
        :mod:`.patient_blocking`). Platform callers only: matching looks at every record, and
        what a person is shown is decided by the service that asked."""
        if self.caller.access != "all":
            raise forbidden("patient_candidates answers only for the platform")
        self.require("Patient", "search-type")
        with self._reading() as conn:
            return patient_candidates(conn, keys, cap)

    def lock(self, rtype: str, rid: str) -> None:
        """Inside :meth:`transaction`: hold writers of ``rtype/rid`` back until the unit of
        work ends (PostgreSQL row lock; SQLite already has one writer), so that checks made
        on behalf of one patient — e.g. how many appointments they hold — stay true until
        the write that depends on them commits."""
        if self._tx is None:
            raise RuntimeError("Repository.lock needs an open transaction")
        lock_key(self._tx, f"{rtype}/{rid}", self.store.engines.backend)

    def elevated(self, aggregate: bool = False) -> Repository:
        """A Repository that acts for the platform on this caller's behalf, in the same unit
        of work.

        Domain services use it for the parts of a workflow the caller may start but not
        perform directly: a resident's booking takes a Slot (not writable by residents) and
        files the Appointment with the providing organisation as custodian. The caller's
        identity stays on every AuditEvent; the domain service decides what is allowed
        before it elevates.

        Args:
            aggregate: the reads serve counts and rates only (a resident's place in a queue,
                the bureau's KPIs): their AuditEvents record the query without naming the
                patients counted, so that a count does not show in every counted patient's
                access log. The service must then return nothing but aggregates.
        """
        lifted = replace(
            self.caller,
            scopes=Scopes.parse("system/*.cruds"),
            access="all",
            organization=None,
        )
        other = Repository(self.store, lifted)
        other._local = self._local
        other._aggregate = aggregate
        return other

    # ------------------------------------------------------------------ checks and audit

    def check_type(self, rtype: str) -> None:
        if rtype not in definitions.resource_types():
            raise error("CH-2004", f"{rtype[:80]!r} is not a FHIR R4 resource type")

    def require(self, rtype: str, interaction: str) -> None:
        if not self.caller.scopes.allows(rtype, interaction):
            raise forbidden(f"the granted scopes do not allow {interaction} on {rtype}")

    def access_rule(self) -> AccessRule:
        """The caller's row-level rule at this moment (see :mod:`.access`)."""
        return AccessRule(self.caller, self.store.clock.now_us())

    def _check_readable(
        self,
        conn: Connection,
        rtype: str,
        rid: str,
        document: dict[str, Any] | None,
        audit_patients: list[str] | None = None,
    ) -> None:
        """Refuse a direct read of patient data that no rule lets the caller see.

        A refused read names the record's patients in ``audit_patients`` (the list its failure
        AuditEvent will carry), so the attempt shows in the patient's "who read my record".
        """
        rule = self.access_rule()
        if rule.restricts([rtype]) and not rule.allows(conn, rtype, document):
            if audit_patients is not None and document is not None:
                known = set(audit_patients)
                audit_patients.extend(
                    p for p in compartment.patient_ids(document) if p not in known
                )
            self._deny(rtype, rid)

    def _deny(self, rtype: str, rid: str) -> None:
        if self.store.settings.consent_denial_status == 404:
            raise not_found(rtype, rid)
        raise error(
            "CH-4004",
            f"{rtype}/{rid}: no consent of the patient covers {self.caller.organization or self.caller.key}"
            " (ask the patient to grant access, or use break-glass in an emergency)",
        )

    def check_writable(
        self, rtype: str, rid: str, body: dict[str, Any], current: Stored | None
    ) -> None:
        """:meth:`_check_writable` outside a write, against the version ``current``."""
        if compartment.is_patient_data(rtype) and self.caller.access != "all":
            with self._reading() as conn:
                self._check_writable(conn, rtype, rid, body, current)
        elif rtype == "AuditEvent" and current is not None:
            raise error("CH-4009", f"AuditEvent/{rid} cannot be changed or deleted")

    def _check_writable(
        self,
        conn: Connection,
        rtype: str,
        rid: str,
        body: dict[str, Any],
        row: CurrentRow | Stored | None,
    ) -> None:
        """Writes follow the read rule for what exists, and residents write only their own."""
        if rtype == "AuditEvent" and row is not None:
            raise error("CH-4009", f"AuditEvent/{rid} cannot be changed or deleted")
        if not compartment.is_patient_data(rtype) or self.caller.access == "all":
            return
        if row is not None and row.content is not None:
            self._check_readable(conn, rtype, rid, orjson.loads(row.content))
        mode = self.caller.access
        if mode == "none":
            raise forbidden(f"{self.caller.key} may not write patient data")
        if mode == "compartment":
            patients = compartment.patient_ids(body)
            if not patients or any(p not in self.caller.patients for p in patients):
                raise forbidden(f"{rtype}: residents may write only their own records")

    def custodian_tagged(
        self, body: dict[str, Any], row: CurrentRow | Stored | None
    ) -> dict[str, Any]:
        """The body with the custodian tag the server keeps: the first recorder's organisation
        for a caller bound to one; what the body says otherwise."""
        org = self.caller.organization
        if not org or not compartment.is_patient_data(str(body.get("resourceType"))):
            return body
        keep = custodian_of(orjson.loads(row.content)) if row and row.content else None
        tagged = dict(body)
        tagged["meta"] = dict(body.get("meta") or {})
        with_custodian(tagged, keep or org)
        return tagged

    @contextmanager
    def audited_failure(
        self, interaction: str, rtype: str, entity: str | None, patients: list[str]
    ) -> Iterator[None]:
        """Audit a failure of the wrapped block (successes are audited by the block)."""
        try:
            yield
        except OperationOutcomeError as exc:
            if compartment.is_patient_data(rtype):
                self._record(
                    interaction,
                    exc.status,
                    entity,
                    patients,
                    detail=f"{exc.code} {exc.issues[0].diagnostics}",
                )
            raise

    def _record(
        self,
        interaction: str,
        status: int,
        entity: str | None,
        patients: list[str],
        detail: str | None = None,
        query: str | None = None,
    ) -> None:
        if self._aggregate and interaction.startswith("search"):
            patients, detail = [], detail or "aggregate: counts only, no patient named"
        event = self.audit_event(interaction, status, entity, patients, detail, query)
        self.store.audit.record([event])

    def audit_event(
        self,
        interaction: str,
        status: int,
        entity: str | None,
        patients: list[str],
        detail: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        purpose = None
        if self.caller.access == "consent" and patients:
            with self.store.engines.read.connect() as conn:
                glass = self.access_rule().glass_patients(conn, patients)
            if glass:
                purpose = ("BTG", "break-glass access: " + ", ".join(sorted(glass)))
        return build_audit_event(
            caller=self.caller,
            interaction=interaction,
            recorded_us=self.store.clock.now_us(),
            outcome_status=status,
            entity=entity,
            patients=patients,
            detail=detail,
            query=query,
            purpose=purpose,
        )

    # ------------------------------------------------------------------ reads

    def read(self, rtype: str, rid: str) -> Stored:
        """read: the current version; 404 when unknown, 410 when deleted."""
        self.check_type(rtype)
        patients = _self_patient(rtype, rid)
        with self.audited_failure("read", rtype, f"{rtype}/{rid}", patients):
            self.require(rtype, "read")
            with self._reading() as conn:
                row = conn.execute(_READ_CURRENT, {"t": rtype, "i": rid}).first()
                if row is None:
                    raise not_found(rtype, rid)
                if row.deleted:
                    raise gone(rtype, rid, row.version_id)
                stored = Stored(rtype, rid, row.version_id, row.last_updated_us, False, row.content)
                self._check_readable(conn, rtype, rid, stored.resource, patients)
        self._audit_success("read", stored)
        return stored

    def vread(self, rtype: str, rid: str, version: str) -> Stored:
        """vread: one version from history; 404 when unknown, 410 for a deletion version."""
        self.check_type(rtype)
        entity = f"{rtype}/{rid}/_history/{version}"
        patients = _self_patient(rtype, rid)
        with self.audited_failure("vread", rtype, entity, patients):
            self.require(rtype, "vread")
            if not (version.isascii() and version.isdigit() and len(version) <= 18):
                raise error("CH-2003", f"{entity}: versions are whole numbers")
            with self.store.engines.read.connect() as conn:
                row = conn.execute(_READ_VERSION, {"t": rtype, "i": rid, "v": int(version)}).first()
                if row is None:
                    raise error("CH-2003", f"{entity} is not known")
                if row.content is None:
                    raise gone(rtype, rid, int(version))
                stored = Stored(
                    rtype, rid, int(version), row.last_updated_us, False, row.content, row.method
                )
                self._check_readable(conn, rtype, rid, stored.resource, patients)
        self._audit_success("vread", stored)
        return stored

    def history(self, query: HistoryQuery) -> HistoryPage:
        """history at instance, type or system level (https://hl7.org/fhir/R4/http.html#history)."""
        level = (
            "history-instance" if query.id else ("history-type" if query.type else "history-system")
        )
        rtype = query.type or "Resource"
        if query.type:
            self.check_type(query.type)
        entity = f"{query.type}/{query.id}" if query.id else None
        patients = _self_patient(rtype, query.id) if query.id else []
        audit_type = query.type or "Patient"  # system history may hold patient data
        with self.audited_failure(level, audit_type, entity, patients):
            if query.type:
                self.require(query.type, level)
                types = None
            else:
                if not self.caller.scopes.allows_any(level):
                    raise forbidden("the granted scopes do not allow system history")
                types = self.caller.scopes.readable_types(level)
            with self.store.engines.read.connect() as conn:
                page = read_history(conn, query, types)
                rule = self.access_rule()
                if rule.restricts({item.type for item in page.entries}):
                    allowed = rule.filter(
                        conn,
                        [
                            (i.type, i.resource if i.content is not None else None)
                            for i in page.entries
                        ],
                    )
                    if query.id and page.entries and not any(allowed):
                        self._deny(rtype, query.id)
                    page.entries = [i for i, ok in zip(page.entries, allowed, strict=True) if ok]
                    page.suppressed = True
        involved: list[str] = []
        touches_patient_data = False
        for item in page.entries:
            if compartment.is_patient_data(item.type):
                touches_patient_data = True
                if item.content is not None:
                    for pid in compartment.patient_ids(item.resource):
                        if pid not in involved:
                            involved.append(pid)
        if touches_patient_data or (query.type and compartment.is_patient_data(query.type)):
            self._record(level, 200, entity, involved, query=query.query_string)
        return page

    def search(
        self,
        req: SearchRequest,
        compartment_of: tuple[str, str] | None = None,
        query_string: str = "",
    ) -> SearchPage:
        """search-type / search-system (https://hl7.org/fhir/R4/search.html).

        ``compartment_of`` = ("Patient", "123") restricts to that patient's compartment.
        Included resources the caller may not read are left out.
        """
        types = req.resource_types
        for rtype in types:
            self.check_type(rtype)
        level = "search-type" if len(types) == 1 else "search-system"
        audit_type = types[0] if len(types) == 1 else "Patient"
        entity = f"{compartment_of[0]}/{compartment_of[1]}" if compartment_of else None
        with self.audited_failure(level, audit_type, entity, []):
            for rtype in types:
                self.require(rtype, "search-type")
            check_usable(req, self.store.search_state.pending(conn=self._tx))
            builder = ConditionBuilder(
                self.store.settings.base_url, types, self.store.engines.backend
            )
            extra = []
            if compartment_of is not None:
                extra.append(compartment_condition(types, *compartment_of))
            rule = self.access_rule()
            row_rule = rule.condition(types)
            if row_rule is not None:
                extra.append(row_rule)
            with self._reading() as conn:
                page = run_search(conn, req, builder, extra)
                page.included = [
                    s for s in page.included if self.caller.scopes.allows(s.type, "read")
                ]
                if rule.restricts({s.type for s in page.included}):
                    allowed = rule.filter(conn, [(s.type, s.resource) for s in page.included])
                    page.suppressed = page.suppressed or not all(allowed)
                    page.included = [s for s, ok in zip(page.included, allowed, strict=True) if ok]
            page.suppressed = page.suppressed or row_rule is not None
        items = [*page.entries, *page.included]
        involved = _patients_in(items)
        touched = any(compartment.is_patient_data(t) for t in [*types, *(i.type for i in items)])
        if touched:
            self._record(level, 200, entity, involved, query=query_string or None)
        return page

    # ------------------------------------------------------------------ writes

    def create(self, body: dict[str, Any], assigned_id: str | None = None) -> Stored:
        """create: POST [type]. A client-supplied id is ignored, as R4 requires.

        Args:
            assigned_id: an id the server chose beforehand — a transaction gives its POST
                entries their ids first, so that other entries can refer to them
                (https://hl7.org/fhir/R4/http.html#trules). It must be new.
        """
        rtype = self.body_type(body)
        with self.audited_failure("create", rtype, rtype, []):
            rid = self.checked_new_id(rtype, body, assigned_id)
            return self.write(lambda conn: self._put_version(conn, rtype, rid, body, None, "POST"))

    def body_type(self, body: Any) -> str:
        """The resource type a request body holds (CH-1002, CH-2004 when it holds none)."""
        rtype = _resource_type(body)
        self.check_type(rtype)
        return rtype

    def checked_new_id(self, rtype: str, body: dict[str, Any], assigned_id: str | None) -> str:
        """The checks of a create that need no database (scope, validation, id); the new id."""
        self.require(rtype, "create")
        check_resource(body)
        rid = assigned_id or str(uuid.uuid4())
        check_id(rid)
        return rid

    def update(
        self,
        rtype: str,
        rid: str,
        body: dict[str, Any],
        if_match: int | None = None,
    ) -> tuple[Stored, bool]:
        """update: PUT [type]/[id]; creates the resource when it does not exist (update-as-create).

        Returns:
            The stored version and whether it was created.
        """
        self.check_type(rtype)
        with self.audited_failure("update", rtype, f"{rtype}/{rid}", _self_patient(rtype, rid)):
            self.require(rtype, "update")
            check_id(rid)
            body_type = _resource_type(body)
            if body_type != rtype:
                raise error(
                    "CH-2005", f"body is a {body_type}, the URL names {rtype}", "resourceType"
                )
            if "id" not in body:
                raise error(
                    "CH-2011", "the resource must carry the id given in the URL", f"{rtype}.id"
                )
            if body["id"] != rid:
                raise error(
                    "CH-2006",
                    f"body id {str(body['id'])[:80]!r} differs from URL id {rid!r}",
                    f"{rtype}.id",
                )
            check_resource(body)
            stored = self.write(
                lambda conn: self._put_version(conn, rtype, rid, body, if_match, "PUT")
            )
        return stored, stored.method == "POST"

    def patch(self, rtype: str, rid: str, operations: Any, if_match: int | None = None) -> Stored:
        """patch with JSON Patch (RFC 6902), https://hl7.org/fhir/R4/http.html#patch."""
        self.check_type(rtype)
        with self.audited_failure("patch", rtype, f"{rtype}/{rid}", _self_patient(rtype, rid)):
            self.require(rtype, "patch")
            try:
                patch = jsonpatch.JsonPatch(operations)
            except (
                jsonpatch.InvalidJsonPatch,
                jsonpatch.JsonPointerException,
                TypeError,
                AttributeError,
            ) as exc:
                raise error("CH-2012", f"not a JSON Patch document: {exc}") from exc

            def apply(conn: Connection) -> Stored:
                row = current_row(conn, rtype, rid, lock=self.lock_statement)
                if row is None:
                    raise not_found(rtype, rid)
                if row.deleted or row.content is None:
                    raise gone(rtype, rid, row.version_id)
                try:
                    patched = patch.apply(orjson.loads(row.content))
                except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                    raise error("CH-2013", f"the patch does not apply: {exc}") from exc
                if (
                    not isinstance(patched, dict)
                    or patched.get("resourceType") != rtype
                    or patched.get("id") != rid
                ):
                    raise error("CH-2013", "a patch may not change resourceType or id")
                check_resource(patched)
                return self._put_version(conn, rtype, rid, patched, if_match, "PATCH", row)

            return self.write(apply)

    def delete(self, rtype: str, rid: str, if_match: int | None = None) -> Stored | None:
        """delete (soft): later reads answer 410. Returns None when there was nothing to delete."""
        self.check_type(rtype)
        with self.audited_failure("delete", rtype, f"{rtype}/{rid}", _self_patient(rtype, rid)):
            self.require(rtype, "delete")

            def remove(conn: Connection) -> Stored | None:
                row = current_row(conn, rtype, rid, lock=self.lock_statement)
                if row is None or row.deleted:
                    if if_match is not None:
                        raise error("CH-2008", f"{rtype}/{rid} has no current version to match")
                    return None
                self._check_if_match(rtype, rid, row, if_match)
                previous = orjson.loads(row.content) if row.content else {}
                self._check_writable(conn, rtype, rid, previous, row)
                now = self.store.clock.now_us()
                version = NewVersion(rtype, rid, row.version_id + 1, now, "DELETE", None, None)
                if not update_current(conn, row.res_pk, row.version_id, version):
                    raise conflict(f"{rtype}/{rid} changed during the delete; retry")
                insert_history(conn, [(row.res_pk, version)])
                replace_index_rows(conn, [(row.res_pk, version)], self.store.extract)
                stored = Stored(rtype, rid, version.version_id, now, True, None, "DELETE")
                self.audit_write(conn, "delete", stored, previous)
                return stored

            return self.write(remove)

    def create_if_none_exist(
        self, body: dict[str, Any], criteria: list[tuple[str, str]]
    ) -> tuple[Stored, bool]:
        """Conditional create (If-None-Exist); see :mod:`.conditional`."""
        return conditional.conditional_create(self, body, criteria)

    def update_where(
        self,
        rtype: str,
        criteria: list[tuple[str, str]],
        body: dict[str, Any],
        if_match: int | None = None,
    ) -> tuple[Stored, bool]:
        """Conditional update; see :mod:`.conditional`."""
        return conditional.conditional_update(self, rtype, criteria, body, if_match)

    def delete_where(self, rtype: str, criteria: list[tuple[str, str]]) -> Stored | None:
        """Conditional delete; see :mod:`.conditional`."""
        return conditional.conditional_delete(self, rtype, criteria)

    def put_many(self, resources: Sequence[dict[str, Any]]) -> list[Stored]:
        """Store many resources with their own ids in one transaction (see :mod:`.bulk`)."""
        return put_many(self, resources)

    def prepare_create(
        self, body: dict[str, Any], assigned_id: str | None = None
    ) -> PreparedVersion:
        """Check and index a create now, store it later (see :mod:`.prepared_versions`)."""
        return prepare_create(self, body, assigned_id)

    def prepare_update(self, current: Stored, body: dict[str, Any]) -> PreparedVersion:
        """Check and index an update of ``current`` now, store it later if ``current`` is still
        the latest version (see :mod:`.prepared_versions`)."""
        return prepare_update(self, current, body)

    def write_versions(self, versions: Sequence[PreparedVersion]) -> list[Stored]:
        """Store prepared versions in one unit of work (see :mod:`.prepared_versions`)."""
        return write_versions(self, versions)

    def referring(self, rtype: str, param: str, target: str) -> list[Stored]:
        """The current ``rtype`` resources whose reference ``param`` points at ``target`` — the
        search ``[rtype]?[param]=[target]`` as one indexed read, for the platform's checks
        (see :mod:`.referrers`); audited like that search."""
        self._platform_search("referring", rtype)
        with self._reading() as conn:
            found = referring_resources(conn, rtype, param, target)
        if compartment.is_patient_data(rtype):
            query = f"{rtype}?{param}={target}"
            self._record("search-type", 200, None, _patients_in(found), query=query)
        return found

    def referring_versions(self, rtype: str, param: str, target: str) -> Stamp:
        """The ``(id, version)`` of every ``rtype`` whose reference ``param`` points at
        ``target`` (see :mod:`.referrers`); for the platform's checks, not audited as a read."""
        self._platform_search("referring_versions", rtype)
        with self._reading() as conn:
            return referring_versions(conn, rtype, param, target)

    def _platform_search(self, what: str, rtype: str) -> None:
        if self.caller.access != "all":
            raise forbidden(f"{what} answers only for the platform")
        self.require(rtype, "search-type")

    def write_prepared(self, chunk: PreparedChunk) -> ChunkCounts:
        """Store a chunk prepared for import in one transaction (see :mod:`.ingest_write`)."""
        return write_chunk(self, chunk)

    # ------------------------------------------------------------------ bulk data

    @property
    def jobs(self) -> CallerJobs:
        """The caller's bulk data jobs (see :mod:`.jobs`): others' jobs look unknown."""
        return CallerJobs(self.store.jobs, self.caller)

    # ------------------------------------------------------------------ consent and audit

    def break_glass(self, patient_id: str, reason: str) -> Opening:
        """Open a patient's record without consent (see :mod:`.break_glass`)."""
        return open_break_glass(self, patient_id, reason)

    def break_glass_open(self, patient_id: str) -> Opening | None:
        """The caller's live break-glass opening of a patient, if any (see :mod:`.break_glass`)."""
        return live_opening(self, patient_id)

    def break_glass_openings(self, since_us: int, limit: int = 500) -> list[Opening]:
        """The bureau's list of break-glass openings (see :mod:`.break_glass`)."""
        return break_glass_openings(self, since_us, limit)

    def access_log(
        self, patient_id: str, *, limit: int = 100, before: str | None = None
    ) -> list[Access]:
        """Who read a patient's record (see :mod:`.access_log`)."""
        return access_log(self, patient_id, limit=limit, before=before)

    def export_pages(self, selection: ExportSelection, page_size: int) -> Iterator[list[Stored]]:
        """One resource type of a bulk export, page by page (see :mod:`.export_read`)."""
        return export_pages(self, selection, page_size)

    # ------------------------------------------------------------------ internals

    def lock_statement(self, stmt: Any) -> Any:
        """``stmt`` made to lock the rows it reads until the transaction ends (PostgreSQL)."""
        return lock_for_update(stmt, self.store.engines.backend)

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction; a lost race on a new id is retried."""
        if self._tx is not None:  # inside a unit of work: no commit, no retry
            try:
                result = work(self._tx)
            except IntegrityError as exc:
                raise conflict("the resource was created concurrently; retry") from exc
            written = result if isinstance(result, list) else [result]
            if any(isinstance(s, Stored) and s.type == "SearchParameter" for s in written):
                self._registry_changed = True
            return result
        for attempt in range(3):
            try:
                with self.store.engines.write.begin() as conn:
                    result = work(conn)
                written = result if isinstance(result, list) else [result]
                if any(isinstance(s, Stored) and s.type == "SearchParameter" for s in written):
                    # a SearchParameter changes the search registry
                    self.store.search_state.sync()
                return result
            except IntegrityError as exc:
                if attempt == 2:
                    raise conflict("the resource was created concurrently; retry") from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _check_if_match(rtype: str, rid: str, row: CurrentRow, if_match: int | None) -> None:
        if if_match is not None and if_match != row.version_id:
            raise error(
                "CH-2008",
                f"{rtype}/{rid} is at version {row.version_id}, If-Match asked for {if_match}",
            )

    def _put_version(
        self,
        conn: Connection,
        rtype: str,
        rid: str,
        body: dict[str, Any],
        if_match: int | None,
        method: str,
        row: CurrentRow | None = None,
    ) -> Stored:
        if row is None and method != "POST":
            row = current_row(conn, rtype, rid, lock=self.lock_statement)
        now = self.store.clock.now_us()
        if row is None:
            if if_match is not None:
                raise error("CH-2008", f"{rtype}/{rid} does not exist; If-Match cannot hold")
            version_id = 1
        else:
            self._check_if_match(rtype, rid, row, if_match)
            version_id = row.version_id + 1
        self._check_writable(conn, rtype, rid, body, row)
        if rtype == "Task":
            previous = orjson.loads(row.content) if row is not None and row.content else None
            check_task_write(previous, body)
        document = with_meta(self.custodian_tagged(body, row), rid, version_id, format_instant(now))
        content = orjson.dumps(document)
        version = NewVersion(
            rtype, rid, version_id, now, "POST" if row is None else method, content, document
        )
        if row is None:
            res_pk = insert_first_version(conn, version)
            fresh = True
        else:
            res_pk = row.res_pk
            fresh = False
            if not update_current(conn, res_pk, row.version_id, version):
                raise conflict(f"{rtype}/{rid} changed during the update; retry")
        insert_history(conn, [(res_pk, version)])
        replace_index_rows(conn, [(res_pk, version)], self.store.extract, fresh=fresh)
        stored = Stored(rtype, rid, version_id, now, False, content, version.method)
        interaction = {"POST": "create", "PUT": "update", "PATCH": "patch"}[method]
        self.audit_write(conn, interaction, stored, document)
        return stored

    def audit_write(
        self, conn: Connection, interaction: str, stored: Stored, document: dict[str, Any]
    ) -> None:
        """Insert the AuditEvent of a successful write, in the write's transaction."""
        event = self.write_event(interaction, stored.type, stored.id, stored.version, document)
        if event is not None:
            self.store.audit.write_now(conn, [event])

    def write_event(
        self, interaction: str, rtype: str, rid: str, version: int, document: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The AuditEvent of a successful write of ``rtype/rid`` at ``version``; None when the
        resource is not patient data."""
        if not compartment.is_patient_data(rtype):
            return None
        patients = compartment.patient_ids(document) if document else []
        if rtype == "Patient" and not patients:
            patients = [rid]
        entity = f"{rtype}/{rid}/_history/{version}"
        return self.audit_event(interaction, 201 if version == 1 else 200, entity, patients)

    def _audit_success(self, interaction: str, stored: Stored) -> None:
        if compartment.is_patient_data(stored.type):
            patients = compartment.patient_ids(stored.resource)
            entity = f"{stored.reference}/_history/{stored.version}"
            self._record(interaction, 200, entity, patients)


def _resource_type(body: Any) -> str:
    if not isinstance(body, dict):
        raise error("CH-1002", "the body must be a JSON object holding a FHIR resource")
    rtype = body.get("resourceType")
    if not isinstance(rtype, str):
        raise error("CH-2004", "the body has no resourceType", "resourceType")
    return rtype


def _patients_in(items: Sequence[Stored]) -> list[str]:
    """The patients the patient data among ``items`` belongs to, in order of appearance."""
    involved: list[str] = []
    for item in items:
        if compartment.is_patient_data(item.type):
            for pid in compartment.patient_ids(item.resource):
                if pid not in involved:
                    involved.append(pid)
    return involved


def _self_patient(rtype: str, rid: str | None) -> list[str]:
    return [rid] if rtype == "Patient" and rid else []


__all__ = ["Repository", "check_id"]
