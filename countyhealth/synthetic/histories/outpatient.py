"""Common illness: outpatient visits at the level of care a resident would choose.

Rates by age, the split between village clinic, township health centre and county hospital,
and the case mix with its prescriptions, tests and imaging are in data/care.json. Children
seen at county level go to the children's hospital or the paediatrics of the lead hospital.
Some visits end in a referral up (pneumonia, abdominal pain) when seen in primary care.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from .. import datafiles
from ..network import Facility
from ..rng import Weighted, poisson, step_value
from .chart import Chart
from .records import encounter, imaging, lab_panel, medication
from .referrals import refer


def age_group(age: float) -> str:
    return "child" if age < 14 else ("elder" if age >= 65 else "adult")


@cache
def _mix() -> dict[str, Weighted[dict[str, Any]]]:
    cases = datafiles.load("care")["outpatient_case_mix"]
    return {
        g: Weighted(cases, [c["weight"][g] for c in cases]) for g in ("child", "adult", "elder")
    }


def outpatient_visits(chart: Chart) -> None:
    care = datafiles.load("care")
    rng = chart.rng
    years, mid_age = chart.years, chart.mid_age
    mean = step_value(care["outpatient_rate_by_age"], mid_age) * years
    for _ in range(poisson(rng, mean)):
        day = chart.day_between(chart.start, chart.end)
        group = age_group(chart.age_on(day))
        case = _mix()[group].pick(rng)
        visit(chart, case, day, group)


def _place(chart: Chart, group: str) -> tuple[Facility, str]:
    levels = datafiles.load("care")["outpatient_level"]["child" if group == "child" else "adult"]
    roll = chart.rng.random()
    if roll < levels["village"]:
        return chart.clinic, "02"
    if roll < levels["village"] + levels["township"]:
        return chart.centre, "02"
    if group == "child":
        return chart.network.hospital("h04"), "07"
    return chart.hospital, "03"


def visit(chart: Chart, case: dict[str, Any], day: date, group: str) -> None:
    rng = chart.rng
    fac, dept = _place(chart, group)
    dept = fac.department_of(dept, "03.01", "02", "07", "03")
    doctor = fac.doctor(rng, dept)
    minute = chart.working_minute()
    reason = (case["code"], case["display"])
    enc = encounter(
        chart, "outpatient", fac, dept, day, minute, reasons=[reason], practitioner=doctor
    )
    primary = fac.kind in ("village-clinic", "health-centre")
    for panel, p in case.get("labs", []):
        if fac.kind != "village-clinic" and rng.random() < p:
            lab_panel(chart, panel, fac, enc, doctor, day, minute + 10)
    for exam, p in case.get("imaging", []):
        if fac.kind != "village-clinic" and rng.random() < p:
            imaging(chart, exam, fac, enc, doctor, day, minute + 20)
    for drug, p in case["drugs"]:
        if rng.random() < p:
            medication(
                chart,
                drug,
                day,
                minute + 12,
                doctor,
                enc,
                category="community" if primary else "outpatient",
            )
    if primary and rng.random() < case.get("refer_up", 0.0):
        target = chart.network.hospital("h04") if group == "child" else chart.hospital
        ward = "07" if group == "child" else "03"
        referral = refer(chart, "up", reason, fac, doctor, target, ward, day, minute + 15, enc=enc)
        if referral.visit_day is not None:
            dept2 = target.department_of(ward, "03.01", "03")
            specialist = target.doctor(rng, dept2)
            v = encounter(
                chart,
                "referral-visit",
                target,
                dept2,
                referral.visit_day,
                chart.working_minute(),
                reasons=[reason],
                practitioner=specialist,
                based_on=referral.request,
            )
            if rng.random() < datafiles.load("care")["referral"]["referral_visit_cbc_share"]:
                lab_panel(chart, "cbc", target, v, specialist, referral.visit_day, 620)
