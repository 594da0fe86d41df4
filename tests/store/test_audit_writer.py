"""The audit writer: events reach the database in batches, and one event the database
refuses (PostgreSQL cannot store U+0000) is set aside without holding up the others."""

from __future__ import annotations

import orjson

from countyhealth.store import HistoryQuery, Repository, Store
from countyhealth.store.audit import build_audit_event
from countyhealth.store.audit_writer import REJECTED_FILE
from countyhealth.store.context import system_caller


def _event(detail: str) -> dict:
    return build_audit_event(
        caller=system_caller("tests"),
        interaction="read",
        recorded_us=1_700_000_000_000_000,
        outcome_status=404,
        entity="Patient/x",
        patients=(),
        detail=detail,
    )


def _stored_ids(repo: Repository) -> set[str]:
    page = repo.history(HistoryQuery(type="AuditEvent", count=1000))
    return {e.id for e in page.entries}


def test_audit_text_never_carries_u0000() -> None:
    event = _event("CH-3001: unknown element 'a\x00b'")
    assert "\x00" not in orjson.dumps(event).decode()
    assert event["outcomeDesc"] == "CH-3001: unknown element 'a\ufffdb'"


def test_a_refused_event_is_set_aside_and_the_rest_are_written(
    store: Store, repo: Repository, backend: str
) -> None:
    good = [_event("CH-2001: first"), _event("CH-2001: second")]
    bad = _event("CH-2001: third")
    bad["agent"][0]["name"] = "nul\x00here"  # indexed (agent-name), past the builder
    store.audit.record([good[0], bad, good[1]])
    store.audit.flush(timeout=20)
    ids = _stored_ids(repo)
    assert {e["id"] for e in good} <= ids
    rejected = store.settings.audit_spool_path() / REJECTED_FILE
    if backend == "postgres":
        assert bad["id"] not in ids
        kept = [orjson.loads(line) for line in rejected.read_bytes().splitlines()]
        assert [e["id"] for e in kept] == [bad["id"]]
    else:  # SQLite stores U+0000 in text
        assert bad["id"] in ids
        assert not rejected.exists()
    # the writer is not stuck: later events still arrive
    later = _event("CH-2001: later")
    store.audit.record([later])
    store.audit.flush(timeout=20)
    assert later["id"] in _stored_ids(repo)
