"""Two planted mutual-recognition cases on the demo county, for page and browser tests.

- ``township``: a patient whose HbA1c was measured three weeks ago at the county clinician's
  hospital (浙HR); the patient lets the township clinician's centre read their results.
- ``county``: a patient whose HbA1c was measured ten days ago at the township centre; the
  patient lets the county hospital read their results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from countyhealth.consent import grant
from countyhealth.scheduling.calendar import local_now
from countyhealth.store import Store, system_caller
from tests.support.demo_county import DemoCounty
from tests.support.lab_results import lab_result

HBA1C = "4548-4"


@dataclass(frozen=True)
class RecognitionCase:
    patient: str
    report: str
    orderer_organization: str


def _new_patient(store: Store, pid: str, name: str) -> str:
    repo = store.repository(system_caller("test"))
    repo.put_many(
        [
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"text": name}],
                "gender": "female",
                "birthDate": "1958-06-01",
            }
        ]
    )
    return pid


def plant_recognition_cases(county: DemoCounty, store: Store) -> dict[str, RecognitionCase]:
    repo = store.repository(system_caller("test"))
    now = local_now(store.clock.now_us())
    town = str(county.account("township-clinician")["organization"])
    hospital = str(county.account("county-clinician")["organization"])
    cases: dict[str, RecognitionCase] = {}
    for key, name, issuer, orderer, days in [
        ("township", "互认甲", hospital, town, 21),
        ("county", "互认乙", town, hospital, 10),
    ]:
        patient = _new_patient(store, f"recog-{key}", name)
        report, _ = lab_result(
            repo,
            f"recog-{key}",
            issuer.removeprefix("Organization/"),
            HBA1C,
            7.4,
            "%",
            now - timedelta(days=days),
            patient=patient,
        )
        grant(repo, patient, orderer, category_code="results")
        cases[key] = RecognitionCase(patient, f"DiagnosticReport/{report}", orderer)
    return cases
