"""Wires the web pages into the application: static files, the page routers, ``/``.

Every module of :mod:`countyhealth.web.views` that defines ``router`` is included, so a
domain adds its pages by adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from ..api.principal import require_caller
from ..errors import error
from . import views
from .routing import PageRoute

STATIC = Path(__file__).parent / "static"


def page_routers() -> list[APIRouter]:
    """The ``router`` of every module in :mod:`countyhealth.web.views`, by module name."""
    routers = []
    for info in sorted(pkgutil.iter_modules(views.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{views.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            routers.append(router)
    return routers


def install_web(app: FastAPI) -> None:
    """Add the pages (under ``/app``), the language switch and ``/static`` to ``app``."""
    for router in page_routers():
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/app", status_code=307)

    # Last: an unknown page under /app is a readable "no such page", not the API's JSON.
    fallback = APIRouter(
        route_class=PageRoute,
        dependencies=[Depends(require_caller)],
        default_response_class=HTMLResponse,
    )

    @fallback.api_route("/app/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    def no_such_page(rest: str) -> Response:
        raise error("CH-1008", f"/app/{rest[:100]}: no such page (页面不存在)")

    app.include_router(fallback)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
