"""Chronic disease: problem list, 两慢病 follow-ups, long prescriptions, referral when uncontrolled.

Hypertension and type 2 diabetes are managed as the basic public-health service norm says
(DOMAIN.md §2a, data/chronic.json): a follow-up every quarter at the village clinic (at home
from age 80), the diabetic's HbA1c every six months at the township health centre, classified
intervention, and referral up to the county hospital after two consecutive uncontrolled
visits (urgently at emergency values), with counter-referral back down. Stable patients get
long prescriptions of up to 12 weeks (data/medications.json).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from .. import datafiles, prevalence
from ..rng import Weighted, int_between
from .chart import Chart
from .profile import hba1c_for, reading_bp, reading_glucose
from .records import (
    blood_pressure,
    condition,
    encounter,
    lab_panel,
    lab_value,
    medication,
    point_of_care_glucose,
)
from .referrals import refer

MANAGED = ("hypertension", "diabetes")


@cache
def _rules() -> dict[str, Any]:
    return datafiles.load("chronic")


def problem_list(chart: Chart) -> dict[str, str]:
    """Record the resident's chronic conditions; returns condition name → Condition id."""
    r = chart.resident
    ids: dict[str, str] = {}
    for rule in prevalence.rules():
        onset = r.conditions.get(rule.name)
        if onset is None:
            continue
        recorder = chart.centre.doctor(chart.rng, "02")
        enc = None
        if chart.in_period(onset):
            enc = encounter(
                chart,
                "outpatient",
                chart.centre,
                "02",
                onset,
                chart.working_minute(),
                reasons=[(rule.icd10, rule.display)],
                practitioner=recorder,
            )
        ids[rule.name] = condition(
            chart,
            rule.icd10,
            rule.display,
            onset,
            category="problem-list-item",
            enc=enc,
            recorder=recorder,
            snomed=rule.snomed,
        )
    chart.state["problems"] = ids
    return ids


def _regimen(chart: Chart, name: str) -> list[str]:
    spec = datafiles.load("medications")["regimens"].get(name)
    if not spec:
        return []
    drugs: list[str] = [Weighted.of(spec["first"]).pick(chart.rng)]
    if spec["second"] and chart.rng.random() < spec["second_share"]:
        second: str = Weighted.of(spec["second"]).pick(chart.rng)
        if second not in drugs:
            drugs.append(second)
    return drugs


