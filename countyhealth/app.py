"""The application factory: ``create_app(settings)`` builds everything a process serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.responses import Response

from . import __version__
from .api.auth import TokenVerifier
from .api.capability import capability_statement
from .api.handlers import install_error_handlers
from .api.media import fhir_response, negotiate, pretty
from .api.rest import router as rest_router
from .config import Settings
from .store import Store


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the web application. Engines are created here, never at import time."""
    settings = settings or Settings()
    store = store or Store.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="CountyHealth",
        version=__version__,
        description="县域医共体数字健康平台 — platform routes. The FHIR API lives under /fhir "
        "and is described by its CapabilityStatement at /fhir/metadata.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.verifier = TokenVerifier(settings)
    install_error_handlers(app)

    @app.get("/healthz", tags=["platform"], summary="Liveness and database check")
    def healthz() -> dict[str, str]:
        with store.engines.read.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "backend": store.engines.backend, "version": __version__}

    @app.get("/fhir/metadata", include_in_schema=False)
    async def metadata(request: Request) -> Response:
        negotiate(request)
        return fhir_response(capability_statement(settings.base_url), indent=pretty(request))

    app.mount("/fhir", rest_router)
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process builds its own app)."""
    return create_app(Settings())
