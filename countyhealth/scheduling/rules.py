"""The dated rules of the slot pool (``data/pool_rules.json``) and the holiday calendar.

Every number the pool works by — horizon, release time, slot length, reserved shares, limits
and queue weights — comes from the version of the rules in effect on the day in question;
``data/pool_rules.json`` names the sources and says which values are modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from functools import cache
from pathlib import Path
from typing import Any

import orjson

DATA_DIR = Path(__file__).resolve().parent / "data"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((DATA_DIR / f"{name}.json").read_bytes())
    return data


def _clock(text: str) -> time:
    return time.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Slots at ``positions`` (1-based, counted modulo ``every`` within a service day)."""

    pool: str
    every: int
    positions: tuple[int, ...]

    def holds(self, number: int) -> bool:
        return number % self.every in {p % self.every for p in self.positions}


@dataclass(frozen=True, slots=True)
class PoolRules:
    """One version of the pool rules."""

    effective: date
    horizon_days: int
    release_days_ahead: int
    release_time: time
    slot_minutes: dict[str, int]
    hospital_types: frozenset[str]
    health_centre_types: frozenset[str]
    departments_without_booking: frozenset[str]
    reservations: tuple[Reservation, ...]
    reserved_return_hours: int
    cancel_until_minutes_before: int
    max_reschedules: int
    max_per_service_per_day: int
    max_open_appointments: int
    check_in_open_minutes_before: int
    queue_weights: dict[str, int]
    aged_priority_years: int

    def facility_class(self, facility_types: set[str]) -> str | None:
        """``hospital``, ``health-centre`` or None (no booked outpatient sessions)."""
        if facility_types & self.hospital_types:
            return "hospital"
        if facility_types & self.health_centre_types:
            return "health-centre"
        return None

    def reserved_pool(self, number: int) -> str | None:
        """The share the slot with queue number ``number`` is reserved for, if any."""
        for reservation in self.reservations:
            if reservation.holds(number):
                return reservation.pool
        return None


def _version(raw: dict[str, Any]) -> PoolRules:
    reserved = raw["reserved"]
    return PoolRules(
        effective=date.fromisoformat(raw["effective"]),
        horizon_days=int(raw["horizon_days"]),
        release_days_ahead=int(raw["release"]["days_ahead"]),
        release_time=_clock(raw["release"]["time"]),
        slot_minutes={k: int(v) for k, v in raw["slot_minutes"].items()},
        hospital_types=frozenset(raw["hospital_types"]),
        health_centre_types=frozenset(raw["health_centre_types"]),
        departments_without_booking=frozenset(raw["departments_without_booking"]),
        reservations=tuple(
            Reservation(pool, int(r["every"]), tuple(int(p) for p in r["positions"]))
            for pool, r in reserved.items()
        ),
        reserved_return_hours=int(raw["reserved_return_hours"]),
        cancel_until_minutes_before=int(raw["cancel_until_minutes_before"]),
        max_reschedules=int(raw["max_reschedules"]),
        max_per_service_per_day=int(raw["max_per_service_per_day"]),
        max_open_appointments=int(raw["max_open_appointments"]),
        check_in_open_minutes_before=int(raw["check_in_open_minutes_before"]),
        queue_weights={k: int(v) for k, v in raw["queue_weights"].items()},
        aged_priority_years=int(raw["aged_priority_years"]),
    )


@cache
def _versions() -> tuple[PoolRules, ...]:
    versions = sorted(
        (_version(v) for v in _load("pool_rules")["versions"]), key=lambda r: r.effective
    )
    if not versions:
        raise ValueError("pool_rules.json holds no version")
    return tuple(versions)


def pool_rules(on: date) -> PoolRules:
    """The rules in effect on ``on`` (the earliest version before the first one's date)."""
    chosen = _versions()[0]
    for version in _versions():
        if version.effective <= on:
            chosen = version
    return chosen


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """Statutory holidays (``closed``) and the weekend days worked instead (``working``)."""

    closed: frozenset[date]
    working: frozenset[date]
    years: frozenset[int]

    def session_weekday(self, day: date, weekdays: set[int]) -> int | None:
        """Whose ISO weekday's hours (1 = Monday) a service open on ``weekdays`` keeps on
        ``day``; None when it is closed that day.

        A holiday closes services that open on weekdays only; services that also open at
        weekends keep their hours on holidays. A weekend day worked in exchange for a holiday
        (调休) takes Monday's hours. Years without published arrangements follow the weekly
        pattern.
        """
        weekend_too = bool(weekdays & {6, 7})
        if day in self.closed and not weekend_too:
            return None
        if day in self.working and not weekend_too and 1 in weekdays:
            return 1
        return day.isoweekday() if day.isoweekday() in weekdays else None


@cache
def holiday_calendar() -> HolidayCalendar:
    raw = _load("holidays")["years"]
    closed = {date.fromisoformat(d) for y in raw.values() for d in y["closed"]}
    working = {date.fromisoformat(d) for y in raw.values() for d in y["working"]}
    return HolidayCalendar(frozenset(closed), frozenset(working), frozenset(int(y) for y in raw))
