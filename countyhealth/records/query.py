"""A search through the caller's Repository with the platform's search parser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..fhir.search_request import parse_search
from ..store import Repository


@dataclass(frozen=True, slots=True)
class Found:
    """The resources a search returned; ``hidden`` when the access rule left some out."""

    resources: list[dict[str, Any]]
    hidden: bool
    total: int | None = None


def find(
    repo: Repository,
    rtype: str,
    params: list[tuple[str, str]],
    *,
    count: int = 20,
    note: str | None = None,
) -> Found:
    """``rtype?params`` with ``_count=count`` (audited like any search; ``note`` says in the
    audit trail how the search came about, e.g. a scanned e-health card)."""
    query = [*params, ("_count", str(count))]
    req = parse_search((rtype,), query, default_count=count, max_count=max(count, 1000))
    text = f"{rtype}?" + "&".join(f"{k}={v}" for k, v in query)
    page = repo.search(req, query_string=f"{text} ({note})" if note else text)
    return Found([s.resource for s in page.entries], page.suppressed, page.total)


def find_all(
    repo: Repository, rtype: str, params: list[tuple[str, str]], *, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every resource of ``rtype?params``, page by page (for reference data such as
    organisations and departments; each page is audited like any search)."""
    query = [*params, ("_count", str(page_size))]
    cursor: str | None = None
    while True:
        req = parse_search(
            (rtype,), [*query, *([("_page", cursor)] if cursor else [])], max_count=page_size
        )
        page = repo.search(req, query_string=f"{rtype}?" + "&".join(f"{k}={v}" for k, v in query))
        for stored in page.entries:
            yield stored.resource
        if not page.next_page or not page.entries:
            return
        cursor = page.next_page
