"""One page, three renderings: the full page, its htmx fragment and its JSON twin.

A view builds a :class:`Page` — the name of its fragment template and the data it shows — and
:func:`render` answers in the form the client asked for:

* a browser navigating: the whole page, ``layout.html`` around the fragment ``<area>/_<name>.html``;
* htmx (``HX-Request`` without ``HX-Boosted``): the fragment alone, swapped into ``#main``;
* ``Accept: application/json`` or ``?format=json``: the page's data as JSON, the same values
  the page shows (masked as on screen), for scripts, tests and the mobile app.

:func:`render_outcome` is the one error renderer of the web surface: an OperationOutcome
becomes an error page, an inline message for htmx, or the OperationOutcome itself as JSON. A
request without a live session is sent to the sign-in page (``HX-Redirect`` for htmx).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import segno
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..api.media import outcome_response
from ..api.principal import session_of
from ..errors import OperationOutcomeError
from . import formatting
from .i18n import LANGUAGE_COOKIE, Messages, messages, negotiate
from .navigation import navigation

TEMPLATES = Path(__file__).parent / "templates"
JSON_TYPE = "application/json"
_SIGN_IN_CODES = frozenset({"CH-4001", "CH-4002"})


@dataclass(slots=True)
class Page:
    """What a view shows. ``name`` is ``area/name``: the fragment is ``area/_name.html``."""

    name: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: extra scripts the page needs: ``charts`` loads ECharts
    scripts: tuple[str, ...] = ()

    @property
    def fragment(self) -> str:
        area, _, leaf = self.name.rpartition("/")
        return f"{area}/_{leaf}.html" if area else f"_{leaf}.html"


@pass_context
def _date(context: Context, value: str | None) -> str:
    return formatting.fhir_date(value, context["lang"])


@pass_context
def _datetime(context: Context, value: str | None) -> str:
    return formatting.fhir_datetime(value, context["lang"])


@pass_context
def _number(context: Context, value: Any) -> str:
    return formatting.number(value, context["lang"])


def _qr_svg(value: str) -> Markup:
    """``value`` as an inline SVG QR code (segno; error correction M, white quiet zone)."""
    svg = segno.make(value, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff")
    return Markup(svg)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(date=_date, datetime=_datetime, number=_number, qr_svg=_qr_svg)
    return env


_ENVIRONMENT = build_environment()


def language_of(request: Request) -> Messages:
    cached = getattr(request.state, "ch_messages", None)
    if isinstance(cached, Messages):
        return cached
    found = messages(
        negotiate(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    )
    request.state.ch_messages = found
    return found


def wants_json(request: Request) -> bool:
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "").lower()
    return accept.startswith(JSON_TYPE) or ("json" in accept and "text/html" not in accept)


def is_fragment(request: Request) -> bool:
    return (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"
    )


def _context(request: Request, page: Page) -> dict[str, Any]:
    text = language_of(request)
    session = session_of(request)
    me: dict[str, Any] | None = None
    held: tuple[str, ...] = ()
    if session is not None:
        account = session.account
        me = {
            "name": account.display_name or account.username,
            "username": account.username,
            "roles": list(account.roles),
            "organization": account.organization,
        }
        held = tuple(account.roles)
    return {
        **page.data,
        "_": text,
        "lang": text.language,
        "html_lang": text.html_lang,
        "page": page,
        "title": text(page.title),
        "me": me,
        "csrf_token": session.csrf_token if session else "",
        "nav": navigation(held, request.url.path),
        "path": request.url.path,
        "here": _here(request),
    }


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render(request: Request, page: Page) -> Response:
    """The page as the client asked for it: full HTML, htmx fragment or JSON twin."""
    if wants_json(request):
        body = {"page": page.name, "language": language_of(request).language, **page.data}
        return Response(
            orjson.dumps(body, default=str),
            status_code=page.status,
            media_type=JSON_TYPE,
            headers=page.headers,
        )
    context = _context(request, page)
    template = page.fragment if is_fragment(request) else "layout.html"
    html = _ENVIRONMENT.get_template(template).render(context)
    response = HTMLResponse(html, status_code=page.status, headers=page.headers)
    response.headers["vary"] = "HX-Request, Accept, Cookie"
    return response


def render_outcome(request: Request, exc: OperationOutcomeError) -> Response:
    """The web surface's error renderer (see the module docstring)."""
    navigating = request.method in ("GET", "HEAD")
    if exc.code in _SIGN_IN_CODES and navigating and not wants_json(request):
        target = "/auth/login?next=" + quote(_here(request), safe="/")
        if is_fragment(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if wants_json(request):
        return outcome_response(exc)
    issue = exc.issues[0]
    page = Page(
        "errors/outcome",
        "error.title",
        {
            "code": exc.code,
            "status": exc.status,
            "diagnostics": issue.diagnostics,
            "expression": list(issue.expression or ()),
        },
        status=exc.status,
        headers=dict(exc.headers),
    )
    if is_fragment(request):
        # htmx swaps only 2xx answers by default; the message must still be seen.
        page.headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        page.status = 200
    return render(request, page)
