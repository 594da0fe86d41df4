"""batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction).

A transaction is all or nothing: every entry runs in one database transaction, in the order the
specification sets (DELETE, POST, PUT/PATCH, GET), with ``urn:uuid:``/``urn:oid:`` full URLs and
conditional references (``Patient?identifier=…``) replaced by the ids they stand for in every
reference of every entry, contained resources and extensions included. If one entry fails
nothing is stored and the answer names the entry (``Bundle.entry[i]``). A batch runs each entry
on its own and reports each outcome.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ..errors import Issue, OperationOutcomeError, error, operation_outcome
from ..fhir import definitions
from ..fhir.instant import format_instant
from ..fhir.search_request import parse_search
from ..store import HistoryQuery, Repository, Stored

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


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


def _parse_entry(i: int, raw: Any, base: str) -> Entry:
    where = f"Bundle.entry[{i}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise error("CH-7002", f"{where}: each entry needs a request", where)
    request = raw["request"]
    method, url = request.get("method"), request.get("url")
    if method not in _ORDER or not isinstance(url, str) or not url:
        raise error(
            "CH-7002", f"{where}: request.method and request.url are required", f"{where}.request"
        )
    if url.startswith(base + "/"):
        url = url[len(base) + 1 :]
    path, qmark, qs = url.partition("?")
    parts = [p for p in path.split("/") if p]
    rtype = parts[0] if parts else None
    if rtype is not None and rtype not in definitions.resource_types():
        raise error(
            "CH-7002",
            f"{where}: {url[:80]!r} is not a resource URL of this server",
            f"{where}.request.url",
        )
    return Entry(
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
    )


def process_bundle(repo: Repository, bundle: Any, base: str) -> dict[str, Any]:
    """Run a batch or transaction Bundle; returns the response Bundle."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") not in ("batch", "transaction")
    ):
        raise error(
            "CH-7001",
            "POST to the base URL takes a Bundle of type batch or transaction",
            "Bundle.type",
        )
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise error("CH-7001", "Bundle.entry must be a list", "Bundle.entry")
    if bundle["type"] == "transaction":
        return _transaction(repo, raw_entries, base)
    return _batch(repo, raw_entries, base)


# ---------------------------------------------------------------------- transaction


def _transaction(repo: Repository, raw_entries: list[Any], base: str) -> dict[str, Any]:
    entries = [_parse_entry(i, raw, base) for i, raw in enumerate(raw_entries)]
    responses: dict[int, dict[str, Any]] = {}
    with repo.transaction():
        ids = _assign_ids(repo, entries)
        seen: dict[str, int] = {}
        for e in entries:
            if e.method in ("PUT", "DELETE", "PATCH", "POST") and e.rid is not None:
                key = f"{e.rtype}/{e.rid}"
            elif e.method == "POST" and e.index in ids.created:
                key = ids.created[e.index]
            else:
                continue
            if key in seen:
                raise error(
                    "CH-7004",
                    f"Bundle.entry[{e.index}] and Bundle.entry[{seen[key]}] both change {key}",
                    f"Bundle.entry[{e.index}]",
                )
            seen[key] = e.index
        for e in entries:
            if isinstance(e.resource, dict):
                e.resource = _resolve_references(repo, e, e.resource, ids.by_full_url)
        for e in sorted(entries, key=lambda x: (_ORDER[x.method], x.index)):
            try:
                responses[e.index] = _run(repo, e, base, ids)
            except OperationOutcomeError as exc:
                raise _at_entry(exc, e.index) from exc
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "transaction-response",
        "entry": [responses[e.index] for e in entries],
    }


@dataclass
class _Ids:
    by_full_url: dict[str, str]  # fullUrl → Type/id
    created: dict[int, str]  # POST entry index → Type/id it will create
    existing: dict[int, Stored]  # conditional create entries that matched


