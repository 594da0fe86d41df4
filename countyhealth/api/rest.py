"""FHIR RESTful interactions over HTTP (https://hl7.org/fhir/R4/http.html).

Routes only adapt HTTP to the Repository: they parse headers and bodies, call one Repository
method and shape the response. Access rules and audit live in the Repository.

These are plain Starlette endpoints mounted under ``/fhir`` rather than FastAPI routes: the FHIR
API is described by its CapabilityStatement, not OpenAPI, and skipping FastAPI's per-request
dependency resolution keeps the hot read path cheap. Blocking Repository work runs in the
thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..errors import error, information
from ..fhir import definitions
from ..fhir.instant import parse_period
from ..identity.mpi import register_patient
from ..rest import process_bundle
from ..rest.results import history_bundle, stored_location
from ..store import HistoryQuery, Repository, Stored
from . import bulk, search
from .deps import repository
from .media import fhir_response, negotiate, prefer_return, pretty, read_json_body
from .operations import dispatch_operation, precheck_inline, prepare_operation, run_operation

#: Interactions this module serves; the CapabilityStatement is generated from these.
TYPE_INTERACTIONS = (
    "search-type",
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "history-system", "search-system")


def _version_headers(settings_base: str, stored: Stored, location: bool = False) -> dict[str, str]:
    headers = {"ETag": stored.etag, "Last-Modified": stored.last_modified}
    if location:
        headers["Location"] = stored_location(settings_base, stored)
    headers["Content-Location"] = stored_location(settings_base, stored)
    return headers


def _if_match(request: Request) -> int | None:
    value = request.headers.get("if-match")
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):  # str.isdigit also takes "²", which int() refuses
        raise error("CH-1009", f'If-Match must be a version ETag like W/"3", not {value[:40]!r}')
    return int(text)


def _written(request: Request, base: str, stored: Stored, status: int) -> Response:
    """The answer to a write, honouring Prefer: return= (http.html#ops)."""
    headers = _version_headers(base, stored, location=status == 201)
    preference = prefer_return(request)
    if preference == "minimal":
        return Response(status_code=status, headers=headers)
    if preference == "OperationOutcome":
        text = f"{stored.reference} stored as version {stored.version}"
        return fhir_response(information(text), status, headers, indent=pretty(request))
    return fhir_response(stored.content, status, headers, indent=pretty(request))


def _not_modified(request: Request, stored: Stored) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return f'"{stored.version}"' in tags or "*" in tags
    ims = request.headers.get("if-modified-since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError) as exc:
            raise error("CH-1009", f"If-Modified-Since is not an HTTP date: {ims[:40]!r}") from exc
        return stored.last_updated_us // 1_000_000 <= int(since)
    return False


# ---------------------------------------------------------------------- history


def _history_query(
    request: Request, settings_page: int, max_page: int, **where: Any
) -> HistoryQuery:
    q = request.query_params
    known = {"_count", "_since", "_at", "_offset", "_snapshot", "_format", "_pretty"}
    unknown = sorted(set(q.keys()) - known)
    if unknown:
        raise error("CH-1006", f"history does not take {', '.join(unknown)}", unknown[0])
    count = _int_param(q.get("_count"), "_count", settings_page)
    if count < 1 or count > max_page:
        raise error("CH-1006", f"_count must be between 1 and {max_page}", "_count")
    since = at = None
    if "_since" in q:
        since = _period(q["_since"], "_since")[0]
    if "_at" in q:
        at = _period(q["_at"], "_at")
    return HistoryQuery(
        since_us=since,
        at=at,
        count=count,
        offset=_int_param(q.get("_offset"), "_offset", 0),
        snapshot_us=_int_param(q.get("_snapshot"), "_snapshot", 0) or None,
        query_string=str(request.url.query),
        **where,
    )


def _int_param(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    # ASCII digits only (str.isdigit also takes "²"), and at most 18 of them: the database
    # columns these values are compared with hold signed 64-bit integers
    if not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > 18:
        raise error("CH-1006", f"{name} must be a whole number, not {value[:40]!r}", name)
    return int(value)


def _period(value: str, name: str) -> tuple[int, int]:
    try:
        return parse_period(value)
    except ValueError as exc:
        raise error("CH-1006", f"{name}: {exc}", name) from exc


async def _read_call(repo: Repository, fn: Callable[..., Stored], *args: str) -> Stored:
    """Run a single-row read inline where the backend makes that cheaper than a thread."""
    if repo.store.engines.reads_inline:
        return fn(*args)
    return await run_in_threadpool(fn, *args)


def _history(request: Request, repo: Repository, path: str, **where: Any) -> Response:
    settings = repo.store.settings
    query = _history_query(request, settings.default_page_size, settings.max_page_size, **where)
    page = repo.history(query)
    params = {
        k: v
        for k, v in request.query_params.items()
        if k in ("_since", "_at", "_format", "_pretty")
    }
    bundle = history_bundle(page, settings.base_url, path, params, query.count, query.offset)
    return fhir_response(bundle, indent=pretty(request))


async def history(request: Request) -> Response:
    """history-system, history-type and history-instance."""
    negotiate(request)
    repo = repository(request)
    rtype = request.path_params.get("rtype")
    rid = request.path_params.get("rid")
    path = "/" + "/".join(p for p in (rtype, rid) if p) + "/_history" if rtype else "/_history"
    where = {k: v for k, v in (("type", rtype), ("id", rid)) if v}
    return await run_in_threadpool(_history, request, repo, path.replace("//", "/"), **where)


async def vread(request: Request) -> Response:
    negotiate(request)
    repo = repository(request)
    p = request.path_params
    stored = await _read_call(repo, repo.vread, p["rtype"], p["rid"], p["vid"])
    headers = _version_headers(repo.store.settings.base_url, stored)
    return fhir_response(stored.content, 200, headers, indent=pretty(request))


async def read(request: Request) -> Response:
    """read (and conditional read with If-None-Match / If-Modified-Since)."""
    negotiate(request)
    repo = repository(request)
    rtype, rid = request.path_params["rtype"], request.path_params["rid"]
    if rid.startswith("$"):
        return await run_in_threadpool(
            dispatch_operation, request, repo, rtype, None, rid[1:], None
        )
    stored = await _read_call(repo, repo.read, rtype, rid)
    headers = {"ETag": stored.etag, "Last-Modified": stored.last_modified}
    if _not_modified(request, stored):
        return Response(status_code=304, headers=headers)
    return fhir_response(stored.content, 200, headers, indent=pretty(request))


async def update(request: Request) -> Response:
    """update, and update-as-create for an id that does not exist yet."""
    negotiate(request)
    repo = repository(request)
    settings = repo.store.settings
    body = await read_json_body(request, settings.max_body_bytes)
    rtype, rid = request.path_params["rtype"], request.path_params["rid"]
    stored, created = await run_in_threadpool(repo.update, rtype, rid, body, _if_match(request))
    return _written(request, settings.base_url, stored, 201 if created else 200)


async def patch(request: Request) -> Response:
    negotiate(request)
    repo = repository(request)
    settings = repo.store.settings
    body = await read_json_body(request, settings.max_body_bytes, patch=True)
    rtype, rid = request.path_params["rtype"], request.path_params["rid"]
    stored = await run_in_threadpool(repo.patch, rtype, rid, body, _if_match(request))
    return _written(request, settings.base_url, stored, 200)


async def delete(request: Request) -> Response:
    negotiate(request)
    repo = repository(request)
    rtype, rid = request.path_params["rtype"], request.path_params["rid"]
    stored = await run_in_threadpool(repo.delete, rtype, rid, _if_match(request))
    text = (
        f"{rtype}/{rid} deleted"
        if stored is not None
        else f"{rtype}/{rid} had no current version; nothing was deleted"
    )
    headers = {"ETag": stored.etag} if stored is not None else {}
    return fhir_response(information(text), 200, headers, indent=pretty(request))


async def create(request: Request) -> Response:
    if request.path_params["rtype"].startswith("$"):
        return await system_operation(request)
    negotiate(request)
    repo = repository(request)
    settings = repo.store.settings
    rtype = request.path_params["rtype"]
    body = await read_json_body(request, settings.max_body_bytes)
    if isinstance(body, dict) and body.get("resourceType") not in (None, rtype):
        raise error(
            "CH-2005",
            f"body is a {str(body.get('resourceType'))[:64]}, the URL names {rtype}",
            "resourceType",
        )
    if_none_exist = request.headers.get("if-none-exist")
    if if_none_exist is not None:
        criteria = parse_qsl(if_none_exist.lstrip("?").split("?", 1)[-1], keep_blank_values=True)
        stored, created = await run_in_threadpool(repo.create_if_none_exist, body, criteria)
        return _written(request, settings.base_url, stored, 201 if created else 200)
    if rtype == "Patient" and isinstance(body, dict):
        # the identity check of the master patient index (refuses a second record of an
        # identity number; opens a review Task for a probable duplicate)
        registered = await run_in_threadpool(register_patient, repo, body)
        return _written(request, settings.base_url, registered.stored, 201)
    stored = await run_in_threadpool(repo.create, body)
    return _written(request, settings.base_url, stored, 201)


def _criteria(request: Request) -> list[tuple[str, str]]:
    return [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("_format", "_pretty")
    ]


async def update_where(request: Request) -> Response:
    """Conditional update: PUT [type]?[search parameters]."""
    negotiate(request)
    repo = repository(request)
    settings = repo.store.settings
    body = await read_json_body(request, settings.max_body_bytes)
    rtype = request.path_params["rtype"]
    if not isinstance(body, dict) or body.get("resourceType") != rtype:
        raise error("CH-2005", f"the body must be a {rtype}", "resourceType")
    stored, created = await run_in_threadpool(
        repo.update_where, rtype, _criteria(request), body, _if_match(request)
    )
    return _written(request, settings.base_url, stored, 201 if created else 200)


async def delete_where(request: Request) -> Response:
    """Conditional delete: DELETE [type]?[search parameters]."""
    negotiate(request)
    repo = repository(request)
    rtype = request.path_params["rtype"]
    stored = await run_in_threadpool(repo.delete_where, rtype, _criteria(request))
    text = (
        f"{stored.reference} deleted"
        if stored is not None
        else f"no {rtype} matched; nothing was deleted"
    )
    return fhir_response(information(text), 200, indent=pretty(request))


async def operation(request: Request) -> Response:
    """$operations at type or instance level, by GET or POST; compartment search by GET."""
    negotiate(request)
    repo = repository(request)
    p = request.path_params
    code = p["operation"]
    if request.method == "GET" and p.get("rid") and code in definitions.resource_types():
        return await search.search_compartment(request, repo)
    where = f"/fhir/{p['rtype']}/{p.get('rid', '') + '/' if p.get('rid') else ''}{code[:40]}"
    if not code.startswith("$"):
        raise error("CH-1008", f"no route {request.method} {where}")
    body = None
    if request.method == "POST":
        body = await read_json_body(request, repo.store.settings.max_body_bytes)
    call = prepare_operation(request, repo, p["rtype"], p.get("rid"), code[1:], body)
    precheck_inline(repo, call)
    return await run_in_threadpool(run_operation, request, repo, call)


async def bundle(request: Request) -> Response:
    """batch / transaction: POST [base] with a Bundle (http.html#transaction)."""
    negotiate(request)
    repo = repository(request)
    settings = repo.store.settings
    body = await read_json_body(request, settings.max_body_bytes)
    result = await run_in_threadpool(process_bundle, repo, body, settings.base_url)
    return fhir_response(result, 200, indent=pretty(request))


async def system_operation(request: Request) -> Response:
    """$operations at system level: ``[base]/$name`` by GET, or by POST with a Parameters body
    (an empty POST body means no parameters)."""
    negotiate(request)
    repo = repository(request)
    code = request.path_params["rtype"][1:]
    body = None
    if request.method == "POST" and await request.body():
        body = await read_json_body(request, repo.store.settings.max_body_bytes)
    return await run_in_threadpool(dispatch_operation, request, repo, None, None, code, body)


async def search_type(request: Request) -> Response:
    if request.path_params["rtype"].startswith("$"):
        return await system_operation(request)
    return await search.search_type(request, repository(request))


async def search_system(request: Request) -> Response:
    return await search.search_system(request, repository(request))


router = Router(
    routes=[
        *bulk.routes,
        Route("/", search_system, methods=["GET"]),
        Route("/", bundle, methods=["POST"]),
        Route("/_search", search_system, methods=["POST"]),
        Route("/_history", history, methods=["GET"]),
        Route("/{rtype}", search_type, methods=["GET"]),
        Route("/{rtype}/_search", search_type, methods=["POST"]),
        Route("/{rtype}/_history", history, methods=["GET"]),
        Route("/{rtype}/{rid}/_history", history, methods=["GET"]),
        Route("/{rtype}/{rid}/_history/{vid}", vread, methods=["GET"]),
        Route("/{rtype}/{rid}", read, methods=["GET"]),
        Route("/{rtype}/{rid}", update, methods=["PUT"]),
        Route("/{rtype}/{rid}", patch, methods=["PATCH"]),
        Route("/{rtype}/{rid}", delete, methods=["DELETE"]),
        Route("/{rtype}", create, methods=["POST"]),
        Route("/{rtype}", update_where, methods=["PUT"]),
        Route("/{rtype}", delete_where, methods=["DELETE"]),
        Route("/{rtype}/{operation}", operation, methods=["POST"]),
        Route("/{rtype}/{rid}/{operation}", operation, methods=["GET", "POST"]),
    ]
)
