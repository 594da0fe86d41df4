"""The slot-pool KPIs (``data/kpi_definitions.json``) from the stored Appointments, queue-entry
Encounters and Slots, as figures for the bureau's page and as a summary FHIR MeasureReport
(https://hl7.org/fhir/R4/measurereport.html).

The reads run for the platform in aggregate mode (:meth:`Repository.elevated`): the
AuditEvents record the queries without naming every counted patient, so nothing but counts
and rates may leave this module. The period is counted one county day at a time, which keeps
a year's report to one day's resources in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import orjson

from ..errors import forbidden
from ..fhir import systems
from ..fhir.measure_report import population, summary_report
from ..records.query import find, find_all
from ..store import Repository
from .calendar import at, fhir_datetime, parse_datetime
from .calendar import check_period as period_check
from .queue import QueueEntry
from .rules import DATA_DIR, pool_rules
from .slots import schedule_id

MAX_DAYS = 366
KPI_SYSTEM = f"{systems.BASE}/CodeSystem/scheduling-kpi"
MEASURE = f"{systems.BASE}/Measure/scheduling-kpis"
_UCUM = "http://unitsofmeasure.org"
#: Appointment states that are not due (withdrawn, or never real)
_NOT_DUE = frozenset({"cancelled", "entered-in-error"})
#: states an Appointment reaches by check-in
_CHECKED_IN = frozenset({"arrived", "fulfilled", "checked-in"})


@cache
def definitions() -> tuple[dict[str, Any], ...]:
    """The KPI definitions in report order (id, zh, en, scoring, unit, reference, wording)."""
    data: dict[str, Any] = orjson.loads((DATA_DIR / "kpi_definitions.json").read_bytes())
    return tuple(data["kpis"])


@dataclass(frozen=True, slots=True)
class Counts:
    """The raw counts behind the figures."""

    due: int  # appointments due in the period, not cancelled
    online_due: int
    online_on_time: int
    checked_in: int
    checked_in_online: int
    no_shows: int
    called: int  # queue entries called in the period
    wait_minutes: float  # their waits added up
    slots_open: int  # slots starting in the period, not closed
    slots_held: int


@dataclass(frozen=True, slots=True)
class Figure:
    """One KPI: its value (percent or minutes; None without a denominator) and its basis."""

    id: str
    numerator: float | None
    denominator: int
    value: float | None


@dataclass(frozen=True, slots=True)
class SchedulingKpis:
    """The KPIs over ``first``..``last`` (county days, inclusive), for one organisation or
    all; rates in percent, waits in minutes, each to one decimal."""

    first: date
    last: date
    organization: str | None
    counts: Counts
    on_time_rate: float | None
    mean_wait: float | None
    p90_wait: float | None
    online_share: float | None
    slot_utilisation: float | None
    no_show_rate: float | None

    @property
    def figures(self) -> tuple[Figure, ...]:
        """The KPIs in the order of :func:`definitions`."""
        c = self.counts
        return (
            Figure("on-time-rate", c.online_on_time, c.online_due, self.on_time_rate),
            Figure("mean-wait", round(c.wait_minutes, 1), c.called, self.mean_wait),
            Figure("p90-wait", None, c.called, self.p90_wait),
            Figure("online-share", c.checked_in_online, c.checked_in, self.online_share),
            Figure("slot-utilisation", c.slots_held, c.slots_open, self.slot_utilisation),
            Figure("no-show-rate", c.no_shows, c.due, self.no_show_rate),
        )

    def figure(self, kpi: str) -> Figure:
        return next(f for f in self.figures if f.id == kpi)


@dataclass(slots=True)
class _Tally:
    due: int = 0
    online_due: int = 0
    online_on_time: int = 0
    checked_in: int = 0
    checked_in_online: int = 0
    no_shows: int = 0
    slots_open: int = 0
    slots_held: int = 0
    waits: list[float] = field(default_factory=list)


def check_period(first: date, last: date) -> None:
    """Raises CH-9114 unless ``first``..``last`` is a period of 1 to :data:`MAX_DAYS` days."""
    period_check(first, last, "CH-9114", MAX_DAYS)


def scheduling_kpis(
    repo: Repository, first: date, last: date, organization: str | None = None
) -> SchedulingKpis:
    """The slot-pool KPIs over the county days ``first``..``last`` (inclusive).

    Args:
        repo: the caller's Repository; the caller needs MeasureReport read.
        first: the first day of the period.
        last: the last day (at most :data:`MAX_DAYS` days after ``first``, inclusive).
        organization: ``Organization/id`` to count one institution (appointments it is the
            custodian of, queue entries it provides, slots of its departments); None for the
            county.

    Raises:
        OperationOutcomeError: CH-4003 without MeasureReport read or county-wide reach,
            CH-9114 for a period that is reversed or too long.
    """
    repo.require("MeasureReport", "read")
    # The aggregate reads below reach every patient's data; a role confined to its own
    # organisation's or consenting patients must not learn county-wide counts through them.
    if repo.caller.access != "all" and repo.caller.kind != "system":
        raise forbidden("the slot-pool KPIs are for roles that reach all patients' data")
    check_period(first, last)
    reader = repo.elevated(aggregate=True)
    schedules = _schedules(reader, organization)
    tally = _Tally()
    for offset in range((last - first).days + 1):
        _count_day(reader, first + timedelta(days=offset), organization, schedules, tally)
    return _kpis(first, last, organization, tally)


def _schedules(reader: Repository, organization: str | None) -> list[str] | None:
    """The Schedules of the organisation's departments; None for the whole county."""
    if organization is None:
        return None
    services = find_all(reader, "HealthcareService", [("organization", organization)])
    return sorted(f"Schedule/{schedule_id(str(s['id']))}" for s in services)


