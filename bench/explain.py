"""Print the query plans of the search benchmark's queries (Markdown), for docs/performance.md.

    .venv/bin/python bench/explain.py [--patients 100000] [--database-url URL]

Uses the database bench/search.py built.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from countyhealth.config import Settings
from countyhealth.fhir.search_request import parse_search
from countyhealth.store import Store, system_caller
from countyhealth.store.search.explain import explain_search

ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///.cache/bench/search-{args.patients}.db"
    settings = Settings(
        environment="test",
        secret_key="bench-" + "x" * 40,
        database_url=url,
        audit_spool_dir=".cache/bench/audit-spool",
    )
    store = Store.open(settings)
    repo = store.repository(system_caller("bench"))
    p = repo.read("Patient", "p500").resource
    ident = f"{ID_SYSTEM}|{p['identifier'][0]['value']}"
    queries = {
        "observations_of_patient_by_code_and_date": (
            "Observation",
            [
                ("subject", "Patient/p500"),
                ("code", "http://loinc.org|8480-6"),
                ("date", "ge2021-01-01"),
                ("date", "lt2025-01-01"),
            ],
        ),
        "patient_by_identifier": ("Patient", [("identifier", ident)]),
        "patient_by_cjk_name": ("Patient", [("name", p["name"][0]["text"])]),
        "patient_by_phonetic": ("Patient", [("phonetic", "wangwei")]),
        "appointment_by_date_and_actor": (
            "Appointment",
            [("date", "2026-03-14"), ("actor", "Practitioner/pr7")],
        ),
        "task_by_owner_and_status": (
            "Task",
            [("owner", "Practitioner/pr7"), ("status", "requested")],
        ),
        "chain_observation_subject_identifier": (
            "Observation",
            [("subject:Patient.identifier", ident)],
        ),
        "total_accurate_all_observations": (
            "Observation",
            [("_total", "accurate"), ("_count", "0")],
        ),
    }
    print(f"### Query plans ({store.engines.backend})\n")
    for name, (rtype, params) in queries.items():
        print(f"#### {name}: `{rtype}?{'&'.join(f'{k}={v}' for k, v in params)}`\n")
        print("```")
        for _, plan in explain_search(store, parse_search([rtype], params)):
            print("\n".join(plan))
        print("```\n")
    store.close()


if __name__ == "__main__":
    main()
