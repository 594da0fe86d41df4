"""Page tests run against the session's small seeded demo county (``county`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from countyhealth.app import create_app
from countyhealth.store import Store
from tests.support.demo_county import DemoCounty, sign_in


@pytest.fixture
def browser_as(county: DemoCounty, county_store: Store) -> Iterator[Callable[[str], TestClient]]:
    """``browser_as(role)``: a client signed in as that role's demo account (cookies, CSRF)."""
    app = create_app(county.settings, county_store)
    opened: list[TestClient] = []

    def open_as(role: str) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        sign_in(client, county, role)
        return client

    yield open_as
    for client in opened:
        client.__exit__(None, None, None)
