"""Pre-hospital emergencies: the 120 call, the ambulance dispatch and the emergency department.

An incident is a Location (where it happened), a field Encounter of the 120 centre, and a
dispatch Task from the nearest ambulance station whose response time follows the distance
and the road speed (data/facilities.json ``ambulance``); the patient then arrives at the
emergency department of the group's county hospital and may be admitted
(data/emergency.json).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from ...fhir import systems
from .. import datafiles
from ..fhirtypes import coding, concept, ref, when
from ..rng import Weighted, poisson, step_value
from .admissions import admit
from .chart import Chart
from .records import condition, encounter, imaging


@cache
def _data() -> dict[str, Any]:
    return datafiles.load("emergency")


def emergencies(chart: Chart) -> None:
    data = _data()
    rng = chart.rng
    years, mid_age = chart.years, chart.mid_age
    for _ in range(poisson(rng, step_value(data["rate_by_age"], mid_age) * years)):
        day = chart.day_between(chart.start, chart.end)
        age = chart.age_on(day)
        kinds = [k for k in data["kinds"] if k["min_age"] <= age]
        kind = Weighted(kinds, [k["weight"] for k in kinds]).pick(rng)
        incident(chart, kind, day)


def incident(chart: Chart, kind: dict[str, Any], day: date) -> None:
    rng = chart.rng
    network = chart.network
    ambulance = datafiles.load("facilities")["ambulance"]
    names = datafiles.load("codesystems")
    village = chart.resident.village
    lon = round(village.lon + rng.uniform(-0.01, 0.01), 6)
    lat = round(village.lat + rng.uniform(-0.008, 0.008), 6)
    station, km = network.nearest_ambulance(lon, lat)
    urban = village.township.kind == "subdistrict"
    speed = ambulance["speed_kmh"]["urban" if urban else "rural"]
    dispatch = rng.uniform(*ambulance["dispatch_minutes"])
    road_km = km * ambulance["road_factor"]
    response = round(dispatch + road_km / speed * 60 + rng.uniform(1, 4), 1)
    call = rng.randint(0, 1439)
    arrive = call + round(response)
    at_hospital = arrive + rng.randint(15, 40)
    reason = (kind["code"], kind["display"])
    ems = network.public["ems"]
    site = chart.id("loc-inc")
    chart.add(
        {
            "resourceType": "Location",
            "id": site,
            "status": "active",
            "name": f"{village.name}附近 事发地点",
            "mode": "instance",
            "type": [
                concept(
                    systems.LOCATION_KIND, "incident-site", names["location_kind"]["incident-site"]
                )
            ],
            "position": {"longitude": lon, "latitude": lat},
            "partOf": ref(f"Location/{village.id}", village.name),
        }
    )
    crew = station.facility.doctor(rng, "20", "02")
    field = chart.id("enc")
    chart.add(
        {
            "resourceType": "Encounter",
            "id": field,
            "status": "finished",
            "class": coding(systems.V3_ACT_CODE, "FLD", "field"),
            "type": [
                concept(
                    systems.ENCOUNTER_TYPE, "prehospital", names["encounter_type"]["prehospital"]
                )
            ],
            "priority": concept(
                "http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM", "emergency"
            ),
            "subject": chart.subject,
            "participant": [{"individual": ref(f"PractitionerRole/{crew}")}],
            "period": {"start": when(day, call), "end": when(day, at_hospital)},
            "reasonCode": [concept(systems.ICD_10, reason[0], reason[1])],
            "location": [
                {"location": ref(f"Location/{site}")},
                {"location": ref(f"Location/{station.loc_id}", station.name)},
            ],
            "serviceProvider": ref(ems.org_ref, ems.name),
        }
    )
    dispatcher = ems.doctor(rng, "20")
    chart.add(
        {
            "resourceType": "Task",
            "id": chart.id("task"),
            "status": "completed",
            "intent": "order",
            "priority": "stat",
            "code": concept(systems.TASK_KIND, "dispatch", names["task_kind"]["dispatch"]),
            "focus": ref(f"Encounter/{field}"),
            "for": chart.subject,
            "authoredOn": when(day, call),
            "lastModified": when(day, arrive),
            "requester": ref(f"PractitionerRole/{dispatcher}"),
            "owner": ref(station.facility.org_ref, station.facility.name),
            "location": ref(f"Location/{site}"),
            "executionPeriod": {
                "start": when(day, call + round(dispatch)),
                "end": when(day, arrive),
            },
            "input": [
                {
                    "type": concept(
                        systems.TASK_INPUT,
                        "ambulance-station",
                        names["task_input"]["ambulance-station"],
                    ),
                    "valueReference": ref(f"Location/{station.loc_id}", station.name),
                },
                {
                    "type": concept(
                        systems.TASK_INPUT, "distance-km", names["task_input"]["distance-km"]
                    ),
                    "valueDecimal": round(km, 2),
                },
                {
                    "type": concept(
                        systems.TASK_INPUT,
                        "response-minutes",
                        names["task_input"]["response-minutes"],
                    ),
                    "valueDecimal": response,
                },
            ],
        }
    )
    chart.truth.count("emergency-incidents")
    chart.truth.response_minutes.append(response)
    hospital = chart.hospital
    if rng.random() < kind["admit"]:
        admit(
            chart,
            hospital,
            kind["department"],
            reason,
            day,
            at_hospital + 60,
            reason={
                "refer_down": _data()["refer_down"],
                "imaging": kind.get("imaging"),
                "stays_active": kind.get("stays_active", False),
            },
            source="emd",
        )
        return
    doctor = hospital.doctor(rng, "20")
    enc = encounter(
        chart,
        "emergency",
        hospital,
        "20",
        day,
        at_hospital,
        cls="EMER",
        minutes=rng.randint(60, 240),
        reasons=[reason],
        practitioner=doctor,
    )
    if kind.get("imaging"):
        imaging(chart, kind["imaging"], hospital, enc, doctor, day, at_hospital + 30)
    condition(
        chart,
        reason[0],
        reason[1],
        day,
        enc=enc,
        recorder=doctor,
        resolved=day + timedelta(days=rng.randint(3, 20)),
    )
