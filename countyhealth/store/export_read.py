"""Reading one resource type for a bulk data export, page by page, as the caller.

https://hl7.org/fhir/uv/bulkdata/export.html: current versions only (no deleted resources),
changed after ``_since`` and at or before the export's ``transactionTime``, optionally limited
to the Patient compartments of some or all patients, and filtered by ``_typeFilter`` searches
(several searches on one type are ORed, each resource once). The caller's scopes are checked
and every page of patient data is audited, like a search.

The time of an export grows linearly with what it reads. Pages are keyset pages of ``res_pk``
over the type (the ``ix_resource_type_deleted`` index), with every other condition checked per
row — the ``_typeFilter`` criteria and the caller's access rule (:mod:`.access`) too, through the search machinery's per-row conditions
(:class:`~.search.ConditionBuilder` with ``drive=False``). Letting the most selective criterion
drive, as a search page does, would select all its matches again for every page. A Group
export first reads the keys of the rows in its members' compartments (8 bytes each, in
order) and then reads the rows in chunks of those keys: this is the one part of an export
whose memory grows with its size.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, exists, false, or_, select, true

from ..fhir import compartment, definitions
from ..fhir.search_request import SearchRequest
from .dialect import in_values
from .schema import idx_reference, resource
from .search import ConditionBuilder
from .search.usable import check_usable
from .stored import Stored

if TYPE_CHECKING:
    from .repository import Repository

#: ``ExportSelection.patients`` for the compartments of every patient (``Patient/$export``).
ALL_PATIENTS: Literal["*"] = "*"

_COLUMNS = (
    resource.c.res_pk,
    resource.c.res_id,
    resource.c.version_id,
    resource.c.last_updated_us,
    resource.c.content,
)


@dataclass(frozen=True)
class ExportSelection:
    """What an export reads of one resource type.

    Attributes:
        resource_type: the type read.
        until_us: the export's transactionTime: nothing changed later is read.
        since_us: only resources changed strictly after this instant (``_since``).
        filters: ``_typeFilter`` searches on this type, ORed; none means every resource.
        patients: None for no restriction (system level), :data:`ALL_PATIENTS`, or the ids of
            the patients whose compartments are read (a Group's members).
        label: the export request, recorded in the AuditEvents.
    """

    resource_type: str
    until_us: int
    since_us: int | None = None
    filters: tuple[SearchRequest, ...] = ()
    patients: tuple[str, ...] | Literal["*"] | None = None
    label: str = ""


def export_pages(
    repo: Repository, selection: ExportSelection, page_size: int
) -> Iterator[list[Stored]]:
    """The selected resources in ``res_pk`` order, in pages of at most ``page_size``.

    Raises:
        OperationOutcomeError: CH-4003 when the scopes do not allow searching the type,
            CH-6010 when a filter uses a parameter being reindexed.
    """
    rtype = selection.resource_type
    repo.check_type(rtype)
    repo.require(rtype, "search-type")
    store = repo.store
    pending = store.search_state.pending()
    for search in selection.filters:
        check_usable(search, pending)
    backend = store.engines.backend
    where: list[ColumnElement[bool]] = [
        resource.c.res_type == rtype,
        resource.c.deleted == false(),
        resource.c.last_updated_us <= selection.until_us,
    ]
    if selection.since_us is not None:
        where.append(resource.c.last_updated_us > selection.since_us)
    row_rule = repo.access_rule().condition([rtype])  # consent and compartment rules
    if row_rule is not None:
        where.append(row_rule)
    if selection.filters:
        builder = ConditionBuilder(store.settings.base_url, [rtype], backend)
        where.append(or_(*(_all_of(builder, search) for search in selection.filters)))
    patients = selection.patients
    if isinstance(patients, tuple):
        with store.engines.read.connect() as conn:
            keys = _compartment_keys(conn, rtype, patients, backend)
        pages = _key_pages(repo, where, keys, page_size)
    else:
        if patients == ALL_PATIENTS:
            where.append(_in_some_compartment(rtype))
        pages = _keyset_pages(repo, where, page_size)
    audited = compartment.is_patient_data(rtype)
    for rows in pages:
        if audited:
            with store.engines.read.connect() as conn:
                involved = _patients_of(conn, rtype, rows)
            event = repo.audit_event(
                "operation", 200, None, involved, query=selection.label or None
            )
            store.audit.record([event])
        yield [
            Stored(rtype, r.res_id, r.version_id, r.last_updated_us, False, r.content) for r in rows
        ]


def _all_of(builder: ConditionBuilder, search: SearchRequest) -> ColumnElement[bool]:
    conds = [builder.condition(c, resource, drive=False) for c in search.criteria]
    return and_(*conds) if conds else true()


def _keyset_pages(
    repo: Repository, where: list[ColumnElement[bool]], page_size: int
) -> Iterator[Sequence[Any]]:
    """Rows after the last one of the previous page, by ``res_pk``."""
    after = 0
    while True:
        stmt = (
            select(*_COLUMNS)
            .where(*where, resource.c.res_pk > after)
            .order_by(resource.c.res_pk)
            .limit(page_size)
        )
        with repo.store.engines.read.connect() as conn:
            rows = conn.execute(stmt).all()
        if rows:
            after = rows[-1].res_pk
            yield rows
        if len(rows) < page_size:
            return


def _key_pages(
    repo: Repository, where: list[ColumnElement[bool]], keys: array[int], page_size: int
) -> Iterator[Sequence[Any]]:
    """Rows of ``keys`` (in order) that meet ``where``, a chunk of keys at a time."""
    for start in range(0, len(keys), page_size):
        chunk = list(keys[start : start + page_size])
        stmt = select(*_COLUMNS).where(*where, resource.c.res_pk.in_(chunk))
        with repo.store.engines.read.connect() as conn:
            rows = conn.execute(stmt.order_by(resource.c.res_pk)).all()
        if rows:
            yield rows


def _in_some_compartment(rtype: str) -> ColumnElement[bool]:
    """In the Patient compartment of any patient: checked per row through the res_pk index,
    since nearly every row of a compartment type qualifies."""
    if rtype == "Patient":
        return true()
    params = definitions.compartment("Patient").get(rtype)
    if not params:
        return false()
    r = idx_reference
    return exists().where(
        r.c.res_pk == resource.c.res_pk, r.c.param.in_(params), r.c.target_type == "Patient"
    )


def _compartment_keys(
    conn: Connection, rtype: str, patients: tuple[str, ...], backend: str
) -> array[int]:
    """The ``res_pk`` of the rows of ``rtype`` in the compartments of ``patients``, in order."""
    keys: array[int] = array("q")
    if not patients:
        return keys
    if rtype == "Patient":
        stmt = select(resource.c.res_pk).where(
            resource.c.res_type == "Patient", in_values(resource.c.res_id, patients, backend)
        )
    else:
        params = definitions.compartment("Patient").get(rtype)
        if not params:
            return keys
        r = idx_reference
        stmt = select(r.c.res_pk).where(
            r.c.res_type == rtype,
            r.c.param.in_(params),
            r.c.target_type == "Patient",
            in_values(r.c.target_id, patients, backend),
        )
    keys.extend(sorted({pk for (pk,) in conn.execute(stmt)}))
    return keys


def _patients_of(conn: Connection, rtype: str, rows: Sequence[Any]) -> list[str]:
    """The patients whose data a page holds, for its AuditEvent (from the index, not the JSON)."""
    if rtype == "Patient":
        return [row.res_id for row in rows]
    params = definitions.compartment("Patient").get(rtype) or []
    r = idx_reference
    stmt = select(r.c.target_type, r.c.target_id).where(
        r.c.res_pk.in_([row.res_pk for row in rows]), r.c.param.in_(params)
    )
    # the type is tested here: as a condition it can tempt a planner into the (target_type,
    # target_id) index, which holds every reference to a patient
    return sorted({pid for ptype, pid in conn.execute(stmt) if ptype == "Patient" and pid})


__all__ = ["ALL_PATIENTS", "ExportSelection", "export_pages"]
