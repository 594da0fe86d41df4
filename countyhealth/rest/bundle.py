"""batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction).

A transaction is all or nothing: every entry runs in one database transaction, in the order the
specification sets (DELETE, POST, PUT/PATCH, GET), with ``urn:uuid:``/``urn:oid:`` full URLs and
conditional references (``Patient?identifier=…``) replaced by the ids they stand for in every
reference of every entry, contained resources and extensions included. If one entry fails
nothing is stored and the answer names the entry (``Bundle.entry[i]``). A batch runs each entry
on its own and reports each outcome.

Links to entries the server gives an id are also replaced in elements of type uri, url, oid
and uuid and in narrative ``href``/``src`` (see :class:`Links`). Entries may invoke registered
$operations (``POST Patient/$validate``) and read conditionally (``ifNoneMatch`` /
``ifModifiedSince`` answer ``304 Not Modified``).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from ..errors import Issue, OperationOutcomeError, error, operation_outcome
from ..fhir.instant import format_instant, parse_period
from ..fhir.search_request import parse_search
from ..operations.registry import OperationContext, operations, parameters_from_body
from ..store import HistoryQuery, Repository, Stored
from .bundle_entry import ORDER, Entry, parse_entry
from .bundle_links import Links, resolve_links
from .results import searchset_bundle


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
    entries = [parse_entry(i, raw, base) for i, raw in enumerate(raw_entries)]
    responses: dict[int, dict[str, Any]] = {}
    with repo.transaction():
        ids = _assign_ids(repo, entries)
        seen: dict[str, int] = {}
        for e in entries:
            if e.operation is not None:
                continue
            if e.method in ("PUT", "DELETE", "PATCH", "POST") and e.rid is not None:
                key = f"{e.rtype}/{e.rid}"
            elif e.index in ids.created:
                key = ids.created[e.index]
            elif e.index in ids.conditional:
                key = f"{e.rtype}/{ids.conditional[e.index][0]}"
            else:
                continue
            if key in seen:
                raise error(
                    "CH-7004",
                    f"Bundle.entry[{e.index}] and Bundle.entry[{seen[key]}] both change {key}",
                    f"Bundle.entry[{e.index}]",
                )
            seen[key] = e.index
        links = Links(ids.by_full_url, ids.new_links(), base)
        for e in entries:
            if isinstance(e.resource, dict):
                try:
                    e.resource = resolve_links(repo, e, e.resource, links)
                except OperationOutcomeError as exc:
                    raise _at_entry(exc, e.index) from exc
        for e in sorted(entries, key=lambda x: (ORDER[x.method], x.index)):
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
    conditional: dict[int, tuple[str, bool]]  # conditional PUT index → (id, matched)

    def new_links(self) -> dict[str, str]:
        """fullUrls whose identity the server gives: POST creates and ``urn:`` fullUrls."""
        created = set(self.created.values())
        return {
            url: target
            for url, target in self.by_full_url.items()
            if target in created or url.startswith(("urn:uuid:", "urn:oid:"))
        }


def _assign_ids(repo: Repository, entries: list[Entry]) -> _Ids:
    ids = _Ids({}, {}, {}, {})
    for e in entries:
        target: str | None = None
        if e.operation is not None:
            continue
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
                found = _matches(repo, e, e.rtype, criteria, "ifNoneExist")
                if found:
                    ids.existing[e.index] = found[0]
                    target = f"{e.rtype}/{found[0].id}"
            if target is None:
                target = f"{e.rtype}/{uuid.uuid4()}"
                ids.created[e.index] = target
        elif e.method == "PUT" and e.rtype and e.rid:
            target = f"{e.rtype}/{e.rid}"
        elif e.method == "PUT" and e.rtype and e.query is not None:
            # conditional update: found now, so that references to its fullUrl resolve
            found = _matches(repo, e, e.rtype, e.query, "request.url")
            body_id = e.resource.get("id") if isinstance(e.resource, dict) else None
            if found:
                ids.conditional[e.index] = (found[0].id, True)
            elif isinstance(body_id, str):
                ids.conditional[e.index] = (body_id, False)
            else:
                ids.conditional[e.index] = (str(uuid.uuid4()), False)
            target = f"{e.rtype}/{ids.conditional[e.index][0]}"
        if target is not None and isinstance(e.full_url, str) and e.full_url:
            ids.by_full_url[e.full_url] = target
    return ids


def _matches(
    repo: Repository, e: Entry, rtype: str, criteria: list[tuple[str, str]], what: str
) -> list[Stored]:
    try:
        found = repo.matches(rtype, criteria)
    except OperationOutcomeError as exc:
        raise _at_entry(exc, e.index) from exc
    if len(found) > 1:
        raise error(
            "CH-2015",
            f"Bundle.entry[{e.index}]: {what} matches more than one resource",
            f"Bundle.entry[{e.index}]",
        )
    return found


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
                    if x != where
                ),
            ],
            i.severity,
        )
        for i in exc.issues
    ]
    return OperationOutcomeError(issues, exc.headers)


# ---------------------------------------------------------------------- running one entry


def _if_match(e: Entry) -> int | None:
    value = e.request.get("ifMatch")
    if value is None:
        return None
    text = str(value).removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):  # str.isdigit also takes "²"
        raise error("CH-1009", f'Bundle.entry[{e.index}].request.ifMatch must be like W/"3"')
    return int(text)


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


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
    if e.operation is not None:
        return _operation(repo, e, base)
    if e.method == "POST":
        if e.index in ids.existing:
            return _written(ids.existing[e.index], "200 OK", base)
        rid = ids.created[e.index].split("/", 1)[1]
        stored = repo.create({**e.resource, "id": rid}, assigned_id=rid)
        return _written(stored, "201 Created", base)
    if e.method == "PUT":
        if not isinstance(e.resource, dict):
            raise error("CH-7002", f"{where}: PUT needs a resource", where)
        if e.query is not None and e.rtype:
            stored, created = _conditional_update(repo, e, ids)
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
    answer = _get(repo, e, base)
    if e.method == "HEAD":
        answer.pop("resource", None)
    return answer


def _conditional_update(repo: Repository, e: Entry, ids: _Ids) -> tuple[Stored, bool]:
    """PUT Type?criteria with the match found by :func:`_assign_ids` (http.html#cond-update)."""
    assert e.rtype is not None
    rid, matched = ids.conditional[e.index]
    body_id = e.resource.get("id")
    if matched and body_id is not None and body_id != rid:
        raise error(
            "CH-2016",
            f"the criteria match {e.rtype}/{rid}, the body says {e.rtype}/{str(body_id)[:64]}",
            f"{e.rtype}.id",
        )
    if_match = _if_match(e)
    if not matched and body_id is None and if_match is not None:
        raise error("CH-2008", f"no {e.rtype} matches the criteria; If-Match cannot hold")
    stored, created = repo.update(e.rtype, rid, {**e.resource, "id": rid}, if_match)
    return stored, created


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


def _operation(repo: Repository, e: Entry, base: str) -> dict[str, Any]:
    """An $operation in an entry (http.html#transaction: "or using the operations framework")."""
    if e.rtype is not None:
        repo.check_type(e.rtype)
    ctx = OperationContext(e.rtype, e.rid, base, tuple(e.query or ()))
    named = [op for op in operations() if op.code == e.operation]
    if not named:
        raise error("CH-2014", f"${e.operation} is not an operation of this server")
    for operation in named:
        if operation.allowed_at(ctx) and operation.applies_to(e.rtype):
            break
    else:
        level = f"{e.rtype}/{e.rid}" if e.rid else (e.rtype or "the system")
        raise error("CH-2014", f"${e.operation} is not defined on {level}")
    values: dict[str, list[Any]] = {}
    for key, value in e.query or []:
        values.setdefault(key, []).append(value)
    if isinstance(e.resource, dict):
        if e.resource.get("resourceType") == "Parameters":
            values.update(parameters_from_body(e.resource))
        else:
            values["resource"] = [e.resource]
    result = operation.handler(operation.parse(values), repo, ctx)
    return {"resource": result.resource, "response": {"status": _status(result.status)}}


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
    elif e.rid and e.rest:  # compartment search: Patient/1/Observation
        return _search(repo, e, base, e.rest, (e.rtype, e.rid))
    elif e.rid:
        stored = repo.read(e.rtype, e.rid)
    else:
        return _search(repo, e, base, e.rtype, None)
    response = {
        "status": "200 OK",
        "etag": stored.etag,
        "lastModified": format_instant(stored.last_updated_us),
    }
    if _not_modified(e, stored):
        return {"response": {**response, "status": "304 Not Modified"}}
    return {"resource": orjson.loads(stored.content or b"{}"), "response": response}


def _not_modified(e: Entry, stored: Stored) -> bool:
    """Conditional read: request.ifNoneMatch, else request.ifModifiedSince (an instant)."""
    inm = e.request.get("ifNoneMatch")
    if isinstance(inm, str):
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return f'"{stored.version}"' in tags or "*" in tags
    ims = e.request.get("ifModifiedSince")
    if isinstance(ims, str):
        try:
            since_us = parse_period(ims)[0]
        except ValueError as exc:
            raise error(
                "CH-1009",
                f"Bundle.entry[{e.index}].request.ifModifiedSince is not an instant",
                f"Bundle.entry[{e.index}].request.ifModifiedSince",
            ) from exc
        return stored.last_updated_us // 1_000_000 <= since_us // 1_000_000
    return False


def _search(
    repo: Repository, e: Entry, base: str, rtype: str, compartment_of: tuple[str, str] | None
) -> dict[str, Any]:
    settings = repo.store.settings
    params = e.query or []
    req = parse_search(
        [rtype],
        params,
        default_count=settings.default_page_size,
        max_count=settings.max_page_size,
    )
    path = f"{base}/{e.url.partition('?')[0].strip('/')}"
    kept = [(k, v) for k, v in params if k not in ("_page", "_format", "_pretty")]
    page = repo.search(req, compartment_of, urlencode(kept))
    bundle = searchset_bundle(
        page,
        self_url=f"{path}?{urlencode(kept)}" if kept else path,
        page_url=lambda token: f"{path}?{urlencode([*kept, ('_page', token)])}",
        summary=req.summary,
        elements=req.elements,
        base=base,
        warnings=req.warnings,
    )
    # plain JSON values, not orjson fragments: callers other than the HTTP layer read them
    return {"resource": orjson.loads(orjson.dumps(bundle)), "response": {"status": "200 OK"}}


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
        e = parse_entry(i, raw, base)
        # the match of a conditional create or reference and the write are one unit of work
        with repo.transaction():
            ids = _assign_ids(repo, [e])
            if isinstance(e.resource, dict):
                e.resource = resolve_links(repo, e, e.resource, Links({}, {}, base))
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
