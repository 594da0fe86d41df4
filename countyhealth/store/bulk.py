"""Bulk writes: many resources with client-assigned ids in one transaction.

Used by loaders (the synthetic county, imports) that write thousands of resources: each
resource is validated and indexed exactly like a single PUT, but new resources are inserted
with multi-row statements and the whole chunk commits at once. Semantics per resource are those
of update-as-create (https://hl7.org/fhir/R4/http.html#upsert).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, select, tuple_

from ..errors import error
from ..fhir import compartment
from ..fhir.instant import format_instant
from ..fhir.validation import check_resource
from .meta import check_id, with_meta
from .rows import (
    NewVersion,
    insert_history,
    insert_new_resources,
    replace_index_rows,
    update_current,
)
from .schema import resource
from .stored import Stored

if TYPE_CHECKING:
    from .repository import Repository


def put_many(repo: Repository, resources: Sequence[dict[str, Any]]) -> list[Stored]:
    """Validate and store ``resources`` (each with resourceType and id) in one transaction."""

    keys: list[tuple[str, str]] = []
    for i, body in enumerate(resources):
        rtype, rid = body.get("resourceType"), body.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str):
            raise error("CH-2011", f"entry {i}: a bulk write needs resourceType and id")
        repo.check_type(rtype)
        check_id(rid)
        keys.append((rtype, rid))
    if len(set(keys)) != len(keys):
        raise error("CH-1006", "a bulk write may not hold the same resource twice")
    for rtype in {k[0] for k in keys}:
        repo.require(rtype, "update")
    for body in resources:
        check_resource(body)

    def write(conn: Connection) -> list[Stored]:
        existing = _current_versions(conn, keys)
        now = repo.store.clock.now_us()
        stamp = format_instant(now)
        fresh: list[NewVersion] = []
        stored: list[Stored] = []
        patients: list[str] = []
        for (rtype, rid), body in zip(keys, resources, strict=True):
            row = existing.get((rtype, rid))
            version_id = 1 if row is None else row[1] + 1
            document = with_meta(body, rid, version_id, stamp)
            content = orjson.dumps(document)
            version = NewVersion(
                rtype, rid, version_id, now, "POST" if row is None else "PUT", content, document
            )
            if row is None:
                fresh.append(version)
            else:
                if not update_current(conn, row[0], row[1], version):
                    raise error("CH-2009", f"{rtype}/{rid} changed during the bulk write; retry")
                insert_history(conn, [(row[0], version)])
                replace_index_rows(conn, [(row[0], version)], repo.store.extract)
            stored.append(Stored(rtype, rid, version_id, now, False, content, version.method))
            if compartment.is_patient_data(rtype):
                for pid in compartment.patient_ids(document):
                    patients.append(pid)
        insert_new_resources(conn, fresh, repo.store.extract)
        if patients:
            event = repo.audit_event(
                "update",
                200,
                None,
                sorted(set(patients)),
                query=f"bulk write of {len(resources)} resources",
            )
            repo.store.audit.write_now(conn, [event])
        return stored

    return repo.write(write)


def _current_versions(
    conn: Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = conn.execute(
            select(
                resource.c.res_type, resource.c.res_id, resource.c.res_pk, resource.c.version_id
            ).where(tuple_(resource.c.res_type, resource.c.res_id).in_(chunk))
        )
        for rtype, rid, pk, version in rows:
            found[(rtype, rid)] = (pk, version)
    return found
