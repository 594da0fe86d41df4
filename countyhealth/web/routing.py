"""Routes of the web pages: every failure is rendered by :func:`.rendering.render_outcome`.

Page routers use ``APIRouter(route_class=PageRoute, dependencies=[Depends(require_caller)])``:
FastAPI solves the dependency (401 without a session) and validates parameters inside the
handler this class wraps, so a missing session becomes a trip to the sign-in page and a bad
parameter a readable message — never the FHIR API's JSON error and never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..api.principal import require_caller
from ..errors import OperationOutcomeError, error
from ..store import Repository, Store
from .rendering import Page, is_fragment, render, render_outcome, wants_json


class PageRoute(APIRoute):
    """An APIRoute whose errors are rendered as pages, htmx messages or OperationOutcomes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except OperationOutcomeError as exc:
                return render_outcome(request, exc)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                problem = error("CH-1006", f"{where}: {first.get('msg', 'invalid')}")
                return render_outcome(request, problem)

        return page_handler


def repository(request: Request) -> Repository:
    """The Repository of the signed-in caller (access rules and audit apply)."""
    store: Store = request.app.state.store
    caller = require_caller(request)
    return store.repository(caller)


def after_post(request: Request, page: Page, location: str) -> Response:
    """Answer a form post: htmx and JSON get the page at once; a browser is redirected
    (303, post/redirect/get) so a reload does not post again."""
    if is_fragment(request) or wants_json(request):
        return render(request, page)
    return RedirectResponse(location, status_code=303)
