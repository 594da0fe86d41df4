"""Hospital admissions at the county level, with discharge back to primary care.

Admission rates by age, reasons, lengths of stay, departments and the share discharged with a
counter-referral (下转) to the township health centre are in data/care.json. Each stay has
admission tests (blood count, biochemistry, potassium), imaging where the reason calls for
it, an encounter diagnosis, and — when referred down — a follow-up visit at the health
centre within two weeks.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from ...fhir import systems
from .. import datafiles
from ..fhirtypes import concept
from ..network import Facility
from ..rng import Weighted, int_between, poisson, step_value
from .chart import Chart
from .outpatient import age_group
from .profile import reading_bp, reading_glucose
from .records import blood_pressure, condition, encounter, imaging, lab_panel
from .referrals import refer


@cache
def _reasons() -> dict[str, Weighted[dict[str, Any]]]:
    reasons = datafiles.load("care")["admission_reasons"]
    return {
        g: Weighted(reasons, [r["weight"][g] for r in reasons]) for g in ("child", "adult", "elder")
    }


def admissions(chart: Chart) -> None:
    rng = chart.rng
    years, mid_age = chart.years, chart.mid_age
    mean = step_value(datafiles.load("care")["admission_rate_by_age"], mid_age) * years
    for _ in range(poisson(rng, mean)):
        day = chart.day_between(chart.start, chart.end)
        group = age_group(chart.age_on(day))
        reason = _reasons()[group].pick(rng)
        child = group == "child"
        hospital = (
            chart.network.hospital("h04")
            if child and "child_department" in reason
            else chart.hospital
        )
        dept = (
            reason.get("child_department", reason["department"]) if child else reason["department"]
        )
        admit(
            chart,
            hospital,
            dept,
            (reason["code"], reason["display"]),
            day,
            chart.working_minute(),
            reason=reason,
        )


def admit(
    chart: Chart,
    hospital: Facility,
    dept: str,
    diagnosis: tuple[str, str],
    day: date,
    minute: int,
    *,
    reason: dict[str, Any] | None = None,
    source: str = "outp",
) -> str:
    """An inpatient stay; returns the Encounter id."""
    rng = chart.rng
    care = datafiles.load("care")
    spec = reason or {}
    days = int_between(rng, spec.get("days", datafiles.load("emergency")["admission_days"]))
    discharge = day + timedelta(days=days)
    dept = hospital.department_of(dept, "03", "07")
    doctor = hospital.doctor(rng, dept)
    down = rng.random() < spec.get("refer_down", datafiles.load("emergency")["refer_down"])
    cid = chart.id("cond")
    enc = encounter(
        chart,
        "admission",
        hospital,
        dept,
        day,
        minute,
        cls="IMP",
        end_day=discharge,
        reasons=[diagnosis],
        practitioner=doctor,
        diagnoses=[cid],
        hospitalization={
            "admitSource": concept(
                systems.ADMIT_SOURCE,
                source,
                "From accident/emergency department"
                if source == "emd"
                else "From outpatient department",
            ),
            "dischargeDisposition": concept(
                systems.DISCHARGE_DISPOSITION,
                "other-hcf" if down else "home",
                "Other healthcare facility" if down else "Home",
            ),
        },
    )
    condition(
        chart,
        diagnosis[0],
        diagnosis[1],
        day,
        enc=enc,
        recorder=doctor,
        resolved=None if spec.get("stays_active") else discharge,
        condition_id=cid,
    )
    sbp, dbp = reading_bp(chart, day)
    blood_pressure(chart, enc, doctor, day, minute + 20, sbp, dbp)
    lab_panel(chart, "cbc", hospital, enc, doctor, day, minute + 30)
    lab_panel(
        chart,
        "chemistry",
        hospital,
        enc,
        doctor,
        day,
        minute + 30,
        {"glucose": reading_glucose(chart, day)},
    )
    lab_panel(chart, "electrolytes", hospital, enc, doctor, day, minute + 30)
    exam = spec.get("imaging")
    if exam:
        imaging(chart, exam, hospital, enc, doctor, day, minute + 60, abnormal=True)
    chart.truth.count("admissions")
    if down and discharge < chart.end:
        back = refer(
            chart,
            "down",
            diagnosis,
            hospital,
            doctor,
            chart.centre,
            "02",
            discharge,
            600,
            enc=enc,
            visit_after_days=tuple(care["referral"]["follow_up_after_down_referral_days"]),
        )
        if back.visit_day is not None:
            gp = (
                chart.resident.station.leader_role
                if chart.resident.station
                else chart.centre.doctor(rng, "02")
            )
            fu = encounter(
                chart,
                "outpatient",
                chart.centre,
                "02",
                back.visit_day,
                chart.working_minute(),
                reasons=[diagnosis],
                practitioner=gp,
                based_on=back.request,
            )
            sbp, dbp = reading_bp(chart, back.visit_day)
            blood_pressure(chart, fu, gp, back.visit_day, 600, sbp, dbp)
    return enc
