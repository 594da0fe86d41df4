"""Bundles the REST interactions answer with: history and searchset (https://hl7.org/fhir/R4/bundle.html)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson

from ..errors import Issue, operation_outcome
from ..fhir.instant import format_instant
from ..fhir.subsetting import subset
from ..store import HistoryPage, Stored
from ..store.search import SearchPage

#: Bundle.meta.security of a Bundle the caller's access rules may have left entries out of:
#: the v3 ObservationValue "redacted" label (https://hl7.org/fhir/R4/security-labels.html).
REDACTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "REDACTED",
    "display": "redacted",
}
SUPPRESSED_NOTE = (
    "results are limited to the records the caller may read: other organisations' data needs "
    "the patient's consent"
)

_STATUS = {"POST": "201 Created", "PUT": "200 OK", "PATCH": "200 OK", "DELETE": "204 No Content"}


def history_bundle(
    page: HistoryPage, base: str, path: str, params: dict[str, str], count: int, offset: int
) -> dict[str, Any]:
    """A ``history`` Bundle with self/next/previous links pinned to the page's snapshot."""
    entries = []
    for item in page.entries:
        entry: dict[str, Any] = {"fullUrl": f"{base}/{item.reference}"}
        if item.content is not None:
            entry["resource"] = orjson.Fragment(item.content)
        method = item.method or "PUT"
        entry["request"] = {
            "method": method,
            "url": item.type if method == "POST" else item.reference,
        }
        entry["response"] = {
            "status": _STATUS.get(method, "200 OK"),
            "etag": item.etag,
            "lastModified": format_instant(item.last_updated_us),
        }
        entries.append(entry)
    pinned = {**params, "_count": str(count), "_snapshot": str(page.snapshot_us)}
    links = [{"relation": "self", "url": _url(base, path, {**pinned, "_offset": str(offset)})}]
    if page.has_more:
        links.append(
            {
                "relation": "next",
                "url": _url(base, path, {**pinned, "_offset": str(offset + count)}),
            }
        )
    if offset > 0:
        links.append(
            {
                "relation": "previous",
                "url": _url(base, path, {**pinned, "_offset": str(max(0, offset - count))}),
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(page.snapshot_us)} if page.snapshot_us else {},
        "type": "history",
    }
    if page.suppressed:
        bundle.setdefault("meta", {})["security"] = [REDACTED]
    if not bundle["meta"]:
        del bundle["meta"]
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    bundle["entry"] = entries
    return bundle


def _url(base: str, path: str, params: dict[str, str]) -> str:
    query = urlencode(sorted(params.items()))
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def stored_location(base: str, stored: Stored) -> str:
    return f"{base}/{stored.reference}/_history/{stored.version}"


def searchset_bundle(
    page: SearchPage,
    *,
    self_url: str,
    page_url: Callable[[str], str],
    summary: str | None,
    elements: tuple[str, ...],
    base: str,
    warnings: list[Issue],
) -> dict[str, Any]:
    """A ``searchset`` Bundle (https://hl7.org/fhir/R4/bundle.html#searchset)."""
    entries: list[dict[str, Any]] = []

    def entry(item: Stored, mode: str) -> dict[str, Any]:
        if summary or elements:
            body: Any = subset(item.resource, summary, elements)
        else:
            body = orjson.Fragment(item.content or b"{}")
        return {"fullUrl": f"{base}/{item.reference}", "resource": body, "search": {"mode": mode}}

    if summary != "count":
        entries = [entry(e, "match") for e in page.entries]
        entries += [entry(e, "include") for e in page.included]
    if page.suppressed:
        warnings = [*warnings, Issue("CH-4014", SUPPRESSED_NOTE, severity="information")]
    if warnings:
        entries.append(
            {
                "resource": operation_outcome(warnings),
                "search": {"mode": "outcome"},
            }
        )
    links = [{"relation": "self", "url": self_url}]
    if page.next_page:
        links.append({"relation": "next", "url": page_url(page.next_page)})
    if page.previous_page:
        links.append({"relation": "previous", "url": page_url(page.previous_page)})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
    }
    if page.suppressed:
        bundle["meta"] = {"security": [REDACTED]}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle
