"""Bundles the REST layer answers with (https://hl7.org/fhir/R4/bundle.html)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson

from ..fhir.instant import format_instant
from ..store import HistoryPage, Stored

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