def _assign_ids(repo: Repository, entries: list[Entry]) -> _Ids:
    ids = _Ids({}, {}, {})
    for e in entries:
        target: str | None = None
        if e.method == "POST":
            if e.rtype is None or not isinstance(e.resource, dict):
                raise error(
                    "CH-7002",
                    f"Bundle.entry[{e.index}]: POST needs a type and a resource",
                    f"Bundle.entry[{e.index}]",
                )
            if_none_exist = e.request.get("ifNoneExist")
            if isinstance(if_none_exist, str) and if_none_exist:
                criteria = parse_qsl(if_none_exist.split("?", 1)[-1], keep_blank_values=True)
                try:
                    found = repo.matches(e.rtype, criteria)
                except OperationOutcomeError as exc:
                    raise _at_entry(exc, e.index) from exc
                if len(found) > 1:
                    raise error(
                        "CH-2015",
                        f"Bundle.entry[{e.index}]: ifNoneExist matches more than one resource",
                        f"Bundle.entry[{e.index}]",
                    )
                if found:
                    ids.existing[e.index] = found[0]
                    target = f"{e.rtype}/{found[0].id}"
            if target is None:
                target = f"{e.rtype}/{uuid.uuid4()}"
                ids.created[e.index] = target
        elif e.method == "PUT" and e.rtype and e.rid:
            target = f"{e.rtype}/{e.rid}"
        if target is not None and isinstance(e.full_url, str) and e.full_url:
            ids.by_full_url[e.full_url] = target
    return ids


