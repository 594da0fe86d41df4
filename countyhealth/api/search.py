"""Search over HTTP: type, system and compartment level, GET and POST ``_search``.

https://hl7.org/fhir/R4/http.html#search and search.html. ``Prefer: handling=strict`` turns
unknown parameters into a 400; by default they are ignored and reported in an OperationOutcome
entry of the Bundle (search mode ``outcome``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import error
from ..fhir import definitions
from ..fhir.search_request import parse_search
from ..rest.results import searchset_bundle
from ..store import Repository
from .media import fhir_response, negotiate, pretty

_FORM = "application/x-www-form-urlencoded"


def _strict(request: Request) -> bool:
    for part in request.headers.get("prefer", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "handling":
            return value.strip().lower() == "strict"
    return False


async def _params(request: Request) -> list[tuple[str, str]]:
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in (_FORM, ""):
            raise error("CH-1003", f"POST _search takes {_FORM}, not {ctype}")
        body = (await request.body()).decode("utf-8", errors="strict")
        params += parse_qsl(body, keep_blank_values=True)
    return params


def _search(
    request: Request,
    repo: Repository,
    types: tuple[str, ...],
    params: list[tuple[str, str]],
    path: str,
    compartment_of: tuple[str, str] | None = None,
) -> Response:
    settings = repo.store.settings
    for rtype in types:
        repo.check_type(rtype)
    req = parse_search(
        types,
        [(k, v) for k, v in params if k not in ("_type",)],
        strict=_strict(request),
        default_count=settings.default_page_size,
        max_count=settings.max_page_size,
    )
    base = settings.base_url
    kept = [(k, v) for k, v in params if k not in ("_page", "_format", "_pretty")]
    query = urlencode(kept)
    page = repo.search(req, compartment_of, query)

    def page_url(token: str) -> str:
        return f"{base}{path}?{urlencode([*kept, ('_page', token)])}"

    self_params = urlencode([*kept, ("_page", req.page)] if req.page else kept)
    bundle = searchset_bundle(
        page,
        self_url=f"{base}{path}?{self_params}" if self_params else f"{base}{path}",
        page_url=page_url,
        summary=req.summary,
        elements=req.elements,
        base=base,
        warnings=req.warnings,
    )
    return fhir_response(bundle, indent=pretty(request))


async def search_type(request: Request, repo: Repository) -> Response:
    negotiate(request)
    rtype = request.path_params["rtype"]
    params = await _params(request)
    return await run_in_threadpool(_search, request, repo, (rtype,), params, f"/{rtype}")


async def search_system(request: Request, repo: Repository) -> Response:
    negotiate(request)
    params = await _params(request)
    types_param = [v for k, v in params if k == "_type"]
    types = tuple(t.strip() for v in types_param for t in v.split(",") if t.strip())
    if not types:  # absent, or present and empty (``_type=``)
        raise error(
            "CH-6001", "a system-level search needs _type (e.g. _type=Patient,Practitioner)"
        )
    for rtype in types:
        if rtype not in definitions.resource_types():
            raise error("CH-2004", f"_type: {rtype[:64]!r} is not a resource type")
    return await run_in_threadpool(_search, request, repo, types, params, "")


async def search_compartment(request: Request, repo: Repository) -> Response:
    negotiate(request)
    p = request.path_params
    compartment, cid, rtype = p["rtype"], p["rid"], p["operation"]
    params = await _params(request)
    return await run_in_threadpool(
        _search,
        request,
        repo,
        (rtype,),
        params,
        f"/{compartment}/{cid}/{rtype}",
        (compartment, cid),
    )
