"""The application factory: ``create_app(settings)`` builds everything a process serves."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response

from . import __version__
from .api.auth import TokenVerifier
from .api.auth_routes import install_auth
from .api.capability import capability_statement
from .api.handlers import install_error_handlers
from .api.hardening import install_hardening
from .api.me import router as me_router
from .api.media import fhir_response, negotiate, pretty
from .api.nul_guard import NulGuard
from .api.oauth import smart_router
from .api.reports import router as reports_router
from .api.rest import router as rest_router
from .bulk import BulkWorker
from .config import Settings
from .fhir import compartment, definitions
from .fhir.validation import precompile
from .operations import operations
from .recognition import catalogue
from .security.clients import token_endpoint
from .store import Store
from .web import install_web


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the web application. Engines are created here, never at import time."""
    settings = settings or Settings()
    # policy data is checked before anything is served: a bad catalogue stops the start
    catalogue(settings)
    # the operation modules register themselves on first use: load them now, not in the
    # first request (which would otherwise pay the imports)
    operations()
    store = store or Store.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        worker = BulkWorker(store) if settings.bulk_worker else None
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            store.close()

    app = FastAPI(
        title="CountyHealth",
        version=__version__,
        description="县域医共体数字健康平台 — platform routes. The FHIR API lives under /fhir "
        "and is described by its CapabilityStatement at /fhir/metadata.",
        lifespan=lifespan,
        # FastAPI's interactive pages load their scripts from a CDN: not on an offline county
        # intranet, and not under our CSP. /openapi.json stays for local tools.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.verifier = TokenVerifier(settings, revocations=store.accounts.revocations)
    install_error_handlers(app)
    app.add_middleware(NulGuard)
    install_hardening(app, settings)

    # The API first: routes are matched in order, and a FHIR request should not be tried
    # against every web page's route before it reaches the /fhir mount.
    @app.get("/healthz", tags=["platform"], summary="Liveness and database check")
    def healthz() -> dict[str, str]:
        with store.engines.read.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "backend": store.engines.backend, "version": __version__}

    @app.get("/fhir/metadata", include_in_schema=False)
    async def metadata(request: Request) -> Response:
        negotiate(request)
        return fhir_response(
            capability_statement(settings.base_url, token_endpoint(settings)),
            indent=pretty(request),
        )

    app.include_router(smart_router)  # under /fhir, so before the mount
    app.mount("/fhir", rest_router)
    install_auth(app, settings, store)
    app.include_router(me_router)
    app.include_router(reports_router)
    install_web(app)
    return app


def warm_up() -> None:
    """Load the R4 definitions and compile validators and compartment paths before serving."""
    precompile()
    for rtype in definitions.resource_types():
        compartment.patient_ids({"resourceType": rtype})


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process builds its own app).

    The worker's GIL switch interval is shortened: the audit writer thread inserts batches
    while the event loop serves requests, and with the default 5 ms interval every request
    that arrives during a batch would wait up to 5 ms for the interpreter.
    """
    sys.setswitchinterval(0.0005)
    app = create_app(Settings())
    warm_up()
    # Objects alive after start-up (definitions, compiled validators) stay for the life of the
    # process: move them out of the collector's sight so full collections stay short.
    gc.collect()
    gc.freeze()
    return app
