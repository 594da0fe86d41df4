"""Children 0–6: health-check visits on the national schedule with growth measurements.

Visits follow the 0～6岁儿童健康管理服务规范 (data/child_health.json): newborn home visit,
满月, 3–36 months, then yearly to six years, with haemoglobin at 8, 18 and 30 months. Each
child keeps its own weight, length and head z-scores with a small drift; a few children
falter (their weight z-score falls visit after visit) and are listed in the ground truth.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta
from functools import cache
from typing import Any

from .. import datafiles
from ..rng import int_between
from .chart import Chart
from .records import encounter, lab_panel, lab_value, vital


@cache
def _data() -> dict[str, Any]:
    return datafiles.load("child_health")


def median(measure: str, sex: str, months: float) -> float:
    """The reference median of ``measure`` at ``months`` (linear between table ages)."""
    growth = _data()["growth"]
    ages: list[int] = growth["months"]
    values: list[float] = growth[measure][sex]
    if months <= ages[0]:
        return values[0]
    if months >= ages[-1]:
        return values[-1]
    k = bisect_right(ages, months)
    a0, a1 = ages[k - 1], ages[k]
    v0, v1 = values[k - 1], values[k]
    return v0 + (v1 - v0) * (months - a0) / (a1 - a0)


def is_child_in_period(chart: Chart) -> bool:
    """Whether the resident is 0–6 years old at some time in the period."""
    return chart.resident.birth > chart.options.start - timedelta(days=7 * 365)


def child_health(chart: Chart) -> None:
    if not is_child_in_period(chart):
        return
    data = _data()
    growth = data["growth"]
    rng = chart.rng
    r = chart.resident
    z = {
        "weight_kg": rng.gauss(0, 0.9),
        "length_cm": rng.gauss(0, 0.9),
        "head_cm": rng.gauss(0, 0.9),
    }
    falters = rng.random() < growth["faltering_share"]
    faltering_seen = 0
    cv = growth["cv"]
    for spec in data["visits"]:
        age_days = spec.get("age_days") or round(spec["age_months"] * 30.4375)
        day = r.birth + timedelta(days=age_days + int_between(rng, data["visit_delay_days"]))
        for key in z:
            z[key] += rng.gauss(0, growth["z_drift_sd"])
        if falters and age_days >= 150:
            z["weight_kg"] += growth["faltering_drift"]
        if not chart.in_period(day) or rng.random() >= data["visit_attendance"]:
            continue
        months = (day - r.birth).days / 30.4375
        centre = chart.centre
        doctor = centre.doctor(rng, "09", "02")
        minute = chart.working_minute()
        enc = encounter(
            chart,
            "child-health",
            centre,
            "09",
            day,
            minute,
            cls="HH" if spec.get("home") else "AMB",
            minutes=20,
            practitioner=doctor,
        )
        weight = median("weight_kg", r.sex, months) * (1 + z["weight_kg"] * cv["weight"])
        length = median("length_cm", r.sex, months) * (1 + z["length_cm"] * cv["length"])
        vital(chart, "weight", round(weight, 2), enc, doctor, day, minute + 3)
        lying = months < data["length_lying_until_months"]
        vital(
            chart, "length" if lying else "height", round(length, 1), enc, doctor, day, minute + 4
        )
        if months < data["head_circumference_until_months"] + 1:
            head = median("head_cm", r.sex, months) * (1 + z["head_cm"] * cv["head"])
            vital(chart, "head", round(head, 1), enc, doctor, day, minute + 5)
        if spec.get("hemoglobin"):
            hb = lab_value(chart, "hemoglobin", abnormal=data["hemoglobin_abnormal_share"])
            lab_panel(chart, "cbc", centre, enc, doctor, day, minute + 10, {"hemoglobin": hb})
        if falters and z["weight_kg"] < -1:
            faltering_seen += 1
        chart.truth.count("child-health-visits")
    if falters and faltering_seen >= 2:
        chart.truth.growth_faltering.append(f"Patient/{chart.patient_id}")
