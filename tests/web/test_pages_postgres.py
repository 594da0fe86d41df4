"""The pages on PostgreSQL: the same demo county, the same flows as on SQLite (smoke)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from countyhealth.app import create_app
from countyhealth.store import Store
from tests.support.crawl import walk
from tests.support.demo_county import DemoCounty, sign_in

pytestmark = pytest.mark.postgres
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def pg_app_store(pg_county: DemoCounty) -> Iterator[Store]:
    store = Store.open(pg_county.settings)
    yield store
    store.close()


@pytest.mark.parametrize("role", ["county-clinician", "resident", "bureau-admin"])
def test_every_reachable_page_answers_on_postgres(
    pg_county: DemoCounty, pg_app_store: Store, role: str
) -> None:
    with TestClient(create_app(pg_county.settings, pg_app_store)) as web:
        sign_in(web, pg_county, role)
        answers = [(url, answer.status_code) for url, answer, _ in walk(web.get, max_pages=30)]
    assert len(answers) >= 2
    assert [a for a in answers if a[1] >= 400] == []


def test_search_and_overview_on_postgres(pg_county: DemoCounty, pg_app_store: Store) -> None:
    with TestClient(create_app(pg_county.settings, pg_app_store)) as web:
        sign_in(web, pg_county, "township-clinician")
        visits = web.get("/app", headers=JSON).json()["visits"]
        pid = next(v["patient"] for v in visits if v["patient"])
        overview = web.get(f"/app/patients/{pid}", headers=JSON).json()
        assert overview["encounters"] and overview["restricted"] is True
        name = overview["patient"]["name"]
        found = web.get("/app/patients", params={"q": name}, headers=JSON).json()
        assert pid in [p["id"] for p in found["patients"]]
