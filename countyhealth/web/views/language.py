"""The language switch: a link that sets the ``ch_lang`` cookie and returns to the page."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from ...api.login import safe_next
from ...errors import error
from ..i18n import LANGUAGE_COOKIE, LANGUAGES
from ..routing import PageRoute

router = APIRouter(
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    tags=["web"],
    include_in_schema=False,
)

ONE_YEAR = 365 * 24 * 3600


@router.get("/lang/{language}")
def switch_language(language: str, next_url: str | None = Query(None, alias="next")) -> Response:
    if language not in LANGUAGES:
        raise error("CH-1006", f"{language[:20]!r} is not a language of the pages (zh_CN, en)")
    response = RedirectResponse(safe_next(next_url, default="/app"), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=ONE_YEAR, samesite="lax", path="/")
    return response
