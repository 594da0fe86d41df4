"""Sign-in rules run over the real account tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from countyhealth.config import Settings
from countyhealth.security.services import AuthServices
from countyhealth.store import Store
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST_PASSWORDS)


@pytest.fixture
def services(settings: Settings, store: Store) -> AuthServices:
    return AuthServices(settings, store)
