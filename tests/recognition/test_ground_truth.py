"""The check against the synthetic county's planted repeat tests (ground truth): for every
laboratory report of the patients concerned and a sample of the others, ordering its items at
the issuing institution just before it was taken finds a qualifying result exactly when the
ground truth lists the pair and the patient lets that institution read their results —
precision and recall 1.0, nothing outside the windows or the Consents (SQLite and PostgreSQL).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from countyhealth.consent import grant
from countyhealth.fhir import systems
from countyhealth.recognition import recognition_check
from countyhealth.scheduling.calendar import parse_datetime
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store
from countyhealth.synthetic import SeedOptions, seed_county

from ..synthetic.test_seed_db import stored

SAMPLE = 150


def _orderer(store: Store, organization: str) -> Repository:
    return store.repository(
        caller_for(
            kind="user",
            id=f"clinician-{organization}",
            role_codes=("county-clinician",),
            organization=organization,
        )
    )


def _items(observation: dict[str, Any]) -> list[str]:
    return [
        str(c["code"])
        for c in (observation.get("code") or {}).get("coding") or []
        if c.get("system") == systems.RECOGNITION_ITEM
    ]


def test_the_check_finds_exactly_the_planted_repeats(
    store: Store, repo: Repository, tmp_path: Path
) -> None:
    seed_county(repo, SeedOptions(residents=500, seed=3, years=1), ground_truth=tmp_path / "t.json")
    truth = orjson.loads((tmp_path / "t.json").read_bytes())["repeat_tests"]
    assert len(truth) >= 20
    # half the patients with repeats let the repeating institution read their results
    pairs = sorted({(t["patient"], t["repeat"]["organization"]) for t in truth})
    consented = set(pairs[::2])
    for patient, organization in consented:
        grant(repo, patient.removeprefix("Patient/"), organization, category_code="results")
    expected = {
        (t["repeat"]["report"], t["item"]): t["first"]["report"]
        for t in truth
        if (t["patient"], t["repeat"]["organization"]) in consented
    }
    # the reports to order again: those of the patients concerned, and a sample of the rest
    observations = {o["id"]: o for o in stored(repo, ["Observation"])}
    reports = [r for r in stored(repo, ["DiagnosticReport"]) if r.get("result")]
    concerned = {t["patient"] for t in truth}
    others = [r for r in reports if r["subject"]["reference"] not in concerned]
    chosen = [r for r in reports if r["subject"]["reference"] in concerned]
    chosen += random.Random(3).sample(others, min(SAMPLE, len(others)))
    found: dict[tuple[str, str], set[str]] = {}
    checked = 0
    for report in chosen:
        organization = report["performer"][0]["reference"]
        orderer = _orderer(store, organization)
        at = parse_datetime(report["effectiveDateTime"])
        patient = report["subject"]["reference"].removeprefix("Patient/")
        for result in report["result"]:
            observation = observations[result["reference"].removeprefix("Observation/")]
            for item in _items(observation):
                checked += 1
                answer = recognition_check(
                    orderer, patient, [(systems.RECOGNITION_ITEM, item)], at=at
                )
                if answer.suggestions:
                    found[(f"DiagnosticReport/{report['id']}", item)] = {
                        s.report for s in answer.suggestions
                    }
    assert checked > len(expected) > 0
    true_positives = {k for k in found if k in expected}
    precision = len(true_positives) / len(found)
    recall = len(true_positives) / len(expected)
    assert (precision, recall) == (1.0, 1.0), (
        sorted(set(found) - set(expected)),
        sorted(set(expected) - set(found)),
    )
    # the result the ground truth names is among the suggestions
    assert all(expected[k] in found[k] for k in expected)
