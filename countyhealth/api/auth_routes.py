"""Wires sign-in into the application: services, page templates, the CSRF form reader and
the routes of ``login.py`` and ``oauth.py``."""

from __future__ import annotations

from fastapi import FastAPI

from ..config import Settings
from ..security.services import AuthServices
from ..store import Store
from .csrf import CsrfFormField
from .login import build_templates
from .login import router as login_router
from .oauth import router as oauth_router


def install_auth(app: FastAPI, settings: Settings, store: Store) -> None:
    """Add sign-in and the OAuth token endpoints to ``app``."""
    app.state.auth = AuthServices(settings, store)
    app.state.auth_templates = build_templates()
    app.add_middleware(CsrfFormField, max_bytes=min(settings.max_body_bytes, 1024 * 1024))
    app.include_router(login_router)
    app.include_router(oauth_router)
