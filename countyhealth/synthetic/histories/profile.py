"""The physiology of a resident: body size and the usual level of blood pressure and glucose.

Drawn once per resident so that every measurement (follow-ups, health checks, admissions)
comes from the same person: a hypertensive patient under poor control stays high wherever
the reading is taken (data/chronic.json ``trajectories``, data/labs.json ``adult_body``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import datafiles
from ..rng import between, step_value
from .chart import Chart


@dataclass(slots=True)
class Profile:
    height_cm: float
    weight_kg: float
    sbp_mean: float  # under treatment
    glucose_mean: float  # under treatment
    poor_bp: bool
    poor_glucose: bool
    hba1c_offset: float
    sbp_untreated: float
    glucose_untreated: float
    bp_since: date | None  # diagnosis of hypertension: treatment brings the level down from here
    glucose_since: date | None


def _settling(since: date | None, day: date) -> float:
    """1 before treatment starts, falling to 0 over the settling period, 0 after."""
    if since is None:
        return 0.0
    days = (day - since).days
    settling = datafiles.load("chronic")["trajectories"]["settling_days"]
    return 1.0 if days < 0 else max(0.0, 1 - days / settling)


def profile(chart: Chart) -> Profile:
    """The resident's profile (computed on first use, then kept on the chart)."""
    cached = chart.state.get("profile")
    if isinstance(cached, Profile):
        return cached
    rng = chart.rng
    r = chart.resident
    traj = datafiles.load("chronic")["trajectories"]
    body = datafiles.load("labs")["adult_body"]
    h_mean, h_sd = body["height_cm"][r.sex]
    w_mean, w_sd = body["weight_kg"][r.sex]
    height = rng.gauss(h_mean - max(0, r.age - 50) * body["height_loss_cm_per_year_after_50"], h_sd)
    weight = max(38.0, rng.gauss(w_mean, w_sd) * (height / h_mean) ** 2)
    poor_bp = (
        "hypertension" in r.conditions
        and rng.random() < traj["poorly_controlled_share"]["hypertension"]
    )
    poor_glu = (
        "diabetes" in r.conditions and rng.random() < traj["poorly_controlled_share"]["diabetes"]
    )
    if "hypertension" in r.conditions:
        sbp = between(rng, traj["sbp"]["poor_mean" if poor_bp else "controlled_mean"])
    else:
        sbp = rng.gauss(
            step_value(traj["normal_sbp"]["mean_by_age"], r.age), traj["normal_sbp"]["sd"] / 2
        )
        sbp = min(sbp, 136.0)
    if "diabetes" in r.conditions:
        glucose = between(
            rng, traj["fasting_glucose"]["poor_mean" if poor_glu else "controlled_mean"]
        )
    else:
        glucose = rng.uniform(4.4, 5.8)
    result = Profile(
        round(height, 1),
        round(weight, 1),
        sbp,
        glucose,
        poor_bp,
        poor_glu,
        rng.gauss(0, 0.3),
        between(rng, traj["sbp"]["untreated_mean"]),
        between(rng, traj["fasting_glucose"]["untreated_mean"]),
        r.conditions.get("hypertension"),
        r.conditions.get("diabetes"),
    )
    chart.state["profile"] = result
    return result


def reading_bp(chart: Chart, day: date) -> tuple[int, int]:
    """One blood-pressure reading (systolic, diastolic) in mmHg on ``day``.

    A newly treated hypertensive patient comes down from the untreated level over months.
    """
    p = profile(chart)
    traj = datafiles.load("chronic")["trajectories"]
    rng = chart.rng
    mean = p.sbp_mean + _settling(p.bp_since, day) * max(0.0, p.sbp_untreated - p.sbp_mean)
    sbp = round(rng.gauss(mean, traj["sbp"]["visit_sd"]))
    d = traj["dbp_from_sbp"]
    dbp = round(d["slope"] * sbp + d["intercept"] + rng.gauss(0, d["sd"]))
    return max(85, min(sbp, 230)), max(50, min(dbp, 135))


def reading_glucose(chart: Chart, day: date) -> float:
    """One fasting glucose in mmol/L on ``day`` (settling after diagnosis like blood pressure)."""
    p = profile(chart)
    sd = datafiles.load("chronic")["trajectories"]["fasting_glucose"]["visit_sd"]
    diabetic = "diabetes" in chart.resident.conditions
    mean = p.glucose_mean
    if diabetic:
        mean += _settling(p.glucose_since, day) * max(0.0, p.glucose_untreated - p.glucose_mean)
    return round(max(3.0, chart.rng.gauss(mean, sd if diabetic else 0.35)), 1)


def hba1c_for(chart: Chart, glucose: float) -> float:
    d = datafiles.load("chronic")["trajectories"]["hba1c_from_glucose"]
    p = profile(chart)
    return round(max(4.2, d["slope"] * glucose + d["intercept"] + p.hba1c_offset), 1)
