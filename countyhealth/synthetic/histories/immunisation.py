"""Immunisations on the national programme (国家免疫规划, 2021 schedule).

Every child young enough to be on the schedule during the period gets its doses from birth
on (earlier doses are part of the record the platform holds), each with a small delay, a few
late, a few missed (data/child_health.json ``immunisation``). Birth doses are given at the
delivery hospital, the others at the township health centre's vaccination clinic.
"""

from __future__ import annotations

from datetime import timedelta

from ...fhir import systems
from .. import datafiles
from ..fhirtypes import coding, concepts, ref, when
from ..rng import int_between
from .chart import Chart
from .child_health import is_child_in_period
from .maternity import birth_hospital


def immunisations(chart: Chart) -> None:
    if not is_child_in_period(chart):
        return
    data = datafiles.load("child_health")["immunisation"]
    names = datafiles.load("codesystems")["nip_vaccine"]
    rng = chart.rng
    r = chart.resident
    centre = chart.centre
    for dose in data["schedule"]:
        if rng.random() >= data["coverage"]:
            continue
        age_days = dose.get("age_days")
        if age_days is None:
            age_days = round(dose["age_months"] * 30.4375)
        delay = int_between(
            rng,
            data["late_delay_days"] if rng.random() < data["late_share"] else data["delay_days"],
        )
        if age_days == 0:
            delay = 0
        day = r.birth + timedelta(days=age_days + delay)
        if day >= chart.end:
            continue
        vaccine = dose["vaccine"]
        at_birth = age_days == 0
        fac = birth_hospital(chart.network, r) if at_birth else centre
        performer = fac.nurse(rng) if at_birth else fac.doctor(rng, "01")
        codings = [coding(systems.NIP_VACCINE, vaccine, names[vaccine])]
        cvx = data["cvx"].get(vaccine)
        if cvx:
            codings.append(coding(systems.CVX, cvx))
        minute = chart.working_minute()
        chart.add(
            {
                "resourceType": "Immunization",
                "id": chart.id("imm"),
                "status": "completed",
                "vaccineCode": concepts(*codings, text=names[vaccine]),
                "patient": chart.subject,
                "occurrenceDateTime": when(day, minute),
                "recorded": when(day, minute + 5),
                "primarySource": True,
                "location": ref(fac.loc_ref, fac.name),
                "lotNumber": f"{day.year}{rng.randint(1, 12):02d}{rng.randint(100, 999)}",
                "performer": [{"actor": ref(f"PractitionerRole/{performer}")}],
                "protocolApplied": [
                    {"series": names[vaccine], "doseNumberPositiveInt": dose["dose"]}
                ],
            }
        )
        chart.truth.count("immunisations")
