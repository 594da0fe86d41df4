"""Pieces of a summary MeasureReport (https://hl7.org/fhir/R4/measurereport.html) shared by the
KPI reports: a group population and the report around the groups."""

from __future__ import annotations

from datetime import date
from typing import Any

MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"


def population(code: str, count: int) -> dict[str, Any]:
    """A ``group.population`` of the measure-population code ``code`` (numerator, …)."""
    return {"code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]}, "count": count}


def summary_report(
    measure: str,
    generated: str,
    first: date,
    last: date,
    organization: str | None,
    groups: list[dict[str, Any]],
) -> dict[str, Any]:
    """A complete summary MeasureReport of ``measure`` over ``first``..``last`` (dates,
    inclusive), made at ``generated`` (a FHIR dateTime), by ``organization`` when one."""
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": measure,
        "date": generated,
        "period": {"start": first.isoformat(), "end": last.isoformat()},
        "group": groups,
    }
    if organization:
        report["reporter"] = {"reference": organization}
    return report