def _resolve_references(repo: Repository, e: Entry, node: Any, mapping: dict[str, str]) -> Any:
    """Replace fullUrls and conditional references in every ``reference`` of ``node``."""
    if isinstance(node, list):
        return [_resolve_references(repo, e, item, mapping) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "reference" and isinstance(value, str):
            out[key] = _resolve_one(repo, e, value, mapping)
        else:
            out[key] = _resolve_references(repo, e, value, mapping)
    return out


def _resolve_one(repo: Repository, e: Entry, ref: str, mapping: dict[str, str]) -> str:
    if ref in mapping:
        return mapping[ref]
    where = f"Bundle.entry[{e.index}].resource"
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        raise error("CH-7003", f"{where}: {ref} is not the fullUrl of an entry", where)
    rtype, qmark, qs = ref.partition("?")
    if qmark and rtype in definitions.resource_types() and "/" not in rtype:
        found = repo.matches(rtype, parse_qsl(qs, keep_blank_values=True))
        if len(found) != 1:
            code = "CH-2015" if found else "CH-7003"
            raise error(
                code,
                f"{where}: the conditional reference {ref[:80]} matches "
                f"{len(found) or 'no'} resource{'s' if len(found) != 1 else ''}",
                where,
            )
        mapping[ref] = f"{rtype}/{found[0].id}"
        return mapping[ref]
    return ref


def _at_entry(exc: OperationOutcomeError, index: int) -> OperationOutcomeError:
    where = f"Bundle.entry[{index}]"
    issues = [
        Issue(
            i.code,
            i.diagnostics if i.diagnostics.startswith(where) else f"{where}: {i.diagnostics}",
            [
                where,
                *(
                    f"{where}.resource.{x}" if not x.startswith("Bundle") else x
                    for x in i.expression
                ),
            ],
            i.severity,
        )
        for i in exc.issues
    ]
    return OperationOutcomeError(issues, exc.headers)


def _if_match(e: Entry) -> int | None:
    value = e.request.get("ifMatch")
    if value is None:
        return None
    text = str(value).removeprefix("W/").strip('"')
    if not text.isdigit():
        raise error("CH-1009", f'Bundle.entry[{e.index}].request.ifMatch must be like W/"3"')
    return int(text)


def _written(stored: Stored, status: str, base: str) -> dict[str, Any]:
    return {
        "response": {
            "status": status,
            "location": f"{base}/{stored.reference}/_history/{stored.version}",
            "etag": stored.etag,
            "lastModified": format_instant(stored.last_updated_us),
        }
    }


def _run(repo: Repository, e: Entry, base: str, ids: _Ids) -> dict[str, Any]:
    where = f"Bundle.entry[{e.index}]"
    if e.method == "POST":
        if e.index in ids.existing:
            return _written(ids.existing[e.index], "200 OK", base)
        rtype, rid = ids.created[e.index].split("/", 1)
        body = {**e.resource, "id": rid}
        stored, _ = repo.update(rtype, rid, body)
        return _written(stored, "201 Created", base)
    if e.method == "PUT":
        if not isinstance(e.resource, dict):
            raise error("CH-7002", f"{where}: PUT needs a resource", where)
        if e.query is not None and e.rtype:
            stored, created = repo.update_where(e.rtype, e.query, e.resource, _if_match(e))
        elif e.rtype and e.rid:
            stored, created = repo.update(e.rtype, e.rid, e.resource, _if_match(e))
        else:
            raise error("CH-7002", f"{where}: PUT needs Type/id or Type?criteria", where)
        return _written(stored, "201 Created" if created else "200 OK", base)
    if e.method == "PATCH":
        if not (e.rtype and e.rid) or not isinstance(e.resource, dict):
            raise error("CH-7002", f"{where}: PATCH needs Type/id and a Binary", where)
        stored = repo.patch(e.rtype, e.rid, _patch_document(e), _if_match(e))
        return _written(stored, "200 OK", base)
    if e.method == "DELETE":
        if e.query is not None and e.rtype:
            repo.delete_where(e.rtype, e.query)
        elif e.rtype and e.rid:
            repo.delete(e.rtype, e.rid, _if_match(e))
        else:
            raise error("CH-7002", f"{where}: DELETE needs Type/id or Type?criteria", where)
        return {"response": {"status": "204 No Content"}}
    return _get(repo, e, base)


def _patch_document(e: Entry) -> Any:
    """In a Bundle a JSON Patch travels as a Binary (http.html#patch)."""
    binary = e.resource
    if binary.get("resourceType") != "Binary" or binary.get("contentType") != (
        "application/json-patch+json"
    ):
        raise error(
            "CH-7002",
            f"Bundle.entry[{e.index}]: PATCH takes a Binary with contentType "
            "application/json-patch+json",
        )
    try:
        return orjson.loads(base64.b64decode(binary.get("data", "")))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise error("CH-2012", f"Bundle.entry[{e.index}]: the Binary holds no JSON Patch") from exc


def _get(repo: Repository, e: Entry, base: str) -> dict[str, Any]:
    if e.rtype is None:
        raise error("CH-7002", f"Bundle.entry[{e.index}]: GET needs a resource URL")
    if e.rid and e.rest.startswith("_history/"):
        stored = repo.vread(e.rtype, e.rid, e.rest.split("/", 1)[1])
    elif e.rid and e.rest == "_history":
        page = repo.history(HistoryQuery(type=e.rtype, id=e.rid))
        return {
            "resource": {
                "resourceType": "Bundle",
                "type": "history",
                "total": page.total,
                "entry": [{"resource": orjson.loads(s.content)} for s in page.entries if s.content],
            },
            "response": {"status": "200 OK"},
        }
    elif e.rid:
        stored = repo.read(e.rtype, e.rid)
    else:
        found = repo.search(parse_search([e.rtype], e.query or []))
        return {
            "resource": {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": found.total,
                "entry": [
                    {
                        "fullUrl": f"{base}/{s.reference}",
                        "resource": orjson.loads(s.content or b"{}"),
                        "search": {"mode": "match"},
                    }
                    for s in found.entries
                ],
            },
            "response": {"status": "200 OK"},
        }
    return {
        "resource": orjson.loads(stored.content or b"{}"),
        "response": {
            "status": "200 OK",
            "etag": stored.etag,
            "lastModified": format_instant(stored.last_updated_us),
        },
    }


# ---------------------------------------------------------------------- batch


def _batch(repo: Repository, raw_entries: list[Any], base: str) -> dict[str, Any]:
    out = []
    for i, raw in enumerate(raw_entries):
        out.append(_batch_entry(repo, i, raw, base))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "batch-response",
        "entry": out,
    }


def _batch_entry(repo: Repository, i: int, raw: Any, base: str) -> dict[str, Any]:
    try:
        e = _parse_entry(i, raw, base)
        ids = _assign_ids(repo, [e])
        if isinstance(e.resource, dict):
            e.resource = _resolve_references(repo, e, e.resource, {})
        with repo.transaction():
            return _run(repo, e, base, ids)
    except OperationOutcomeError as exc:
        located = _at_entry(exc, i)
        return {
            "response": {
                "status": f"{located.status}",
                "outcome": operation_outcome(located.issues),
            }
        }


__all__ = ["process_bundle"]
