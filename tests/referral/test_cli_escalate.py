"""``countyhealth referral escalate`` against the configured database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from countyhealth.cli import main
from countyhealth.config import Settings
from countyhealth.fhir import systems
from countyhealth.scheduling.calendar import fhir_datetime, local_now
from countyhealth.store import Repository, Store


def test_escalate_command_escalates_overdue_referrals(
    settings: Settings, store: Store, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = local_now(store.clock.now_us())
    task = {
        "resourceType": "Task",
        "id": "late",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {"coding": [{"system": systems.TASK_KIND, "code": "referral"}]},
        "authoredOn": fhir_datetime(now - timedelta(hours=30)),
    }
    fresh = {**task, "id": "fresh", "authoredOn": fhir_datetime(now - timedelta(hours=2))}
    repo.put_many([task, fresh])
    for name, value in {
        "ENVIRONMENT": "test",
        "SECRET_KEY": settings.secret_key,
        "DATABASE_URL": settings.database_url,
        "AUDIT_SPOOL_DIR": str(settings.audit_spool_dir),
        "BULK_DIR": str(settings.bulk_dir),
    }.items():
        monkeypatch.setenv(f"COUNTYHEALTH_{name}", value)
    assert main(["referral", "escalate"]) == 0
    late = repo.read("Task", "late").resource
    assert late["priority"] == "asap"
    assert any(e["url"] == systems.EXT_REFERRAL_ESCALATED for e in late["extension"])
    assert repo.read("Task", "fresh").resource["priority"] == "routine"
