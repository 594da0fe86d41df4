"""Which versions of which resources refer to a target: a cheap stamp of a patient's records.

A check made outside a write transaction — how many appointments a patient holds — stays true
inside it as long as nothing that refers to the patient changed in between. The stamp is the
``(id, version)`` of every current resource of one type whose reference parameter points at
the target: one read of the reference index (``idx_reference``, by type, parameter and
target), joined to the current rows.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, bindparam, select

from .schema import idx_reference, resource

_REFERRING = (
    select(resource.c.res_id, resource.c.version_id)
    .select_from(idx_reference.join(resource, resource.c.res_pk == idx_reference.c.res_pk))
    .where(
        and_(
            idx_reference.c.res_type == bindparam("rtype"),
            idx_reference.c.param == bindparam("param"),
            idx_reference.c.target_type == bindparam("target_type"),
            idx_reference.c.target_id == bindparam("target_id"),
        )
    )
    .order_by(resource.c.res_id)
)

#: ``(id, version)`` of each resource referring to the target, ordered by id
Stamp = tuple[tuple[str, int], ...]


def referring_versions(conn: Connection, rtype: str, param: str, target: str) -> Stamp:
    """The stamp of the ``rtype`` resources whose parameter ``param`` refers to ``target``
    (``Type/id``)."""
    target_type, _, target_id = target.partition("/")
    rows = conn.execute(
        _REFERRING,
        {"rtype": rtype, "param": param, "target_type": target_type, "target_id": target_id},
    )
    return tuple(sorted({(str(rid), int(version)) for rid, version in rows}))
