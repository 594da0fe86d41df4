"""``countyhealth demo cases``: the demo's referral and billing cases, planted once."""

from __future__ import annotations

import pytest

from countyhealth.cli import main
from countyhealth.records.query import find
from countyhealth.referral import referral_suggestions
from countyhealth.security.roles import caller_for
from countyhealth.store import Store, system_caller
from tests.support.demo_county import DemoCounty


def test_demo_cases_are_planted_once(
    county: DemoCounty, county_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = county.settings
    for name, value in {
        "ENVIRONMENT": "development",
        "DATABASE_URL": s.database_url,
        "SECRET_KEY": s.secret_key,
        "AUDIT_SPOOL_DIR": str(s.audit_spool_dir),
        "BULK_DIR": str(s.bulk_dir),
        "PAYMENT_LEDGER_PATH": str(s.payment_ledger_path),
    }.items():
        monkeypatch.setenv(f"COUNTYHEALTH_{name}", value)
    platform = county_store.repository(system_caller("test"))
    before = len(find(platform, "Encounter", [("_count", "1000")], count=1000).resources)
    assert main(["demo", "cases", "--if-missing"]) == 0
    assert main(["demo", "cases", "--if-missing"]) == 0  # the second run plants nothing
    after = len(find(platform, "Encounter", [("_count", "1000")], count=1000).resources)
    assert after == before + 1  # one billing visit
    village = caller_for(
        kind="user",
        id="village-test",
        role_codes=("village-doctor",),
        organization=str(county.account("village-doctor")["organization"]),
    )
    [suggestion] = referral_suggestions(county_store.repository(village), "demo-referral")
    assert suggestion.urgency == "urgent"
