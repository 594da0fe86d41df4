"""Pregnancies and births.

A child born during the period whose mother lives in the household gives the mother an
episode of pregnancy care: five antenatal visits on the basic public-health schedule, the
delivery at a county hospital, a postnatal home visit and the 42-day check
(data/maternity.json). The child's record gets its birth weight and a RelatedPerson for its
mother (what the birth "one thing" bundle needs). Facts both records share (hospital,
gestation, weight) come from one stream keyed by the child, so the two records agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from ...fhir import systems
from .. import datafiles
from ..fhirtypes import concept, ref, when
from ..network import Facility, Network
from ..patient import id_card_identifier
from ..residents import Resident
from ..rng import Weighted, int_between, stream
from .chart import Chart
from .profile import reading_bp
from .records import blood_pressure, encounter, vital


@dataclass(frozen=True, slots=True)
class BirthFacts:
    hospital: Facility
    weeks: int
    weight_g: int
    caesarean: bool
    stay_days: int


@cache
def _data() -> dict[str, Any]:
    return datafiles.load("maternity")


def birth_facts(network: Network, child: Resident) -> BirthFacts:
    """Where and how ``child`` was born (the same answer for the mother's and the child's record)."""
    rng = stream(network.options.seed, "birth", child.key)
    data = _data()
    births = datafiles.load("child_health")["birth"]
    hospital: str = Weighted.of(data["delivery_hospitals"]).pick(rng)
    preterm = rng.random() < births["preterm_share"]
    weeks = int_between(rng, births["preterm_weeks" if preterm else "gestation_weeks"])
    mean, sd = births["weight_g"]
    weight = round(rng.gauss(mean - (600 if preterm else 0), sd))
    return BirthFacts(
        network.hospital(hospital),
        weeks,
        max(1400, weight),
        rng.random() < data["caesarean_share"],
        int_between(rng, data["delivery_days"]),
    )


def birth_hospital(network: Network, child: Resident) -> Facility:
    return birth_facts(network, child).hospital


def pregnancies(chart: Chart, newborns: list[Resident]) -> None:
    """The pregnancy care of the mother of ``newborns`` (children born during the period)."""
    for child in newborns:
        _pregnancy(chart, child)


def _pregnancy(chart: Chart, child: Resident) -> None:
    rng = chart.rng
    data = _data()
    facts = birth_facts(chart.network, child)
    birth = child.birth
    conception = birth - timedelta(days=facts.weeks * 7)
    centre = chart.centre
    county = chart.network.hospital("h07")
    episode = chart.id("eoc")
    end = birth + timedelta(days=data["postnatal_check_days"])
    manager = centre.doctor(rng, "06", "02")
    period: dict[str, str] = {"start": (conception + timedelta(days=56)).isoformat()}
    if end < chart.end:
        period["end"] = end.isoformat()
    chart.add(
        {
            "resourceType": "EpisodeOfCare",
            "id": episode,
            "status": "finished" if end < chart.end else "active",
            "type": [concept(systems.SNOMED_CT, "77386006", "Pregnancy", "孕产期保健")],
            "patient": chart.subject,
            "managingOrganization": ref(centre.org_ref, centre.name),
            "period": period,
            "careManager": ref(f"PractitionerRole/{manager}"),
        }
    )
    weight = 55.0 + rng.gauss(0, 6)
    for low, high in data["antenatal_weeks"]:
        week = rng.randint(low, high)
        if week >= facts.weeks:
            continue
        day = conception + timedelta(days=week * 7)
        if not chart.in_period(day):
            continue
        at_county = rng.random() < data["antenatal_at_county_share"]
        fac, dept = (county, "05.02") if at_county else (centre, "06")
        doctor = fac.doctor(rng, dept, "05", "02")
        minute = chart.working_minute()
        enc = encounter(
            chart,
            "antenatal",
            fac,
            dept,
            day,
            minute,
            minutes=25,
            practitioner=doctor,
            episode=episode,
        )
        sbp, dbp = reading_bp(chart, day)
        blood_pressure(chart, enc, doctor, day, minute + 3, min(sbp, 135), min(dbp, 85))
        vital(chart, "weight", round(weight + week * 0.35, 1), enc, doctor, day, minute + 4)
        vital(chart, "gestational_age", week, enc, doctor, day, minute + 5)
    hospital = facts.hospital
    if chart.in_period(birth - timedelta(days=1)):
        obstetrician = hospital.doctor(rng, "05.02", "05")
        discharge = birth + timedelta(days=facts.stay_days)
        reason = ("O82", "经剖宫产术的单胎分娩") if facts.caesarean else ("O80", "单胎顺产")
        enc = encounter(
            chart,
            "delivery",
            hospital,
            hospital.department_of("05.02", "05"),
            birth - timedelta(days=1),
            rng.randint(600, 1300),
            cls="IMP",
            end_day=discharge,
            reasons=[reason],
            practitioner=obstetrician,
            episode=episode,
        )
        chart.add(
            {
                "resourceType": "Procedure",
                "id": chart.id("proc"),
                "status": "completed",
                "code": concept(
                    systems.SNOMED_CT,
                    "11466000" if facts.caesarean else "236973005",
                    "Cesarean section" if facts.caesarean else "Delivery procedure",
                    "剖宫产术" if facts.caesarean else "阴道分娩",
                ),
                "subject": chart.subject,
                "encounter": ref(f"Encounter/{enc}"),
                "performedDateTime": when(birth, rng.randint(0, 1439)),
                "performer": [{"actor": ref(f"PractitionerRole/{obstetrician}")}],
                "location": ref(hospital.loc_ref, hospital.name),
                "reasonCode": [concept(systems.ICD_10, reason[0], reason[1])],
            }
        )
        home_day = discharge + timedelta(days=int_between(rng, data["postnatal_visit_days"]))
        for day, home in ((home_day, True), (end, False)):
            if not chart.in_period(day):
                continue
            doctor = centre.doctor(rng, "06", "02")
            enc = encounter(
                chart,
                "postnatal",
                centre,
                "06",
                day,
                chart.working_minute(),
                cls="HH" if home else "AMB",
                minutes=30,
                practitioner=doctor,
                episode=episode,
            )
            sbp, dbp = reading_bp(chart, day)
            blood_pressure(chart, enc, doctor, day, 600, min(sbp, 135), min(dbp, 85))


def newborn(chart: Chart) -> None:
    """The child's side of a birth in the period: birth weight and the mother as RelatedPerson."""
    r = chart.resident
    if not (chart.options.start <= r.birth < chart.end):
        return
    facts = birth_facts(chart.network, r)
    hospital = facts.hospital
    nurse = hospital.nurse(chart.rng)
    minute = chart.rng.randint(0, 1439)
    vital(chart, "birth_weight", facts.weight_g, None, nurse, r.birth, minute, text="出生体重")
    chart.truth.count("births")
    mother = r.mother
    if mother is not None:
        chart.add(_mother(chart, mother))


def _mother(chart: Chart, mother: Resident) -> dict[str, Any]:
    """The mother as a RelatedPerson of the child, identified by her identity number."""
    person: dict[str, Any] = {"resourceType": "RelatedPerson", "id": chart.id("rp")}
    if mother.id_number:
        person["identifier"] = [id_card_identifier(mother.id_number)]
    person.update(
        {
            "active": True,
            "patient": chart.subject,
            "relationship": [concept(systems.V3_ROLE_CODE, "MTH", "mother", "母亲")],
            "name": [
                {
                    "use": "official",
                    "text": mother.name_text,
                    "family": mother.family,
                    "given": [mother.given],
                }
            ],
        }
    )
    if mother.phone:
        person["telecom"] = [{"system": "phone", "value": mother.phone, "use": "mobile"}]
    person["gender"] = "female"
    person["birthDate"] = mother.birth.isoformat()
    return person
