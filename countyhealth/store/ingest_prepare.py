"""Preparing resources for a bulk write: the CPU-bound half of an import, free of SQL.

Each resource is parsed once, validated against the R4 definitions exactly like a single
write (https://hl7.org/fhir/R4/validation.html), given its ``meta`` and serialised, and its
index rows are extracted as tuples in table-column order so that the writer only binds them.
Nothing here touches the database, so it runs in worker processes (see
:mod:`.ingest_pool`) while the writing process inserts the previous chunk.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import OperationOutcomeError, error
from ..fhir import compartment
from ..fhir.indexing import extract
from ..fhir.instant import format_instant
from ..fhir.validation import check_resource
from .meta import check_id, with_meta
from .rows import IndexTuples, index_tuples

#: One input item: where it came from (for reports and checkpoints) and the resource, as
#: JSON text or already parsed.
Item = tuple[Any, bytes | dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid resource ready to insert as version 1 at ``last_updated_us``."""

    position: Any
    rtype: str
    rid: str
    content: bytes
    index: IndexTuples
    patients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input item that is not a valid resource, with the OperationOutcome saying why."""

    position: Any
    outcome: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PreparedChunk:
    """A chunk's results in input order; every prepared resource carries ``last_updated_us``."""

    last_updated_us: int
    items: list[Prepared | Rejected]

    @property
    def prepared(self) -> list[Prepared]:
        return [p for p in self.items if isinstance(p, Prepared)]

    @property
    def rejected(self) -> list[Rejected]:
        return [p for p in self.items if isinstance(p, Rejected)]


def prepare_chunk(items: list[Item], last_updated_us: int) -> PreparedChunk:
    """Prepare every item of a chunk; invalid ones become :class:`Rejected`, in input order."""
    stamp = format_instant(last_updated_us)
    out: list[Prepared | Rejected] = []
    for position, raw in items:
        try:
            out.append(_prepare(position, raw, stamp))
        except OperationOutcomeError as exc:
            out.append(Rejected(position, exc.to_fhir()))
    return PreparedChunk(last_updated_us, out)


def _prepare(position: Any, raw: bytes | dict[str, Any], stamp: str) -> Prepared:
    if isinstance(raw, dict):
        body = raw
    else:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise error("CH-1001", f"not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise error("CH-1002", "a resource must be a JSON object")
    check_resource(body)
    rtype = body["resourceType"]
    rid = body.get("id")
    if rid is None:
        rid = str(uuid.uuid4())
    check_id(rid)
    document = with_meta(body, rid, 1, stamp)
    index = index_tuples(extract, document)
    patients: tuple[str, ...] = ()
    if compartment.is_patient_data(rtype):
        patients = tuple(sorted(set(compartment.patient_ids(document))))
    return Prepared(position, rtype, rid, orjson.dumps(document), index, patients)
