"""Every route of the application refuses a request without credentials, unless it is listed
in ``countyhealth.api.public.PUBLIC_ROUTES``.

The routes are read from the real application's route table (FastAPI routes, Starlette routes,
and the routes of mounted routers such as the FHIR API under /fhir), so a route added later is
checked without anyone remembering to add it here. Path parameters are filled with plausible
values, and no route earlier in the table may match the request: it must reach the route
under test. Expected: 401 with an
OperationOutcome, or for an HTML page a redirect (302/303) to the sign-in page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    UUIDConvertor,
)
from starlette.routing import BaseRoute, Mount, Route, compile_path

from countyhealth.api.public import PUBLIC_ROUTES
from countyhealth.app import create_app
from countyhealth.store import Store
from tests.conftest import make_settings

pytestmark = pytest.mark.sqlite

#: Plausible values of path parameters, by name; others get ``example``.
PARAMETER_VALUES = {
    "rtype": "Patient",
    "rid": "example",
    "vid": "1",
    "operation": "$everything",
    "job": "0" * 32,
    "name": "Patient.1.ndjson",
    "consent_id": "example",
    "path": "app.js",
}


@dataclass(frozen=True)
class Endpoint:
    """One (method, path template) of the route table, in the order the router tries them."""

    method: str
    template: str
    html: bool
    regex: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]


def _join(prefix: str, path: str) -> str:
    return (prefix.rstrip("/") + "/" + path.lstrip("/")) if prefix else path


def _endpoint(method: str, template: str, html: bool = False) -> Endpoint:
    regex, _, convertors = compile_path(template)
    return Endpoint(method, template, html, regex, convertors)


def _is_html(response_class: Any) -> bool:
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)


def endpoints(routes: Sequence[BaseRoute], prefix: str = "") -> list[Endpoint]:
    """Every (method, template) of ``routes`` in routing order: FastAPI routes (those of
    included routers too, as FastAPI flattens them for its OpenAPI document), Starlette routes,
    and the routes of mounted routers."""
    out: list[Endpoint] = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount):
            if route.routes:
                out.extend(endpoints(route.routes, _join(prefix, route.path)))
            else:  # an ASGI app mounted as a whole (static files): one GET under its path
                out.append(_endpoint("GET", _join(prefix, route.path) + "/{path:path}"))
        elif isinstance(route, (APIRoute, Route)):
            html = isinstance(route, APIRoute) and _is_html(context.response_class)
            for method in sorted(context.methods or ()):
                out.append(_endpoint(method, _join(prefix, str(context.path)), html))
        else:
            raise AssertionError(f"a route this test does not know how to check: {route!r}")
    return out


def fill(endpoint: Endpoint) -> str:
    """The template with plausible values for its parameters."""
    path = endpoint.template
    for name, convertor in endpoint.convertors.items():
        if isinstance(convertor, IntegerConvertor):
            value = "1"
        elif isinstance(convertor, FloatConvertor):
            value = "1.5"
        elif isinstance(convertor, UUIDConvertor):
            value = "6f1c1d9e-2f5c-4a7e-9d1b-0c3e5b7a9f11"
        elif isinstance(convertor, PathConvertor):
            value = PARAMETER_VALUES.get(name, "a/b")
        else:
            value = PARAMETER_VALUES.get(name, "example")
        path = re.sub(r"\{" + name + r"(:[a-z]+)?\}", value.replace("\\", r"\\"), path)
    return path


def check_anonymous(client: TestClient, table: list[Endpoint], endpoint: Endpoint) -> str | None:
    """None when ``endpoint`` refuses an anonymous request; otherwise what went wrong."""
    path = fill(endpoint)
    index = table.index(endpoint)
    earlier = [e for e in table[:index] if e.method == endpoint.method and e.regex.match(path)]
    if earlier:
        return f"{endpoint.method} {path} reaches {earlier[0].template}, not {endpoint.template}"
    content, headers = None, {}
    if endpoint.method in ("POST", "PUT", "PATCH"):
        patch = endpoint.method == "PATCH"
        content = b"[]" if patch else b"{}"
        headers["Content-Type"] = (
            "application/json-patch+json" if patch else "application/fhir+json"
        )
    r = client.request(endpoint.method, path, content=content, headers=headers)
    where = f"{endpoint.method} {endpoint.template} (as {path})"
    if endpoint.html and endpoint.method == "GET" and r.status_code in (302, 303):
        location = r.headers.get("location", "")
        if location.split("?")[0].endswith("/auth/login"):
            return None
        return f"{where} redirects to {location!r}, not to the sign-in page"
    if r.status_code != 401:
        return f"{where} answered {r.status_code} without credentials: {r.text[:200]}"
    if endpoint.method == "HEAD":
        return None
    if endpoint.html and r.headers.get("content-type", "").startswith("text/html"):
        return None  # the web UI renders the outcome as a page
    try:
        body = r.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return f"{where}: the 401 is not an OperationOutcome: {r.text[:200]}"
    return None


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    settings = make_settings("sqlite", tmp_path, request, bulk_worker=False)
    store = Store.open(settings)
    application = create_app(settings, store)
    yield application
    store.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def _public(endpoint: Endpoint) -> bool:
    method = "GET" if endpoint.method == "HEAD" else endpoint.method
    return (method, endpoint.template) in PUBLIC_ROUTES


def test_the_route_table_is_read_in_full(app: FastAPI) -> None:
    table = {(e.method, e.template) for e in endpoints(app.routes)}
    assert ("POST", "/auth/token") in table  # from an included router
    # FastAPI routes, the FHIR routes inside the /fhir mount, and HEAD beside GET
    assert ("GET", "/healthz") in table
    assert ("GET", "/fhir/{rtype}/{rid}") in table
    assert ("HEAD", "/fhir/{rtype}/{rid}") in table
    assert ("POST", "/fhir/") in table
    assert ("DELETE", "/fhir/bulkstatus/{job}") in table


def test_every_route_but_the_public_ones_needs_credentials(
    app: FastAPI, anonymous: TestClient
) -> None:
    table = endpoints(app.routes)
    checked = [e for e in table if not _public(e)]
    assert len(checked) > 20
    problems = [p for e in checked if (p := check_anonymous(anonymous, table, e)) is not None]
    assert problems == [], "\n".join(problems)


def test_public_routes_exist(app: FastAPI) -> None:
    table = {(e.method, e.template) for e in endpoints(app.routes)}
    assert sorted(PUBLIC_ROUTES - table) == []


def test_an_open_route_is_caught(app: FastAPI, anonymous: TestClient) -> None:
    """The check itself: a route that forgets to ask for credentials fails it."""

    @app.get("/api/forgot-to-check")
    def forgot() -> dict[str, str]:
        return {"secret": "data"}

    table = endpoints(app.routes)
    (endpoint,) = [e for e in table if e.template == "/api/forgot-to-check"]
    problem = check_anonymous(anonymous, table, endpoint)
    assert problem is not None and "answered 200" in problem
