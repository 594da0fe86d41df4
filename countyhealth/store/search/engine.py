"""Running a search: filter, sort, page, count and include (https://hl7.org/fhir/R4/search.html).

Paging is by keyset: a page link carries the sort values of the last (or first) row it showed,
and the next page starts strictly after them, ordered by the sort keys and then ``res_pk``.
Pages therefore stay stable while others write: a resource created meanwhile shows up in its
sorted place, none is shown twice or skipped because rows were added before it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
)

from ...errors import error
from ...fhir.search_params import params_for
from ...fhir.search_request import Include, SearchRequest, SortKey
from ..schema import INDEX_TABLES, idx_reference, resource
from ..stored import Stored
from .conditions import ConditionBuilder, selectivity

_HIGH_STR = "\U0010ffff"
_LOW_STR = ""
_HIGH_NUM = 9.0e300
_LOW_NUM = -9.0e300
MAX_INCLUDES = 1000
MAX_ITERATE = 3


@dataclass
class SearchPage:
    entries: list[Stored]
    included: list[Stored] = field(default_factory=list)
    total: int | None = None
    next_page: str | None = None
    previous_page: str | None = None
    #: the caller's access rule may have left resources out (see :mod:`..access`)
    suppressed: bool = False


@dataclass(frozen=True)
class _Key:
    expr: ColumnElement[Any]
    descending: bool
    numeric: bool


def _sort_keys(req: SearchRequest, res: FromClause) -> list[_Key]:
    keys: list[_Key] = []
    for sk in req.sort:
        keys.append(_sort_expression(sk, res))
    return keys


def _sort_expression(sk: SortKey, res: FromClause) -> _Key:
    """A scalar per resource; missing values sort last in either direction."""
    if sk.code == "_lastUpdated":
        return _Key(res.c.last_updated_us, sk.descending, True)
    if sk.code == "_id":
        return _Key(res.c.res_id, sk.descending, False)
    param = sk.param
    assert param is not None
    table = INDEX_TABLES["string" if param.phonetic else param.type]
    column, numeric = {
        "string": (table.c.get("value_norm"), False),
        "token": (table.c.get("code"), False),
        "date": (table.c.get("low_us") if not sk.descending else table.c.get("high_us"), True),
        "number": (table.c.get("value_low"), True),
        "quantity": (table.c.get("value_low"), True),
        "uri": (table.c.get("value"), False),
        "reference": (table.c.get("target_id"), False),
    }[param.type]
    agg = func.max(column) if sk.descending else func.min(column)
    sub = (
        select(agg)
        .where(table.c.res_pk == res.c.res_pk, table.c.param == param.code)
        .scalar_subquery()
    )
    filler = (
        (_LOW_NUM if sk.descending else _HIGH_NUM)
        if numeric
        else (_LOW_STR if sk.descending else _HIGH_STR)
    )
    return _Key(func.coalesce(sub, literal(filler)), sk.descending, numeric)


def _after(
    keys: list[_Key], values: list[Any], pk: int, res: FromClause, backwards: bool
) -> ColumnElement[bool]:
    """Rows strictly after (or before) the row with sort ``values`` and ``pk``."""

    def beyond(expr: ColumnElement[Any], value: Any, descending: bool) -> ColumnElement[bool]:
        forward = not descending
        if backwards:
            forward = not forward
        return expr > value if forward else expr < value

    cond: ColumnElement[bool] = beyond(res.c.res_pk, pk, False)
    for key, value in reversed(list(zip(keys, values, strict=True))):
        cond = or_(beyond(key.expr, value, key.descending), and_(key.expr == value, cond))
    return cond


def _signature(req: SearchRequest) -> str:
    text = repr((req.resource_types, [(k.code, k.descending) for k in req.sort]))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(req: SearchRequest, values: list[Any], pk: int, backwards: bool) -> str:
    raw = orjson.dumps({"s": _signature(req), "v": values, "k": pk, "b": backwards})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(req: SearchRequest, token: str, nkeys: int) -> tuple[list[Any], int, bool]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values, pk, backwards, sig = raw["v"], int(raw["k"]), bool(raw["b"]), raw["s"]
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise error("CH-6009", "the page link is not valid; start the search again") from exc
    if sig != _signature(req) or not isinstance(values, list) or len(values) != nkeys:
        raise error("CH-6009", "the page link belongs to another search; start it again")
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
        raise error("CH-6009", "the page link is not valid; start the search again")
    return values, pk, backwards


def run_search(
    conn: Connection,
    req: SearchRequest,
    builder: ConditionBuilder,
    extra: Sequence[ColumnElement[bool]] = (),
) -> SearchPage:
    """One page of ``req``; ``extra`` adds conditions (compartment, access rules)."""
    res = resource
    types = list(req.resource_types)
    type_cond = res.c.res_type == types[0] if len(types) == 1 else res.c.res_type.in_(types)
    alive = res.c.deleted == false()
    where: list[ColumnElement[bool]] = [type_cond, alive, *extra]
    source: FromClause = res
    ranked = sorted(req.criteria, key=selectivity)
    for i, crit in enumerate(ranked):
        cond = builder.condition(crit, res, drive=i == 0)
        if i == 0 and builder.driver is not None:
            # Start from the rows the most selective criterion names and look each up by key.
            # Index rows exist only for live resources of the searched types, so the type and
            # deletion tests are dropped: left alone with them, a planner may prefer scanning
            # every resource of the type through an index on (res_type, deleted).
            driver = builder.driver.distinct().subquery("driver")
            source = driver.join(res, res.c.res_pk == driver.c.res_pk)
            where = [w for w in where if w is not type_cond and w is not alive]
        else:
            where.append(cond)
    page = SearchPage([])
    if req.total in ("accurate", "estimate") or req.summary == "count":
        page.total = conn.execute(select(func.count()).select_from(source).where(*where)).scalar()
    if req.summary == "count" or req.count == 0:
        return page
    keys = _sort_keys(req, res)
    backwards = False
    query_where = list(where)
    if req.page:
        values, pk, backwards = decode_cursor(req, req.page, len(keys))
        query_where.append(_after(keys, values, pk, res, backwards))
    order = []
    for key in keys:
        desc = key.descending != backwards
        order.append(key.expr.desc() if desc else key.expr.asc())
    order.append(res.c.res_pk.desc() if backwards else res.c.res_pk.asc())
    columns = [
        res.c.res_pk,
        res.c.res_id,
        res.c.res_type,
        res.c.version_id,
        res.c.last_updated_us,
        res.c.content,
        *[k.expr for k in keys],
    ]
    stmt = (
        select(*columns)
        .select_from(source)
        .where(*query_where)
        .order_by(*order)
        .limit(req.count + 1)
    )
    fetched = conn.execute(stmt).all()
    more = len(fetched) > req.count
    rows = list(fetched[: req.count])
    if backwards:
        rows.reverse()
    page.entries = [
        Stored(r.res_type, r.res_id, r.version_id, r.last_updated_us, False, r.content)
        for r in rows
    ]
    if page.total is None and req.total is None and not req.page and not more:
        page.total = len(rows)  # the whole result is on this first page: the count is free
    if rows:
        first, last = rows[0], rows[-1]
        nkeys = len(keys)
        if (more and not backwards) or (backwards and req.page):
            page.next_page = encode_cursor(req, list(last[6 : 6 + nkeys]), last.res_pk, False)
        if (req.page and not backwards) or (backwards and more):
            page.previous_page = encode_cursor(req, list(first[6 : 6 + nkeys]), first.res_pk, True)
    if req.includes or req.revincludes:
        page.included = _includes(
            conn, req, [r.res_pk for r in rows], [(r.res_type, r.res_id) for r in rows]
        )
    return page


def _includes(
    conn: Connection, req: SearchRequest, pks: list[int], keys: list[tuple[str, str]]
) -> list[Stored]:
    seen_pks = set(pks)
    found: list[Stored] = []
    frontier_pks, frontier_keys = pks, keys
    for round_ in range(MAX_ITERATE + 1):
        new: list[Any] = []
        for inc in req.includes:
            if round_ > 0 and not inc.iterate:
                continue
            new += _forward(conn, inc, frontier_pks)
        for inc in req.revincludes:
            if round_ > 0 and not inc.iterate:
                continue
            new += _reverse(conn, inc, frontier_keys)
        fresh = [r for r in new if r.res_pk not in seen_pks]
        uniq: dict[int, Any] = {}
        for r in fresh:
            uniq.setdefault(r.res_pk, r)
        if not uniq:
            break
        for r in uniq.values():
            seen_pks.add(r.res_pk)
            found.append(
                Stored(r.res_type, r.res_id, r.version_id, r.last_updated_us, False, r.content)
            )
        if len(found) >= MAX_INCLUDES:
            break
        frontier_pks = list(uniq)
        frontier_keys = [(r.res_type, r.res_id) for r in uniq.values()]
    return found[:MAX_INCLUDES]


def _reference_params(source: str, code: str) -> list[str]:
    if code != "*":
        return [code]
    return [c for c, p in params_for(source).items() if p.type == "reference"]


_COLS = (
    resource.c.res_pk,
    resource.c.res_id,
    resource.c.res_type,
    resource.c.version_id,
    resource.c.last_updated_us,
    resource.c.content,
)


def _forward(conn: Connection, inc: Include, pks: list[int]) -> list[Any]:
    if not pks:
        return []
    r = idx_reference
    refs = select(r.c.target_type, r.c.target_id).where(
        r.c.res_pk.in_(pks),
        r.c.res_type == inc.source_type,
        r.c.param.in_(_reference_params(inc.source_type, inc.param)),
        r.c.target_id.is_not(None),
    )
    if inc.target_type:
        refs = refs.where(r.c.target_type == inc.target_type)
    targets: dict[str, set[str]] = {}
    for t, i in conn.execute(refs):
        if t:
            targets.setdefault(str(t), set()).add(str(i))
    # one ``res_id IN (…)`` per type: SQLite does not use the (type, id) index for a
    # row-value IN list and would scan every resource
    rows: list[Any] = []
    for rtype, ids in sorted(targets.items()):
        stmt = select(*_COLS).where(
            resource.c.res_type == rtype,
            resource.c.res_id.in_(sorted(ids)),
            resource.c.deleted == false(),
        )
        rows.extend(conn.execute(stmt))
    return rows


def _reverse(conn: Connection, inc: Include, keys: list[tuple[str, str]]) -> list[Any]:
    if not keys:
        return []
    r = idx_reference
    conds = [and_(r.c.target_type == t, r.c.target_id == i) for t, i in keys]
    source_pks = select(r.c.res_pk).where(
        r.c.res_type == inc.source_type,
        r.c.param.in_(_reference_params(inc.source_type, inc.param)),
        or_(*conds),
    )
    stmt = select(*_COLS).where(resource.c.res_pk.in_(source_pks), resource.c.deleted == false())
    return list(conn.execute(stmt))


__all__ = ["SearchPage", "case", "run_search"]