def follow_up(chart: Chart, problems: dict[str, str]) -> None:
    """Quarterly follow-ups of hypertension and diabetes with prescriptions and referrals."""
    r = chart.resident
    managed = [n for n in MANAGED if n in problems]
    if not managed:
        _yearly_prescriptions(chart, problems)
        return
    rules = _rules()["follow_up"]
    long_rules = datafiles.load("medications")["long_prescription"]
    rng = chart.rng
    regimens = {n: _regimen(chart, n) for n in problems}
    stable_patient = rng.random() < long_rules["share_of_stable_patients"]
    first = max(chart.start, max(r.conditions[n] for n in managed) + timedelta(days=7))
    interval = round(365 / rules["per_year"])
    streak = {n: 0 for n in managed}
    referred = False
    recheck = False  # this visit is the two-week recheck of an uncontrolled one
    visit = 0
    day = first + timedelta(days=rng.randint(0, 30))
    reasons = [(_icd(n), _display(n)) for n in managed]
    while day < chart.end:
        visit += 1
        at_centre = "diabetes" in managed and visit % 2 == 0
        home = not at_centre and chart.age_on(day) >= rules["home_visit_from_age"]
        fac = chart.centre if at_centre else chart.clinic
        # the contracted family doctor sees the patient at the centre and now and then in the
        # village; otherwise the village doctor does the follow-up
        team_visit = r.station is not None and (
            at_centre or rng.random() < rules["team_visit_share"]
        )
        doctor = r.station.leader_role if team_visit and r.station else fac.doctor(rng, "02")
        minute = chart.working_minute()
        enc = encounter(
            chart,
            "chronic-follow-up",
            fac,
            "02",
            day,
            minute,
            cls="HH" if home else "AMB",
            minutes=20,
            reasons=reasons,
            practitioner=doctor,
            diagnoses=[problems[n] for n in managed],
        )
        uncontrolled: dict[str, bool] = {}
        emergency = False
        if "hypertension" in managed:
            sbp, dbp = reading_bp(chart, day)
            blood_pressure(chart, enc, doctor, day, minute + 3, sbp, dbp)
            uncontrolled["hypertension"] = (
                sbp >= rules["controlled_sbp_below"] or dbp >= rules["controlled_dbp_below"]
            )
            emergency |= sbp >= rules["emergency_sbp"] or dbp >= rules["emergency_dbp"]
        if "diabetes" in managed:
            glucose = reading_glucose(chart, day)
            if at_centre:
                hba1c = hba1c_for(chart, glucose)
                lab_panel(chart, "hba1c", fac, enc, doctor, day, minute + 5, {"hba1c": hba1c})
                lab_panel(
                    chart, "chemistry", fac, enc, doctor, day, minute + 5, {"glucose": glucose}
                )
            else:
                point_of_care_glucose(chart, enc, doctor, day, minute + 5, glucose)
            uncontrolled["diabetes"] = glucose >= rules["controlled_glucose_below"]
            emergency |= (
                glucose >= rules["emergency_glucose_high"]
                or glucose <= rules["emergency_glucose_low"]
            )
        for n, bad in uncontrolled.items():
            streak[n] = streak[n] + 1 if bad else 0
        stable = not any(uncontrolled.values()) and stable_patient
        supply = (
            rng.choice(long_rules["stable_patient_days"])
            if stable
            else long_rules["usual_max_days"]
        )
        for name in [] if recheck else problems:
            for drug in regimens[name]:
                medication(
                    chart,
                    drug,
                    day,
                    minute + 8,
                    doctor,
                    enc,
                    supply_days=supply,
                    reason=problems[name],
                    long_prescription=supply > long_rules["usual_max_days"],
                    repeats=0 if stable else 2,
                    category="community",
                )
        due = [n for n in managed if streak[n] >= rules["referral_after_uncontrolled_visits"]]
        next_gap = interval + rng.randint(-10, 10)
        was_recheck, recheck = recheck, False
        taken_up = bool(due) and rng.random() < rules["referral_taken_up"]
        if (emergency or taken_up) and not referred:
            name = due[0] if due else managed[0]
            _refer_up(chart, name, problems, day, minute + 10, enc, doctor, urgent=emergency)
            referred = True
            streak = {n: 0 for n in managed}
        elif due:
            streak = {n: 0 for n in managed}  # drugs adjusted instead; count again from here
        elif any(uncontrolled.values()) and not was_recheck:
            # classified intervention: adjust the drugs and see the patient again in two weeks
            next_gap, recheck = 14 + rng.randint(0, 7), True
        day = day + timedelta(days=next_gap)


