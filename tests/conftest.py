"""Shared fixtures: one parametrised backend fixture runs storage tests on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.store import Repository, Store, migrate, system_caller
from tests.support.demo_county import DemoCounty, build_demo_county
from tests.support.postgres import Cluster, missing_reason

TEST_SECRET = "test-secret-" + "x" * 40
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("COUNTYHEALTH_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here: {reason}")
        pytest.skip(reason)
    cluster = Cluster()
    cluster.start()
    template = Settings(
        environment="test",
        secret_key=TEST_SECRET,
        database_url=cluster.url("countyhealth_template"),
    )
    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE DATABASE countyhealth_template")
    migrate(template)
    yield cluster
    cluster.stop()


def make_settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: object
) -> Settings:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'countyhealth.db'}"
    else:
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        name = f"t{os.getpid()}_{next(_db_counter)}"
        with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE countyhealth_template")
        url = cluster.url(name)
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "database_url": url,
        "audit_flush_ms": 0.5,
        "audit_spool_dir": str(tmp_path / "audit-spool"),
        "bulk_dir": str(tmp_path / "bulk"),
        "payment_ledger_path": str(tmp_path / "payments-simulated.ndjson"),
    }
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    if backend == "sqlite":
        migrate(settings)
    return settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store.open(settings)
    yield s
    s.close()


@pytest.fixture
def repo(store: Store) -> Repository:
    return store.repository(system_caller("tests"))


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    app = create_app(settings, store)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {issue_token(settings, 'test-client', 'system/*.*')}"
        c.headers["Content-Type"] = "application/fhir+json"
        yield c


@pytest.fixture
def sqlite_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings("sqlite", tmp_path, request)


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> DemoCounty:
    """A seeded 300-resident demo county with one demo account per role (page and browser
    tests); built once per session."""
    return build_demo_county(tmp_path_factory.mktemp("demo-county"))


@pytest.fixture(scope="session")
def county_store(county: DemoCounty) -> Iterator[Store]:
    store = Store.open(county.settings)
    yield store
    store.close()


@pytest.fixture(scope="session")
def pg_county(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> DemoCounty:
    """The same demo county on PostgreSQL (a database made from the migrated template)."""
    with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE DATABASE demo_county TEMPLATE countyhealth_template")
    return build_demo_county(
        tmp_path_factory.mktemp("pg-demo-county"), database_url=pg_cluster.url("demo_county")
    )
