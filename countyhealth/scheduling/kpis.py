"""The slot-pool KPIs (``data/kpi_definitions.json``), computed from the stored Appointments,
queue-entry Encounters and Slots, as figures for the page and as a FHIR MeasureReport
(https://hl7.org/fhir/R4/measurereport.html).

Reads run on the platform's behalf in aggregate mode (counts only: the AuditEvents record the
queries without naming every counted patient); the caller needs MeasureReport read and a
role that reaches all patients' data (the bureau, public health).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import orjson

from ..errors import error, forbidden
from ..fhir import systems
from ..records.query import find_all
from ..store import Repository
from .calendar import at, fhir_datetime, parse_datetime
from .queue import QueueEntry
from .rules import DATA_DIR
from .slots import schedule_id

MAX_DAYS = 366
KPI_SYSTEM = f"{systems.BASE}/CodeSystem/scheduling-kpi"
MEASURE = f"{systems.BASE}/Measure/scheduling-kpis"


@cache
def definitions() -> list[dict[str, Any]]:
    data: dict[str, Any] = orjson.loads((DATA_DIR / "kpi_definitions.json").read_bytes())
    return list(data["kpis"])


@dataclass(frozen=True, slots=True)
class Figure:
    id: str
    numerator: float
    denominator: int
    value: float | None  # percent or minutes; None without a denominator


@dataclass(frozen=True, slots=True)
class SchedulingKpis:
    first: date
    last: date
    organization: str | None
    figures: list[Figure] = field(default_factory=list)

    def figure(self, kpi: str) -> Figure:
        return next(f for f in self.figures if f.id == kpi)


def _channel(appointment: dict[str, Any]) -> str:
    for e in appointment.get("extension") or []:
        if e.get("url") == systems.EXT_BOOKING_CHANNEL:
            return str(e["valueCoding"]["code"])
    return ""


def _custodian(resource: dict[str, Any]) -> str | None:
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if tag.get("system") == systems.CUSTODIAN:
            return f"Organization/{tag.get('code')}"
    return None


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 1) if denominator else None


def scheduling_kpis(
    repo: Repository, first: date, last: date, organization: str | None = None
) -> SchedulingKpis:
    """The KPIs over the days ``first``..``last`` (inclusive), for one organisation or all."""
    repo.require("MeasureReport", "read")
    if repo.caller.access != "all" and repo.caller.kind != "system":
        raise forbidden("county-wide KPIs are for roles that reach every patient's data")
    if last < first:
        raise error("CH-9114", "the end date is before the start date", "end")
    if (last - first).days >= MAX_DAYS:
        raise error("CH-9114", f"a period of at most {MAX_DAYS} days", "end")
    reader = repo.elevated(aggregate=True)
    start = at(first, time(0, 0))
    end = at(last + timedelta(days=1), time(0, 0))
    window = [("date", f"ge{fhir_datetime(start)}"), ("date", f"lt{fhir_datetime(end)}")]
    appointments = [
        a
        for a in find_all(reader, "Appointment", window)
        if organization is None or _custodian(a) == organization
    ]
    entries = {
        str(e.get("appointment", [{}])[0].get("reference", "")): QueueEntry.of(e)
        for e in find_all(reader, "Encounter", [*window, ("class", "AMB")])
        if e.get("appointment") and (organization is None or _custodian(e) == organization)
    }
    slot_window = [("start", f"ge{fhir_datetime(start)}"), ("start", f"lt{fhir_datetime(end)}")]
    slots = list(find_all(reader, "Slot", slot_window))
    if organization is not None:
        schedules = {
            f"Schedule/{schedule_id(str(h['id']))}"
            for h in find_all(reader, "HealthcareService", [("organization", organization)])
        }
        slots = [s for s in slots if (s.get("schedule") or {}).get("reference") in schedules]
    return SchedulingKpis(first, last, organization, _figures(appointments, entries, slots))


def _figures(
    appointments: list[dict[str, Any]],
    entries: dict[str, QueueEntry],
    slots: list[dict[str, Any]],
) -> list[Figure]:
    due = [a for a in appointments if a.get("status") != "cancelled"]
    online = [a for a in due if _channel(a) == "online"]
    on_time = 0
    for a in online:
        entry = entries.get(f"Appointment/{a['id']}")
        if entry is not None and entry.checked_in <= parse_datetime(a["end"]):
            on_time += 1
    waits = sorted(
        (e.called - e.checked_in).total_seconds() / 60
        for e in entries.values()
        if e.called is not None
    )
    visited = [a for a in due if f"Appointment/{a['id']}" in entries]
    held = {str(s.get("reference")) for a in due for s in a.get("slot") or []}
    open_slots = [s for s in slots if s.get("status") != "busy-unavailable"]
    used = sum(1 for s in open_slots if f"Slot/{s['id']}" in held)
    no_shows = sum(1 for a in due if a.get("status") == "noshow")
    p90 = waits[min(len(waits) - 1, max(0, round(0.9 * (len(waits) - 1))))] if waits else None
    return [
        Figure("on-time-rate", on_time, len(online), _rate(on_time, len(online))),
        Figure(
            "mean-wait",
            round(sum(waits), 1),
            len(waits),
            round(sum(waits) / len(waits), 1) if waits else None,
        ),
        Figure(
            "p90-wait",
            round(p90, 1) if p90 is not None else 0,
            len(waits),
            round(p90, 1) if p90 is not None else None,
        ),
        Figure(
            "online-share",
            sum(1 for a in visited if _channel(a) == "online"),
            len(visited),
            _rate(sum(1 for a in visited if _channel(a) == "online"), len(visited)),
        ),
        Figure("slot-utilisation", used, len(open_slots), _rate(used, len(open_slots))),
        Figure("no-show-rate", no_shows, len(due), _rate(no_shows, len(due))),
    ]


def to_measure_report(kpis: SchedulingKpis, generated: datetime) -> dict[str, Any]:
    """The KPIs as a summary MeasureReport, one group per KPI."""
    names = {d["id"]: d for d in definitions()}
    groups = []
    for f in kpis.figures:
        d = names[f.id]
        group: dict[str, Any] = {
            "code": {
                "coding": [{"system": KPI_SYSTEM, "code": f.id, "display": d["zh"]}],
                "text": d["en"],
            },
            "population": [
                {
                    "code": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                                "code": "denominator",
                            }
                        ]
                    },
                    "count": f.denominator,
                }
            ],
        }
        if d["unit"] == "%":
            group["population"].append(
                {
                    "code": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                                "code": "numerator",
                            }
                        ]
                    },
                    "count": int(f.numerator),
                }
            )
        if f.value is not None:
            group["measureScore"] = {
                "value": f.value,
                "unit": d["unit"],
                "system": "http://unitsofmeasure.org",
                "code": "%" if d["unit"] == "%" else "min",
            }
        groups.append(group)
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": MEASURE,
        "date": fhir_datetime(generated),
        "period": {
            "start": kpis.first.isoformat(),
            "end": kpis.last.isoformat(),
        },
        "group": groups,
    }
    if kpis.organization:
        report["reporter"] = {"reference": kpis.organization}
    return report
