"""Laboratory results as an institution's LIS files them: a final Observation and the
DiagnosticReport holding it, with the provincial recognition mark (浙HR) or without."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from countyhealth.fhir import systems
from countyhealth.scheduling.calendar import fhir_datetime
from countyhealth.store import Repository


def lab_result(
    repo: Repository,
    name: str,
    organization: str,
    loinc: str,
    value: float,
    unit: str,
    when: datetime,
    *,
    marked: bool = True,
    patient: str,
) -> tuple[str, str]:
    """A final Observation and its DiagnosticReport issued by ``organization`` (its custodian);
    returns (report id, observation id)."""
    tags = {"tag": [{"system": systems.CUSTODIAN, "code": organization}]}
    obs = repo.create(
        {
            "resourceType": "Observation",
            "meta": tags,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": fhir_datetime(when),
            "valueQuantity": {"value": value, "unit": unit},
        }
    )
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": f"dr-{name}",
        "meta": tags,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": fhir_datetime(when),
        "issued": fhir_datetime(when + timedelta(hours=2)),
        "performer": [{"reference": f"Organization/{organization}"}],
        "result": [{"reference": f"Observation/{obs.id}"}],
    }
    if marked:
        report["extension"] = [
            {
                "url": systems.EXT_RECOGNITION_MARK,
                "valueCoding": {
                    "system": systems.RECOGNITION_MARK,
                    "code": "ZJHR",
                    "display": "浙HR",
                },
            }
        ]
    repo.put_many([report])
    return f"dr-{name}", obs.id