def _count_day(
    reader: Repository,
    day: date,
    organization: str | None,
    schedules: list[str] | None,
    tally: _Tally,
) -> None:
    start = at(day, time(0, 0))
    end = at(day + timedelta(days=1), time(0, 0))
    # an appointment of the day may be checked in before midnight
    early = start - timedelta(minutes=pool_rules(day).check_in_open_minutes_before)
    entries = _queue_entries(reader, early, end, organization)
    tally.waits.extend(
        (e.called - e.checked_in).total_seconds() / 60
        for e in entries.values()
        if e.called is not None and start <= e.called < end
    )
    held: set[str] = set()
    for appointment in _appointments(reader, start, end, organization):
        status = appointment.get("status")
        if status in _NOT_DUE:
            continue
        online = _channel(appointment) == "online"
        entry = entries.get(f"Appointment/{appointment['id']}")
        tally.due += 1
        tally.online_due += online
        tally.no_shows += status == "noshow"
        if entry is not None or status in _CHECKED_IN:
            tally.checked_in += 1
            tally.checked_in_online += online
        if online and entry is not None and entry.checked_in <= parse_datetime(appointment["end"]):
            tally.online_on_time += 1
        held.update(str(s.get("reference")) for s in appointment.get("slot") or [])
    total, closed = _slots(reader, start, end, schedules)
    tally.slots_open += total - len(closed)
    tally.slots_held += len(held - closed)


