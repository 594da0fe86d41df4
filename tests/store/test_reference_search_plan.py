"""A reference search with several targets (``result=Observation/a,Observation/b``) is one
``target_id IN (…)`` per target type, which the reference index serves in full: an OR of
(type, id) pairs made SQLite use only the index's leading columns and read every
DiagnosticReport.result row (the recognition check's second search)."""

from __future__ import annotations

from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Repository, Store
from countyhealth.store.search.explain import explain_search


def _reports(repo: Repository) -> None:
    repo.put_many(
        [
            {
                "resourceType": "DiagnosticReport",
                "id": f"dr{i}",
                "status": "final",
                "code": {"text": "panel"},
                "result": [{"reference": f"Observation/o{i}"}],
            }
            for i in range(6)
        ]
    )


def test_several_targets_find_each_of_them(repo: Repository) -> None:
    _reports(repo)
    req = parse_search(
        ("DiagnosticReport",), [("result", "Observation/o1,Observation/o4,Patient/o2")]
    )
    found = repo.search(req, query_string="result=…")
    assert sorted(e.resource["id"] for e in found.entries) == ["dr1", "dr4"]


def test_several_targets_use_the_whole_reference_index(store: Store, repo: Repository) -> None:
    _reports(repo)
    req = parse_search(("DiagnosticReport",), [("result", "Observation/o1,Observation/o4")])
    plans = explain_search(store, req)
    sql, plan = plans[0]
    assert "target_id IN (" in sql
    if store.engines.backend == "sqlite":
        searched = [line for line in plan if "idx_reference" in line]
        assert searched and all("target_id=?" in line for line in searched), plan
    else:
        assert not [line for line in plan if "Seq Scan on idx_reference" in line], plan
