"""batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction).

A transaction is all or nothing: every entry runs in one database transaction, in the order the
specification sets (DELETE, POST, PUT/PATCH, GET), with ``urn:uuid:``/``urn:oid:`` full URLs and
conditional references (``Patient?identifier=…``) replaced by the ids they stand for in every
reference of every entry, contained resources and extensions included. If one entry fails
nothing is stored and the answer names the entry (``Bundle.entry[i]``). A batch runs each entry
on its own and reports each outcome.

Links to entries the server gives an id are also replaced in elements of type uri, url, oid
and uuid and in narrative ``href``/``src`` (see :class:`_Links`). Entries may invoke registered
$operations (``POST Patient/$validate``) and read conditionally (``ifNoneMatch`` /
``ifModifiedSince`` answer ``304 Not Modified``).
"""

from __future__ import annotations

import base64
import html
import re
import uuid
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from ..errors import Issue, OperationOutcomeError, error, operation_outcome
from ..fhir import definitions
from ..fhir.instant import format_instant, parse_period
from ..fhir.search_request import parse_search
from ..operations.registry import OperationContext, operations, parameters_from_body
from ..store import HistoryQuery, Repository, Stored
from .results import searchset_bundle

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
    operation: str | None = None  # the code of an $operation, without "$"


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
    _check_shape(e, parts)
    return e


def _check_shape(e: Entry, parts: list[str]) -> None:
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
        links = _Links(ids.by_full_url, ids.new_links(), base)
        for e in entries:
            if isinstance(e.resource, dict):
                try:
                    e.resource = _resolve_links(repo, e, e.resource, links)
                except OperationOutcomeError as exc:
                    raise _at_entry(exc, e.index) from exc
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


# ---------------------------------------------------------------------- links between entries


@dataclass
class _Links:
    """What to replace (https://hl7.org/fhir/R4/http.html#trules).

    References are matched against every entry's fullUrl. Elements of type uri, url, oid and
    uuid and ``href``/``src`` in the narrative only change for the entries whose identity the
    server gives (POST creates and ``urn:`` fullUrls): a PUT keeps its id, so an absolute
    fullUrl that is also a canonical URL (``Questionnaire.url``) stays what it is.
    """

    references: dict[str, str]  # fullUrl → Type/id
    new: dict[str, str]  # fullUrl → Type/id, for uri elements and the narrative
    base: str  # the narrative gets absolute URLs: a browser reads it relative to the page


#: R4 types whose values are links to replace besides Reference.reference (canonical is not:
#: it names a resource by its canonical URL, not by where it is stored).
_LINK_TYPES = frozenset({"uri", "url", "oid", "uuid"})
_NARRATIVE_LINK = re.compile(r"""\b(href|src)(\s*=\s*)(["'])(.*?)\3""", re.DOTALL)
_RESTFUL = re.compile(r"^(?P<root>.+)/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")
_RELATIVE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


@cache
def _fields(type_name: str, path: str) -> dict[str, tuple[str, str]]:
    """JSON property → (type, path) of what it holds, for one element of an R4 type.

    ``type`` is a type code (``Reference``, ``uri``, ``Resource`` …); a backbone element or a
    ``contentReference`` keeps ``type_name`` and gives the path of its definition.
    """
    elements = definitions.structure(type_name)["elements"]
    parents = {el["path"].rsplit(".", 1)[0] for el in elements}
    out: dict[str, tuple[str, str]] = {}
    for el in elements:
        parent, name = el["path"].rsplit(".", 1)
        if parent != path:
            continue
        if "contentReference" in el:
            out[name] = (type_name, el["contentReference"][1:])
        elif el["path"] in parents:
            out[name] = (type_name, el["path"])
        else:
            for t in el.get("type") or []:
                code = t["code"]
                key = name[:-3] + code[0].upper() + code[1:] if name.endswith("[x]") else name
                out[key] = (code, code)
    return out


def _resolve_links(repo: Repository, e: Entry, resource: dict[str, Any], links: _Links) -> Any:
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in definitions.resource_types():
        return resource  # validation will say what is wrong with it
    return _walk(repo, e, resource, rtype, rtype, links)


def _walk(repo: Repository, e: Entry, node: Any, type_name: str, path: str, links: _Links) -> Any:
    if isinstance(node, list):
        return [_walk(repo, e, item, type_name, path, links) for item in node]
    if not isinstance(node, dict):
        return node
    fields = _fields(type_name, path)
    out = {}
    for key, value in node.items():
        kind = fields.get(key)
        if kind is None:
            if key.startswith("_"):  # a primitive's id and extensions
                value = _walk(repo, e, value, "Element", "Element", links)
            out[key] = value
            continue
        code, child = kind
        if type_name == "Reference" and key == "reference" and isinstance(value, str):
            value = _resolve_one(repo, e, value, links.references)
        elif code in _LINK_TYPES:
            value = _replace_links(value, links.new)
        elif code == "xhtml" and isinstance(value, str) and links.new:
            value = _NARRATIVE_LINK.sub(lambda m: _narrative_link(m, links), value)
        elif code == "Resource":
            value = _walk_resources(repo, e, value, links)
        elif code not in definitions.primitive_types():
            value = _walk(repo, e, value, code, child, links)
        out[key] = value
    return out


def _walk_resources(repo: Repository, e: Entry, value: Any, links: _Links) -> Any:
    if isinstance(value, list):
        return [_walk_resources(repo, e, v, links) for v in value]
    return _resolve_links(repo, e, value, links) if isinstance(value, dict) else value


def _replace_links(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [mapping.get(v, v) if isinstance(v, str) else v for v in value]
    return mapping.get(value, value) if isinstance(value, str) else value


def _narrative_link(m: re.Match[str], links: _Links) -> str:
    target = links.new.get(html.unescape(m.group(4)))
    if target is None:
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{m.group(3)}{links.base}/{target}{m.group(3)}"


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
    # a relative reference in an entry with a RESTful fullUrl is relative to that fullUrl's
    # root (https://hl7.org/fhir/R4/bundle.html#references)
    own = _RESTFUL.match(e.full_url) if isinstance(e.full_url, str) else None
    if own is not None and _RELATIVE.match(ref):
        return mapping.get(f"{own['root']}/{ref}", ref)
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
    if not text.isdigit():
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
        e = _parse_entry(i, raw, base)
        # the match of a conditional create or reference and the write are one unit of work
        with repo.transaction():
            ids = _assign_ids(repo, [e])
            if isinstance(e.resource, dict):
                e.resource = _resolve_links(repo, e, e.resource, _Links({}, {}, base))
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
