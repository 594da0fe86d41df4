"""Notifiable diseases and fever-clinic visits with seasonal baselines, plus the outbreaks.

Each disease of data/infectious.json has an incidence, month weights and age weights; cases
are seen at the fever clinic, the infectious-disease department of the county hospital or
the township health centre, and recorded as an encounter diagnosis (the case a report is
made from). Residents of an outbreak township in the outbreak's age range fall ill with the
outbreak's attack rate during its weeks (outbreaks.py).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import cache
from typing import Any

from .. import datafiles
from ..network import Facility
from ..outbreaks import Outbreak, iso_week
from ..rng import Weighted, poisson, step_value
from .chart import Chart
from .records import condition, encounter, imaging, lab_panel, medication, vital


@cache
def _data() -> dict[str, Any]:
    return datafiles.load("infectious")


@cache
def _season(start: date, end: date, months: tuple[float, ...]) -> Weighted[tuple[date, int]]:
    """Months of the period (first day, days inside the period) weighted by the season."""
    items: list[tuple[date, int]] = []
    weights: list[float] = []
    day = date(start.year, start.month, 1)
    while day < end:
        last = calendar.monthrange(day.year, day.month)[1]
        nxt = day + timedelta(days=last)
        first = max(day, start)
        inside = (min(nxt, end) - first).days
        if inside > 0 and months[day.month - 1] > 0:
            items.append((first, inside))
            weights.append(months[day.month - 1] * inside)
        day = nxt
    return Weighted(items, weights)


def _seasonal_day(chart: Chart, months: list[float]) -> date:
    first, span = _season(chart.start, chart.end, tuple(months)).pick(chart.rng)
    return first + timedelta(days=chart.rng.randrange(span))


def infections(chart: Chart, outbreaks: list[Outbreak]) -> None:
    data = _data()
    rng = chart.rng
    years, mid_age = chart.years, chart.mid_age
    if years <= 0:
        return
    for key, spec in data["diseases"].items():
        mean = spec["incidence"] / 100_000 * years * step_value(spec["ages"], mid_age)
        for _ in range(poisson(rng, mean)):
            case(chart, key, spec, _seasonal_day(chart, spec["months"]))
    fever = data["fever_clinic"]
    reasons: Weighted[tuple[str, str]] = Weighted(
        [(r[0], r[1]) for r in fever["reasons"]], [r[2] for r in fever["reasons"]]
    )
    mean = fever["incidence"] / 100_000 * years * step_value(fever["ages"], mid_age)
    for _ in range(poisson(rng, mean)):
        fever_visit(chart, _seasonal_day(chart, fever["months"]), reasons.pick(rng))
    township = chart.resident.village.township
    for ob in outbreaks:
        if ob.township is not township:
            continue
        age = chart.age_on(ob.first_day)
        if not ob.ages[0] <= age <= ob.ages[1] or not chart.in_period(ob.first_day):
            continue
        if rng.random() < ob.attack_rate:
            span = 7 * ob.weeks
            day = ob.first_day + timedelta(
                days=min(
                    span - 1, int(rng.triangular(0, span, span * data["outbreaks"]["peak_at"]))
                )
            )
            cid = case(chart, ob.disease, data["diseases"][ob.disease], day)
            chart.truth.outbreak_case(ob.index, iso_week(day), cid)


def _site(chart: Chart, spec: dict[str, Any]) -> tuple[Facility, str]:
    dept = spec.get("department")
    if spec["setting"] == "fever-clinic":
        fac = chart.network.fever_site(chart.township)
        return fac, "fever"
    if dept == "16":
        return chart.hospital, "16"
    if dept == "07" and chart.rng.random() < _data()["cases"]["at_children_hospital_share"]:
        return chart.network.hospital("h04"), "07"
    return chart.centre, "02"


def case(chart: Chart, key: str, spec: dict[str, Any], day: date) -> str:
    """One case of a notifiable disease; returns the Condition id."""
    rng = chart.rng
    fac, dept = _site(chart, spec)
    doctor = fac.doctor(rng, "16" if dept == "fever" else dept, "07", "02", "03")
    minute = chart.any_minute() if dept == "fever" else chart.working_minute()
    cid = chart.id("cond")
    reason = (spec["icd10"], spec["display"])
    enc = encounter(
        chart,
        "fever-clinic" if dept == "fever" else "outpatient",
        fac,
        "16" if dept == "fever" else dept,
        day,
        minute,
        reasons=[reason],
        practitioner=doctor,
        diagnoses=[cid],
    )
    if dept == "fever" or key in ("influenza", "hfmd", "scarlet-fever", "dengue"):
        vital(chart, "temperature", round(rng.uniform(37.8, 39.8), 1), enc, doctor, day, minute + 2)
    if fac.kind != "village-clinic" and rng.random() < _data()["cases"]["cbc_share"]:
        lab_panel(chart, "cbc", fac, enc, doctor, day, minute + 15)
    exam = spec.get("imaging")
    if exam:
        imaging(chart, exam, fac, enc, doctor, day, minute + 30, abnormal=True)
    lasting = spec.get("resolves_after_days", _data()["cases"]["resolves_after_days"])
    resolved = None if lasting is None else day + timedelta(days=lasting + rng.randint(0, 7))
    condition(
        chart,
        spec["icd10"],
        spec["display"],
        day - timedelta(days=rng.randint(0, 2)),
        enc=enc,
        recorder=doctor,
        resolved=resolved,
        recorded=day,
        condition_id=cid,
    )
    for drug in spec.get("drugs", []):
        medication(chart, drug, day, minute + 20, doctor, enc)
    chart.truth.count(f"notifiable/{key}")
    return cid


def fever_visit(chart: Chart, day: date, reason: tuple[str, str]) -> str:
    rng = chart.rng
    fac = chart.network.fever_site(chart.township)
    doctor = fac.doctor(rng, "16", "20", "02")
    minute = chart.any_minute()
    low, high = _data()["fever_clinic"]["temperature"]
    enc = encounter(
        chart, "fever-clinic", fac, "16", day, minute, reasons=[reason], practitioner=doctor
    )
    vital(chart, "temperature", round(rng.uniform(low, high), 1), enc, doctor, day, minute + 2)
    rules = _data()["fever_clinic"]
    if rng.random() < rules["cbc_share"]:
        lab_panel(chart, "cbc", fac, enc, doctor, day, minute + 15)
    if rng.random() < rules["antipyretic_share"]:
        medication(chart, "paracetamol", day, minute + 20, doctor, enc)
    chart.truth.count("fever-clinic-visits")
    return enc