def _refer_up(
    chart: Chart,
    name: str,
    problems: dict[str, str],
    day: date,
    minute: int,
    enc: str,
    doctor: str,
    *,
    urgent: bool,
) -> None:
    rng = chart.rng
    care = datafiles.load("care")["referral"]
    dept = "03.04" if name == "hypertension" else "03.07"
    panels = care["pre_referral_labs"][name]
    lab_day = day if urgent else day + timedelta(days=rng.randint(0, 2))
    centre = chart.centre
    gp = chart.resident.station.leader_role if chart.resident.station else centre.doctor(rng, "02")
    if not urgent:
        lab_enc = encounter(
            chart,
            "outpatient",
            centre,
            "30",
            lab_day,
            chart.working_minute(),
            practitioner=gp,
            reasons=[(_icd(name), _display(name))],
        )
        for panel in panels:
            lab_panel(
                chart,
                panel,
                centre,
                lab_enc,
                gp,
                lab_day,
                500,
                _panel_values(chart, panel, lab_day),
            )
    referral = refer(
        chart,
        "up",
        (_icd(name), _display(name)),
        centre,
        gp,
        chart.hospital,
        dept,
        lab_day,
        minute,
        enc=enc,
        condition=problems[name],
        urgent=urgent,
        visit_after_days=tuple(care["repeat_lag_days"]),
    )
    if referral.visit_day is None:
        return
    hospital = chart.hospital
    specialist = hospital.doctor(rng, dept, "03")
    visit_day = referral.visit_day
    visit = encounter(
        chart,
        "emergency" if urgent else "referral-visit",
        hospital,
        "20" if urgent else dept,
        visit_day,
        chart.working_minute() if not urgent else minute + 90,
        cls="EMER" if urgent else "AMB",
        minutes=30,
        reasons=[(_icd(name), _display(name))],
        practitioner=specialist,
        based_on=referral.request,
        diagnoses=[problems[name]],
    )
    sbp, dbp = reading_bp(chart, visit_day)
    blood_pressure(chart, visit, specialist, visit_day, 600, sbp, dbp)
    if urgent or rng.random() < care["repeat_test_probability"]:
        for panel in panels:
            lab_panel(
                chart,
                panel,
                hospital,
                visit,
                specialist,
                visit_day,
                620,
                _panel_values(chart, panel, visit_day),
            )
    # counter-referral to primary care for continued management
    back = refer(
        chart,
        "down",
        (_icd(name), _display(name)),
        hospital,
        specialist,
        chart.centre,
        "02",
        visit_day,
        700,
        enc=visit,
        condition=problems[name],
        visit_after_days=tuple(care["follow_up_after_down_referral_days"]),
    )
    if back.visit_day is not None:
        fu = encounter(
            chart,
            "chronic-follow-up",
            chart.centre,
            "02",
            back.visit_day,
            chart.working_minute(),
            reasons=[(_icd(name), _display(name))],
            practitioner=gp,
            based_on=back.request,
            diagnoses=[problems[name]],
        )
        sbp, dbp = reading_bp(chart, back.visit_day)
        blood_pressure(chart, fu, gp, back.visit_day, 600, sbp, dbp)


def _panel_values(chart: Chart, panel: str, day: date) -> dict[str, float]:
    glucose = reading_glucose(chart, day)
    values: dict[str, float] = {"glucose": glucose}
    if panel == "hba1c":
        values["hba1c"] = hba1c_for(chart, glucose)
    if panel == "lipids" and "hyperlipidaemia" in chart.resident.conditions:
        values["cholesterol"] = lab_value(chart, "cholesterol", shift=1.2, abnormal=0)
        values["ldl"] = lab_value(chart, "ldl", shift=0.9, abnormal=0)
    return values


def _yearly_prescriptions(chart: Chart, problems: dict[str, str]) -> None:
    """Conditions without a follow-up programme: one visit a year at the health centre."""
    rng = chart.rng
    treated = [n for n in problems if _regimen_exists(n)]
    if not treated:
        return
    regimens = {n: _regimen(chart, n) for n in treated}
    first = max(chart.start, max(chart.resident.conditions[n] for n in treated) + timedelta(days=7))
    day = first + timedelta(days=rng.randint(0, 90))
    while day < chart.end:
        doctor = chart.centre.doctor(rng, "02")
        minute = chart.working_minute()
        enc = encounter(
            chart,
            "outpatient",
            chart.centre,
            "02",
            day,
            minute,
            reasons=[(_icd(n), _display(n)) for n in treated],
            practitioner=doctor,
        )
        sbp, dbp = reading_bp(chart, day)
        blood_pressure(chart, enc, doctor, day, minute + 3, sbp, dbp)
        for n in treated:
            for drug in regimens[n]:
                medication(
                    chart,
                    drug,
                    day,
                    minute + 6,
                    doctor,
                    enc,
                    supply_days=84,
                    reason=problems[n],
                    long_prescription=True,
                    category="community",
                )
        day += timedelta(days=int_between(rng, (300, 420)))


def _regimen_exists(name: str) -> bool:
    return name in datafiles.load("medications")["regimens"]


def _icd(name: str) -> str:
    return str(_rules()["conditions"][name]["icd10"])


def _display(name: str) -> str:
    return str(_rules()["conditions"][name]["display"])
