"""Property-based runs (schemathesis) against the OpenAPI document of the platform routes.

The FHIR API under /fhir is described by its CapabilityStatement, not OpenAPI, and has its own
random run (test_fhir_fuzz.py); this covers the routes FastAPI documents (/healthz, sign-in,
tokens, the resident and bureau APIs). Every operation of /openapi.json is called in-process
through the ASGI app (no network) with cases schemathesis generates from the schema — valid
ones and ones that break it (negative mode) — once without credentials and once with a valid
bearer token; no answer may be a 5xx.

The operations are read from the app a fixture builds, and each gets its own Hypothesis run
inside one test: schemathesis's pytest integration for schemas from fixtures
(``schemathesis.pytest.from_fixture``) reads a pytest attribute that pytest 9 no longer has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.store import Store
from tests.conftest import make_settings

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]

#: Generated cases per operation and credential (docs/security.md quotes the figure).
EXAMPLES = 40


@pytest.fixture
def platform(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[object, str]]:
    settings = make_settings("sqlite", tmp_path, request, bulk_worker=False)
    store = Store.open(settings)
    app = create_app(settings, store)
    yield app, issue_token(settings, "schemathesis", "system/*.cruds")
    store.close()


@pytest.mark.parametrize("credentials", ["anonymous", "bearer"])
def test_no_operation_answers_5xx(platform: tuple[object, str], credentials: str) -> None:
    app, token = platform
    headers = {"Authorization": f"Bearer {token}"} if credentials == "bearer" else {}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    assert len(operations) >= 5, [o.label for o in operations]
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
            statuses[response.status_code] += 1

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    print(
        f"{credentials}: {sum(statuses.values())} cases over {len(operations)} operations "
        f"({', '.join(o.label for o in operations)}): {sorted(statuses.items())}"
    )
    assert failures == [], "\n\n".join(failures)
