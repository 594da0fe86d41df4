"""The current resources of one type that refer to a target, and a cheap stamp of them.

A check made outside a write transaction — how many appointments a patient holds — reads the
resources (:func:`referring_resources`) and stays true inside the transaction as long as
nothing that refers to the patient changed in between, which the stamp tells:
:func:`referring_versions`, the ``(id, version)`` of each. Both are one read of the reference
index (``idx_reference``, by type, parameter and target) joined to the current rows: the
equivalent of the search ``[type]?[param]=[target]`` without the search machinery.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, bindparam, select

from .schema import idx_reference, resource
from .stored import Stored

_JOIN = idx_reference.join(resource, resource.c.res_pk == idx_reference.c.res_pk)
_TARGET = and_(
    idx_reference.c.res_type == bindparam("rtype"),
    idx_reference.c.param == bindparam("param"),
    idx_reference.c.target_type == bindparam("target_type"),
    idx_reference.c.target_id == bindparam("target_id"),
)
_REFERRING = select(resource.c.res_id, resource.c.version_id).select_from(_JOIN).where(_TARGET)
_REFERRING_CONTENT = (
    select(resource.c.res_id, resource.c.version_id, resource.c.last_updated_us, resource.c.content)
    .select_from(_JOIN)
    .where(and_(_TARGET, resource.c.deleted == False))  # noqa: E712 (SQL, not Python)
)

#: ``(id, version)`` of each resource referring to the target, ordered by id
Stamp = tuple[tuple[str, int], ...]


def _criteria(rtype: str, param: str, target: str) -> dict[str, str]:
    target_type, _, target_id = target.partition("/")
    return {"rtype": rtype, "param": param, "target_type": target_type, "target_id": target_id}


def referring_versions(conn: Connection, rtype: str, param: str, target: str) -> Stamp:
    """The stamp of the ``rtype`` resources whose parameter ``param`` refers to ``target``
    (``Type/id``)."""
    rows = conn.execute(_REFERRING, _criteria(rtype, param, target))
    return tuple(sorted({(str(rid), int(version)) for rid, version in rows}))


def referring_resources(conn: Connection, rtype: str, param: str, target: str) -> list[Stored]:
    """The current versions of those resources, ordered by id; their stamp is
    :func:`stamp_of`."""
    rows = conn.execute(_REFERRING_CONTENT, _criteria(rtype, param, target))
    found = {
        str(rid): Stored(rtype, str(rid), int(version), int(updated), False, content)
        for rid, version, updated, content in rows
    }
    return [found[rid] for rid in sorted(found)]


def stamp_of(resources: list[Stored]) -> Stamp:
    """The stamp :func:`referring_versions` gives for ``resources`` as long as they are current."""
    return tuple(sorted((s.id, s.version) for s in resources))