def _window(name: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
    return [(name, f"ge{fhir_datetime(start)}"), (name, f"lt{fhir_datetime(end)}")]


def _appointments(
    reader: Repository, start: datetime, end: datetime, organization: str | None
) -> list[dict[str, Any]]:
    params = _window("date", start, end)
    if organization is not None:
        custodian = organization.removeprefix("Organization/")
        params.append(("_tag", f"{systems.CUSTODIAN}|{custodian}"))
    return list(find_all(reader, "Appointment", params))


def _queue_entries(
    reader: Repository, start: datetime, end: datetime, organization: str | None
) -> dict[str, QueueEntry]:
    """The queue entries whose wait or visit overlaps ``start``..``end``, by Appointment."""
    params = [*_window("date", start, end), ("class", "AMB")]
    if organization is not None:
        params.append(("service-provider", organization))
    out: dict[str, QueueEntry] = {}
    for encounter in find_all(reader, "Encounter", params):
        entry = QueueEntry.of(encounter)
        if entry.appointment and (
            entry.appointment not in out or entry.checked_in < out[entry.appointment].checked_in
        ):
            out[entry.appointment] = entry
    return out


def _slots(
    reader: Repository, start: datetime, end: datetime, schedules: list[str] | None
) -> tuple[int, set[str]]:
    """How many slots start in ``start``..``end``, and which of them are closed."""
    if schedules is not None and not schedules:
        return 0, set()
    params = _window("start", start, end)
    if schedules is not None:
        params.append(("schedule", ",".join(schedules)))
    total = find(reader, "Slot", [*params, ("_summary", "count")], count=0).total or 0
    closed = find_all(reader, "Slot", [*params, ("status", "busy-unavailable")])
    return total, {f"Slot/{s['id']}" for s in closed}


def _channel(appointment: dict[str, Any]) -> str:
    for e in appointment.get("extension") or []:
        if e.get("url") == systems.EXT_BOOKING_CHANNEL:
            return str((e.get("valueCoding") or {}).get("code") or "")
    return ""


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 1) if denominator else None


def _kpis(first: date, last: date, organization: str | None, t: _Tally) -> SchedulingKpis:
    waits = sorted(t.waits)
    counts = Counts(
        due=t.due,
        online_due=t.online_due,
        online_on_time=t.online_on_time,
        checked_in=t.checked_in,
        checked_in_online=t.checked_in_online,
        no_shows=t.no_shows,
        called=len(waits),
        wait_minutes=sum(waits),
        slots_open=t.slots_open,
        slots_held=t.slots_held,
    )
    return SchedulingKpis(
        first=first,
        last=last,
        organization=organization,
        counts=counts,
        on_time_rate=_rate(t.online_on_time, t.online_due),
        mean_wait=round(sum(waits) / len(waits), 1) if waits else None,
        # nearest rank: the smallest wait at or above which 90% of the waits lie
        p90_wait=round(waits[math.ceil(0.9 * len(waits)) - 1], 1) if waits else None,
        online_share=_rate(t.checked_in_online, t.checked_in),
        slot_utilisation=_rate(t.slots_held, t.slots_open),
        no_show_rate=_rate(t.no_shows, t.due),
    )


def to_measure_report(kpis: SchedulingKpis, generated: datetime) -> dict[str, Any]:
    """The KPIs as a summary MeasureReport of :data:`MEASURE`, one group per KPI.

    A proportion reports its numerator and denominator populations, a wait (continuous
    variable) the queue entries it was measured over as its measure population; the score is
    a UCUM Quantity (``%`` or ``min``) and is left out where there is no denominator.
    See https://hl7.org/fhir/R4/measurereport.html.

    Args:
        kpis: the figures of :func:`scheduling_kpis`.
        generated: when the report was made (``MeasureReport.date``).
    """
    names = {d["id"]: d for d in definitions()}
    groups = []
    for f in kpis.figures:
        d = names[f.id]
        group: dict[str, Any] = {
            "code": {
                "coding": [{"system": KPI_SYSTEM, "code": f.id, "display": d["zh"]}],
                "text": d["en"],
            }
        }
        if d["scoring"] == "proportion":
            assert f.numerator is not None
            group["population"] = [
                population("numerator", int(f.numerator)),
                population("denominator", f.denominator),
            ]
        else:
            group["population"] = [population("measure-population", f.denominator)]
        if f.value is not None:
            group["measureScore"] = {
                "value": f.value,
                "unit": d["unit"],
                "system": _UCUM,
                "code": d["unit"],
            }
        groups.append(group)
    return summary_report(
        MEASURE, fhir_datetime(generated), kpis.first, kpis.last, kpis.organization, groups
    )
