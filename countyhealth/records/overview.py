"""The patient overview: who the patient is and the record the caller may see.

Sections: a timeline of encounters, conditions, medications, observations (latest value per
code, and trends for codes measured more than once — blood pressure as two series), and
reports (the shared reports viewer, :mod:`.reports`, which reads each report's results and
images in the same search). Each section is one search in the patient's compartment, so the
access rule and the audit apply; a section the caller's scopes do not cover is absent, and one
the rule trimmed is listed in ``hidden`` (the access rule applied to it; ``restricted`` says the
caller reads under consent without an open break-glass, so records of other organisations may
be missing). While the caller reads the record by break-glass, ``breakGlass`` says until when
and why.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from ..fhir.instant import format_instant
from ..store import Repository
from .display import concept, concepts, first_code, quantity, reference_id, when
from .patients import patient_card
from .query import find
from .reports import shared_reports

LOINC = "http://loinc.org"
#: Observation codes whose components are charted (blood pressure panel).
PANELS = {"85354-9"}


def _section(
    repo: Repository, rtype: str, pid: str, sort: str, count: int
) -> tuple[list[dict[str, Any]], bool] | None:
    if not repo.caller.scopes.allows(rtype, "search-type"):
        return None
    found = find(repo, rtype, [("patient", f"Patient/{pid}"), ("_sort", sort)], count=count)
    return found.resources, found.hidden


def _encounter(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": e["id"],
        "start": when(e, "period"),
        "class": (e.get("class") or {}).get("code"),
        "type": concepts(e.get("type")),
        "service": concept(e.get("serviceType")),
        "reason": concepts(e.get("reasonCode")),
        "status": e.get("status"),
        "organization": reference_id(e.get("serviceProvider"), "Organization"),
        "custodian": _custodian(e),
    }


def _custodian(resource: dict[str, Any]) -> str | None:
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if str(tag.get("system", "")).endswith("/custodian"):
            return tag.get("code")
    return None


def _condition(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": c["id"],
        "text": concept(c.get("code")),
        "code": first_code(c.get("code")),
        "clinicalStatus": first_code(c.get("clinicalStatus")),
        "onset": when(c, "onsetDateTime", "onsetPeriod", "recordedDate"),
    }


def _medication(m: dict[str, Any]) -> dict[str, Any]:
    dosage: dict[str, Any] = next(iter(m.get("dosageInstruction") or []), {})
    return {
        "id": m["id"],
        "text": concept(m.get("medicationCodeableConcept")),
        "status": m.get("status"),
        "authored": m.get("authoredOn"),
        "dosage": dosage.get("text") or "",
    }


def _numeric(value: dict[str, Any] | None) -> float | None:
    if not value or value.get("value") is None:
        return None
    return float(Decimal(str(value["value"])))


def _observations(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Latest value per code, and a trend per code with at least two numeric points."""
    latest: OrderedDict[str, dict[str, Any]] = OrderedDict()
    series: dict[str, dict[str, Any]] = {}
    for o in items:  # newest first
        code = first_code(o.get("code"), LOINC) or first_code(o.get("code")) or o["id"]
        effective = when(o, "effectiveDateTime", "effectivePeriod", "issued")
        components = o.get("component") or []
        if code not in latest:
            value = quantity(o.get("valueQuantity")) or concept(o.get("valueCodeableConcept"))
            if components:
                value = " / ".join(quantity(c.get("valueQuantity")) for c in components)
            latest[code] = {
                "id": o["id"],
                "code": code,
                "text": concept(o.get("code")),
                "value": value,
                "effective": effective,
            }
        if not effective:
            continue
        parts: list[tuple[str, dict[str, Any] | None]] = (
            [
                (first_code(c.get("code"), LOINC) or concept(c.get("code")), c.get("valueQuantity"))
                for c in components
            ]
            if code in PANELS
            else [(code, o.get("valueQuantity"))]
        )
        for part, measured in parts:
            number = _numeric(measured)
            if number is None:
                continue
            trend = series.setdefault(
                code,
                {
                    "code": code,
                    "title": concept(o.get("code")),
                    "unit": "",
                    "series": {},
                    "names": {},
                },
            )
            trend["unit"] = trend["unit"] or (measured or {}).get("unit") or ""
            trend["series"].setdefault(part, []).append([effective, number])
            if part not in trend["names"]:
                names = [
                    concept(c.get("code"))
                    for c in components
                    if first_code(c.get("code"), LOINC) == part
                ]
                trend["names"][part] = names[0] if names else concept(o.get("code"))
    trends = []
    for trend in series.values():
        names = trend.pop("names")
        lines = [
            {"code": part, "name": names[part], "points": list(reversed(points))}
            for part, points in trend["series"].items()
        ]
        if max(len(line["points"]) for line in lines) >= 2:
            trends.append({**trend, "series": lines})
    return list(latest.values()), trends


def patient_overview(repo: Repository, patient_id: str) -> dict[str, Any]:
    """The overview of ``Patient/patient_id`` as the caller may see it.

    Raises:
        OperationOutcomeError: 404/410 for an unknown or deleted patient; 403 (CH-4004) when
            the caller may not read this patient (no consent, no break-glass).
    """
    patient = repo.read("Patient", patient_id).resource
    full = "full-identifiers" in repo.caller.privileges
    overview: dict[str, Any] = {"patient": patient_card(patient, full), "hidden": []}
    opening = repo.break_glass_open(patient_id)
    caller = repo.caller
    overview["breakGlass"] = (
        {"reason": opening.reason, "expires": format_instant(opening.expires_us)}
        if opening
        else None
    )
    # Under consent, the record shows what the caller's organisation wrote and what the
    # patient shared; the rest stays out until the patient consents or the glass is broken.
    overview["restricted"] = caller.access == "consent" and opening is None
    overview["canBreakGlass"] = overview["restricted"] and "break-glass" in caller.privileges
    sections = (
        ("encounters", "Encounter", "-date", 20, _encounter),
        ("conditions", "Condition", "-recorded-date", 50, _condition),
        ("medications", "MedicationRequest", "-authoredon", 30, _medication),
    )
    for key, rtype, sort, count, shape in sections:
        found = _section(repo, rtype, patient_id, sort, count)
        if found is None:
            continue
        resources, hidden = found
        overview[key] = [shape(r) for r in resources]
        if hidden:
            overview["hidden"].append(key)
    reports = shared_reports(repo, patient_id)
    if reports is not None:
        overview["reports"] = reports[0]
        if reports[1]:
            overview["hidden"].append("reports")
    observed = _section(repo, "Observation", patient_id, "-date", 200)
    if observed is not None:
        overview["observations"], overview["trends"] = _observations(observed[0])
        if observed[1]:
            overview["hidden"].append("observations")
    return overview
