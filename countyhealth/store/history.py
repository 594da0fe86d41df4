"""History queries: instance, type and system level, with ``_since``, ``_at`` and paging.

https://hl7.org/fhir/R4/http.html#history: entries newest first; ``_since`` keeps versions
created at or after an instant; ``_at`` keeps versions that were current at some point during
the given period. Pages are cut from a snapshot time fixed by the first page, so that paging
stays stable while others write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.orm import aliased  # aliased() works on Core tables too

from .schema import resource_history
from .stored import Stored


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    type: str | None = None
    id: str | None = None
    since_us: int | None = None
    at: tuple[int, int] | None = None
    count: int = 50
    offset: int = 0
    snapshot_us: int | None = None
    query_string: str = ""


@dataclass(slots=True)
class HistoryPage:
    entries: list[Stored]
    snapshot_us: int
    has_more: bool
    total: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: the caller's access rule may have left entries out (see :mod:`.access`)
    suppressed: bool = False


def read_history(conn: Connection, q: HistoryQuery, types: frozenset[str] | None) -> HistoryPage:
    """One page of history. ``types`` limits system history to the readable types (None: all)."""
    h = resource_history
    conds = []
    if q.type is not None:
        conds.append(h.c.res_type == q.type)
    elif types is not None:
        conds.append(h.c.res_type.in_(sorted(types)))
    if q.id is not None:
        conds.append(h.c.res_id == q.id)
    snapshot = q.snapshot_us
    if snapshot is None:
        snapshot = conn.execute(select(func.max(h.c.last_updated_us))).scalar() or 0
    conds.append(h.c.last_updated_us <= snapshot)
    if q.since_us is not None:
        conds.append(h.c.last_updated_us >= q.since_us)
    stmt = select(
        h.c.res_type, h.c.res_id, h.c.version_id, h.c.last_updated_us, h.c.method, h.c.content
    )
    if q.at is not None:
        low, high = q.at
        nxt = aliased(h)
        stmt = stmt.outerjoin(
            nxt, and_(nxt.c.res_pk == h.c.res_pk, nxt.c.version_id == h.c.version_id + 1)
        )
        conds.append(h.c.last_updated_us <= high)
        conds.append(or_(nxt.c.last_updated_us.is_(None), nxt.c.last_updated_us > low))
    stmt = (
        stmt.where(*conds)
        .order_by(h.c.last_updated_us.desc(), h.c.res_pk.desc(), h.c.version_id.desc())
        .offset(q.offset)
        .limit(q.count + 1)
    )
    rows = conn.execute(stmt).all()
    entries = [
        Stored(
            r.res_type,
            r.res_id,
            r.version_id,
            r.last_updated_us,
            r.content is None,
            r.content,
            r.method,
        )
        for r in rows[: q.count]
    ]
    total = None
    if q.id is not None and q.at is None:
        total = conn.execute(select(func.count()).select_from(h).where(*conds)).scalar()
    return HistoryPage(entries, snapshot, len(rows) > q.count, total)
