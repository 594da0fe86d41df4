"""The entries of a batch or transaction Bundle, parsed and checked for form.

https://hl7.org/fhir/R4/http.html#transaction: each entry's ``request`` (method and URL
relative to the base), its ``fullUrl`` and its resource; :data:`ORDER` is the processing
order the specification sets (DELETE, POST, PUT/PATCH, GET/HEAD).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..errors import error
from ..fhir import definitions

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class Entry:
    index: int
    method: str
    url: str
    rtype: str | None
    rid: str | None
    rest: str  # what follows Type/id (e.g. _history/2)
    query: list[tuple[str, str]] | None  # search criteria after "?", None without "?"
    resource: Any
    full_url: str | None
    request: dict[str, Any]
    operation: str | None = None  # the code of an $operation, without "$"


def parse_entry(i: int, raw: Any, base: str) -> Entry:
    where = f"Bundle.entry[{i}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise error("CH-7002", f"{where}: each entry needs a request", where)
    request = raw["request"]
    method, url = request.get("method"), request.get("url")
    if method not in ORDER or not isinstance(url, str) or not url:
        raise error(
            "CH-7002", f"{where}: request.method and request.url are required", f"{where}.request"
        )
    if url.startswith(base + "/"):
        url = url[len(base) + 1 :]
    path, qmark, qs = url.partition("?")
    parts = [p for p in path.split("/") if p]
    operation = None
    if parts and parts[-1].startswith("$") and len(parts) <= 3:
        operation = parts.pop()[1:]
    rtype = parts[0] if parts else None
    if rtype is not None and rtype not in definitions.resource_types():
        # request.url is relative to the base the Bundle is posted to (Bundle.entry.request.url)
        raise error(
            "CH-7002",
            f"{where}: {url[:80]!r} is not a resource URL of this server",
            f"{where}.request.url",
        )
    e = Entry(
        index=i,
        method=method,
        url=url,
        rtype=rtype,
        rid=parts[1] if len(parts) > 1 else None,
        rest="/".join(parts[2:]),
        query=parse_qsl(qs, keep_blank_values=True) if qmark else None,
        resource=raw.get("resource"),
        full_url=raw.get("fullUrl"),
        request=request,
        operation=operation,
    )
    check_shape(e, parts)
    return e


def check_shape(e: Entry, parts: list[str]) -> None:
    """Refuse URLs the method cannot take, rather than acting on part of them."""
    if e.operation is not None:
        ok = e.method in ("POST", "GET") and len(parts) <= 2
    elif e.method == "POST":
        ok = len(parts) == 1 and e.query is None
    elif e.method in ("PUT", "DELETE", "PATCH"):
        ok = (len(parts) == 2 and e.query is None) or (len(parts) == 1 and e.query is not None)
    else:  # GET, HEAD
        ok = (
            len(parts) == 1
            or len(parts) == 2
            or (len(parts) in (3, 4) and parts[2] == "_history")
            or (len(parts) == 3 and parts[2] in definitions.resource_types())
        )
    if not ok:
        where = f"Bundle.entry[{e.index}]"
        raise error(
            "CH-7002",
            f"{where}: {e.method} {e.url[:80]} is not an interaction this server takes in a Bundle",
            f"{where}.request.url",
        )
