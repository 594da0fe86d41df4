"""Generating the pool: a Schedule and a consulting room per bookable department, and Slots
from the department's weekly hours.

A department (``HealthcareService``) gets slots when its organisation holds booked outpatient
sessions (hospitals and township health centres, per the pool rules) and the department is not
one that works without booking. Its ``availableTime`` entries are the sessions (an all-day entry
is a 24-hour session), ``notAvailable`` periods close slots, and statutory holidays close the
services that open on weekdays only (:mod:`.rules`). Each slot carries its queue number within
the day (序号), the instant it is released for booking and, for the reserved positions, the
share it is kept for and until when (https://hl7.org/fhir/R4/slot.html).

Ids are derived from the department and the day, so generating again adds what is missing and
never touches a slot that exists (it may be booked).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..fhir import systems
from ..store import Repository
from .calendar import COUNTY_TZ, at, fhir_datetime, local_now, parse_datetime
from .rules import HolidayCalendar, PoolRules, holiday_calendar, pool_rules

_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_WRITE_CHUNK = 1000


def schedule_id(service_id: str) -> str:
    return f"sch-{service_id}"


def room_id(service_id: str) -> str:
    return f"room-{service_id}"


def slot_id(service_id: str, day: date, number: int) -> str:
    return f"sl-{service_id}-{day:%Y%m%d}-{number:03d}"


@dataclass(frozen=True, slots=True)
class Department:
    """A bookable department: its HealthcareService and how long its slots are."""

    service: dict[str, Any]
    facility_class: str
    slot_minutes: int

    @property
    def id(self) -> str:
        return str(self.service["id"])

    @property
    def organization(self) -> str:
        return str((self.service.get("providedBy") or {}).get("reference") or "")

    @property
    def code(self) -> str:
        for concept in self.service.get("type") or []:
            for coding in concept.get("coding") or []:
                if coding.get("system") == systems.DEPARTMENT:
                    return str(coding.get("code"))
        return ""


def bookable(
    service: dict[str, Any], facility_types: set[str], rules: PoolRules
) -> Department | None:
    """The department as a bookable one, or None when it takes no bookings."""
    if not service.get("active", True):
        return None
    facility_class = rules.facility_class(facility_types)
    if facility_class is None:
        return None
    department = Department(service, facility_class, rules.slot_minutes[facility_class])
    if department.code in rules.departments_without_booking:
        return None
    return department


def _sessions(service: dict[str, Any], weekday: int) -> list[tuple[time, time]]:
    out: list[tuple[time, time]] = []
    for entry in service.get("availableTime") or []:
        days = {_WEEKDAYS[d] for d in entry.get("daysOfWeek") or _WEEKDAYS}
        if weekday not in days:
            continue
        if entry.get("allDay"):
            out.append((time(0, 0), time(23, 59, 59)))
        elif entry.get("availableStartTime") and entry.get("availableEndTime"):
            start = time.fromisoformat(entry["availableStartTime"])
            end = time.fromisoformat(entry["availableEndTime"])
            if start < end:
                out.append((start, end))
    return sorted(out)


def _weekdays(service: dict[str, Any]) -> set[int]:
    days: set[int] = set()
    for entry in service.get("availableTime") or []:
        days |= {_WEEKDAYS[d] for d in entry.get("daysOfWeek") or _WEEKDAYS}
    return days


def _closures(service: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    out = []
    for closed in service.get("notAvailable") or []:
        during = closed.get("during") or {}
        start = parse_datetime(during["start"]) if during.get("start") else datetime.min
        end = parse_datetime(during["end"]) if during.get("end") else datetime.max
        out.append(
            (
                start if start.tzinfo else start.replace(tzinfo=COUNTY_TZ),
                end if end.tzinfo else end.replace(tzinfo=COUNTY_TZ),
            )
        )
    return out


def day_slots(
    department: Department, day: date, rules: PoolRules, calendar: HolidayCalendar
) -> list[dict[str, Any]]:
    """The Slots of ``department`` on ``day`` (none on a closed day)."""
    service = department.service
    weekday = calendar.session_weekday(day, _weekdays(service))
    if weekday is None:
        return []
    closures = _closures(service)
    step = timedelta(minutes=department.slot_minutes)
    release = at(day - timedelta(days=rules.release_days_ahead), rules.release_time)
    slots: list[dict[str, Any]] = []
    number = 0
    for start_clock, end_clock in _sessions(service, weekday):
        start = at(day, start_clock)
        session_end = at(day, end_clock)
        while start + step <= session_end + timedelta(seconds=1):
            end = min(start + step, session_end)
            number += 1
            if not any(s < end and start < e for s, e in closures):
                slots.append(_slot(department, day, number, start, end, release, rules))
            start += step
    return slots


def _slot(
    department: Department,
    day: date,
    number: int,
    start: datetime,
    end: datetime,
    release: datetime,
    rules: PoolRules,
) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = [
        {"url": systems.EXT_SLOT_RELEASE, "valueDateTime": fhir_datetime(release)}
    ]
    pool = rules.reserved_pool(number)
    if pool is not None:
        until = start - timedelta(hours=rules.reserved_return_hours)
        extensions.append(
            {
                "url": systems.EXT_SLOT_RESERVATION,
                "extension": [
                    {"url": "pool", "valueCode": pool},
                    {"url": "until", "valueDateTime": fhir_datetime(until)},
                ],
            }
        )
    return {
        "resourceType": "Slot",
        "id": slot_id(department.id, day, number),
        "extension": extensions,
        "identifier": [{"system": systems.QUEUE_NUMBER, "value": f"{number:03d}"}],
        "serviceType": department.service.get("type") or [],
        "schedule": {"reference": f"Schedule/{schedule_id(department.id)}"},
        "status": "free",
        "start": fhir_datetime(start),
        "end": fhir_datetime(end),
    }


def schedule_and_room(department: Department, first: date, last: date) -> list[dict[str, Any]]:
    """The department's Schedule and its consulting room (the Location its queue is called to)."""
    service = department.service
    name = str(service.get("name") or department.id)
    site = (service.get("location") or [{}])[0]
    room: dict[str, Any] = {
        "resourceType": "Location",
        "id": room_id(department.id),
        "status": "active",
        "name": f"{name} 诊室",
        "mode": "instance",
        "physicalType": {
            "coding": [{"system": systems.LOCATION_PHYSICAL_TYPE, "code": "ro", "display": "Room"}]
        },
        "managingOrganization": service.get("providedBy"),
    }
    if site.get("reference"):
        room["partOf"] = {"reference": site["reference"]}
    schedule = {
        "resourceType": "Schedule",
        "id": schedule_id(department.id),
        "active": True,
        "serviceType": service.get("type") or [],
        "actor": [
            {"reference": f"HealthcareService/{department.id}", "display": name},
            {"reference": f"Location/{room_id(department.id)}", "display": room["name"]},
        ],
        "planningHorizon": {
            "start": fhir_datetime(at(first, time(0, 0))),
            "end": fhir_datetime(at(last, time(23, 59, 59))),
        },
    }
    return [room, schedule]


