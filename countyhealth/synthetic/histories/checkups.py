"""Annual health checks of residents aged 65 and over at the township health centre.

The basic public-health service gives older residents a yearly check (DOMAIN.md §2a): vital
signs and body size, blood count, biochemistry and lipids, and an abdominal ultrasound
(participation and the ultrasound share in data/care.json).
"""

from __future__ import annotations

from datetime import date

from .. import datafiles
from .chart import Chart
from .profile import profile, reading_bp, reading_glucose
from .records import blood_pressure, encounter, imaging, lab_panel, lab_value, vital


def health_checks(chart: Chart) -> None:
    rules = datafiles.load("care")["health_check"]
    rng = chart.rng
    r = chart.resident
    if rng.random() >= rules["participation"]:
        return
    body = profile(chart)
    measured_height = False
    for year in range(chart.options.start.year, chart.end.year + 1):
        day = date(year, rng.randint(3, 10), rng.randint(1, 28))
        if not chart.in_period(day) or chart.age_on(day) < rules["min_age"]:
            continue
        if rng.random() < rules["missed_year_share"]:
            continue
        centre = chart.centre
        doctor = centre.doctor(rng, "01", "02")
        minute = rng.randint(450, 600)
        enc = encounter(
            chart, "health-check", centre, "01", day, minute, minutes=60, practitioner=doctor
        )
        sbp, dbp = reading_bp(chart, day)
        blood_pressure(chart, enc, doctor, day, minute + 5, sbp, dbp)
        weight = round(body.weight_kg + rng.gauss(0, 1.2), 1)
        vital(chart, "weight", weight, enc, doctor, day, minute + 6)
        if not measured_height:
            vital(chart, "height", body.height_cm, enc, doctor, day, minute + 6)
            measured_height = True
        glucose = reading_glucose(chart, day)
        lab_panel(chart, "cbc", centre, enc, doctor, day, minute + 10)
        lab_panel(chart, "chemistry", centre, enc, doctor, day, minute + 10, {"glucose": glucose})
        lipids: dict[str, float] = {}
        if "hyperlipidaemia" in r.conditions:
            lipids["cholesterol"] = lab_value(chart, "cholesterol", shift=1.0, abnormal=0)
        lab_panel(chart, "lipids", centre, enc, doctor, day, minute + 10, lipids)
        if rng.random() < rules["abdomen_ultrasound"]:
            imaging(chart, "abdomen-us", centre, enc, doctor, day, minute + 30)
        chart.truth.count("health-checks")
