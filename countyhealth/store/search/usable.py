"""Refusing searches on parameters whose index rows are still being rebuilt (CH-6010)."""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import error
from ...fhir.search_request import Criterion, SearchRequest


def _keys(crit: Criterion) -> Iterator[str]:
    yield f"{crit.param.resource_type}.{crit.param.code}"
    if crit.chain is not None:
        yield from _keys(crit.chain)
    if crit.has is not None:
        yield from _keys(crit.has.criterion)


def check_usable(req: SearchRequest, pending: frozenset[str]) -> None:
    if not pending:
        return
    used = {k for c in req.criteria for k in _keys(c)}
    used |= {f"{req.resource_types[0]}.{s.code}" for s in req.sort if s.param is not None}
    used |= {f"{i.source_type}.{i.param}" for i in [*req.includes, *req.revincludes]}
    blocked = sorted(used & pending)
    if blocked:
        raise error(
            "CH-6010",
            f"{', '.join(blocked)}: the index is being rebuilt "
            "(countyhealth reindex); this parameter cannot be searched until it finishes",
        )