@dataclass(frozen=True, slots=True)
class Generated:
    """What one run of :func:`generate_pool` did."""

    departments: int
    slots_created: int
    slots_existing: int
    first_day: date
    last_day: date


def _all(repo: Repository, rtype: str, params: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    from ..records.query import find_all

    yield from find_all(repo, rtype, params)


def departments(repo: Repository, on: date) -> list[Department]:
    """Every bookable department of the county, by id."""
    rules = pool_rules(on)
    facility_types: dict[str, set[str]] = {}
    for org in _all(repo, "Organization", []):
        facility_types[f"Organization/{org['id']}"] = {
            str(c.get("code"))
            for concept in org.get("type") or []
            for c in concept.get("coding") or []
            if c.get("system") == systems.FACILITY_TYPE
        }
    out = []
    for service in _all(repo, "HealthcareService", [("active", "true")]):
        provider = str((service.get("providedBy") or {}).get("reference") or "")
        department = bookable(service, facility_types.get(provider, set()), rules)
        if department is not None:
            out.append(department)
    return sorted(out, key=lambda d: d.id)


def generate_pool(
    repo: Repository,
    first: date | None = None,
    days: int | None = None,
    services: set[str] | None = None,
) -> Generated:
    """Create the missing Schedules, rooms and Slots from ``first`` (today) for ``days`` days
    (the rules' horizon), for every bookable department or the ``services`` named."""
    today = local_now(repo.store.clock.now_us()).date()
    first = first or today
    rules = pool_rules(first)
    days = rules.horizon_days if days is None else days
    last = first + timedelta(days=max(days, 1) - 1)
    calendar = holiday_calendar()
    chosen = [d for d in departments(repo, first) if services is None or d.id in services]
    created = existing = 0
    for batch in _batches(chosen, 20):
        wanted: list[dict[str, Any]] = []
        for department in batch:
            wanted.extend(schedule_and_room(department, first, last))
            for offset in range((last - first).days + 1):
                wanted.extend(
                    day_slots(department, first + timedelta(days=offset), rules, calendar)
                )
        have = repo.existing_ids(wanted)
        fresh = [r for r in wanted if (r["resourceType"], r["id"]) not in have]
        slots_fresh = sum(1 for r in fresh if r["resourceType"] == "Slot")
        created += slots_fresh
        existing += sum(1 for r in wanted if r["resourceType"] == "Slot") - slots_fresh
        for start in range(0, len(fresh), _WRITE_CHUNK):
            repo.put_many(fresh[start : start + _WRITE_CHUNK])
    return Generated(len(chosen), created, existing, first, last)


def _batches(items: list[Department], size: int) -> Iterable[list[Department]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
