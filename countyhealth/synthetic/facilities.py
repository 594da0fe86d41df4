"""Institutions of the county medical community, their sites and their departments.

Modelled on the Yiwu report (shared/seeds/000): four tertiary hospitals (two general, a TCM
and a children's hospital), six secondary hospitals, one health centre per township, village
clinics (one per two villages), the health bureau, the CDC, the 120 centre and the 医保
bureau; two 医共体 groups each led by a county hospital (data/facilities.json). Each
institution is an Organization with a Location; each department a HealthcareService.
"""

from __future__ import annotations

from typing import Any

from ..fhir import systems
from . import datafiles
from .fhirtypes import concept, ref
from .geography import County, Township, Village
from .network import Facility, Network
from .options import SeedOptions
from .rng import stream

_ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ROUND_THE_CLOCK = {"16", "20", "28"}
_SESSIONS = (("08:00:00", "11:30:00"), ("13:30:00", "17:00:00"))


def add_institutions(options: SeedOptions, county: County) -> Network:
    """Create the institutions and their departments; staff comes later (workforce.py)."""
    data = datafiles.load("facilities")
    codes = datafiles.load("codesystems")
    rng = stream(options.seed, "facilities")

    def named(template: str, **kw: str) -> str:
        return template.format(county=options.county_name, **kw)

    groups = {g["key"]: (f"org-{g['key']}", named(g["name"])) for g in data["groups"]}
    urban = [t for t in county.townships if t.kind == "subdistrict"]
    towns = sorted(
        (t for t in county.townships if t.kind != "subdistrict"),
        key=lambda t: len(t.villages),
        reverse=True,
    )
    hospitals: list[Facility] = []
    for i, h in enumerate(data["hospitals"]):
        if h["level"].startswith("3") or h["kind"] != "general":
            township = urban[i % len(urban)]
        else:  # the secondary general hospitals sit in the largest town of their group
            township = next(t for t in towns if t.group == h["group"])
        village = township.villages[rng.randrange(len(township.villages))]
        lon, lat = _near(rng, village)
        hospitals.append(
            Facility(
                h["key"],
                named(h["name"]),
                h["kind"],
                h["level"],
                lon,
                lat,
                group=h["group"],
                township=township,
                village=village,
                fever_clinic=h["fever_clinic"],
            )
        )
    primary = data["primary"]
    centres: list[Facility] = []
    for t in county.townships:
        template = {
            "subdistrict": primary["health_centre_subdistrict"],
            "town": primary["health_centre_town"],
            "township": primary["health_centre_township"],
        }[t.kind]
        village = min(
            t.villages, key=lambda v: (v.lon - t.centre[0]) ** 2 + (v.lat - t.centre[1]) ** 2
        )
        lon, lat = _near(rng, village)
        centres.append(
            Facility(
                f"thc-{t.index + 1:02d}",
                named(template, township=t.short),
                "health-centre",
                "primary",
                lon,
                lat,
                group=t.group,
                township=t,
                village=village,
                fever_clinic=t.index % primary["fever_sentinel_every_nth_health_centre"] == 0,
            )
        )
    clinics: list[Facility] = []
    clinic_of_village: dict[int, Facility] = {}
    step = primary["villages_per_clinic"]
    for t in county.townships:
        for k in range(0, len(t.villages), step):
            served = t.villages[k : k + step]
            home = served[0]
            template = primary[
                "community_station" if home.kind == "community" else "village_clinic"
            ]
            lon, lat = _near(rng, home)
            clinic = Facility(
                f"vc-{len(clinics) + 1:03d}",
                named(template, village=home.name),
                "village-clinic",
                "primary",
                lon,
                lat,
                group=t.group,
                township=t,
                village=home,
            )
            clinics.append(clinic)
            for v in served:
                clinic_of_village[v.index] = clinic
    seat = county.townships[urban[0].index] if urban else county.townships[0]
    public: dict[str, Facility] = {}
    for p in data["public"]:
        lon, lat = _near(rng, seat.villages[0])
        public[p["key"]] = Facility(
            p["key"],
            named(p["name"]),
            p["kind"],
            "1",
            lon,
            lat,
            township=seat,
            village=seat.villages[0],
        )
    insurers = [
        (f"org-{i['key']}", named(i["name"]), bool(i["international"])) for i in data["insurers"]
    ]
    network = Network(options, county, groups, hospitals, centres, clinics, public, insurers)
    network.clinic_of_village = clinic_of_village

    out = network.resources
    for org_id, name in groups.values():
        out.append(_organization(org_id, name, "medical-community", None, codes, county))
    for fac in public.values():
        out.append(_organization(fac.org_id, fac.name, fac.kind, None, codes, county))
        out.append(_site(fac, county, codes))
    for org_id, name, _ in insurers:
        out.append(_organization(org_id, name, "insurer", None, codes, county))
    sets = data["department_sets"]
    for h, spec in zip(hospitals, data["hospitals"], strict=True):
        out.append(
            _organization(
                h.org_id, h.name, h.kind, h.level, codes, county, groups[h.group or ""][0], h
            )
        )
        out.append(_site(h, county, codes))
        _departments(h, [d for d, _ in sets[spec["departments"]]], codes, out)
    for c in centres:
        out.append(
            _organization(
                c.org_id, c.name, c.kind, c.level, codes, county, groups[c.group or ""][0], c
            )
        )
        out.append(_site(c, county, codes))
        _departments(c, [d for d, _ in sets[primary["health_centre_departments"]]], codes, out)
    for clinic in clinics:
        assert clinic.township is not None
        parent = centres[clinic.township.index].org_id
        out.append(
            _organization(
                clinic.org_id, clinic.name, clinic.kind, clinic.level, codes, county, parent, clinic
            )
        )
        out.append(_site(clinic, county, codes))
        _departments(clinic, ["02"], codes, out)
    return network


def _near(rng: Any, village: Village) -> tuple[float, float]:
    return (
        round(village.lon + rng.uniform(-0.004, 0.004), 6),
        round(village.lat + rng.uniform(-0.003, 0.003), 6),
    )


def address(
    county: County, township: Township | None, village: Village | None, number: str = ""
) -> dict[str, Any]:
    """A Chinese address: province, county (district), township (city), village and number."""
    line = [village.name] if village else []
    if number:
        line.append(number)
    out: dict[str, Any] = {"use": "work", "type": "physical"}
    parts = [datafiles.load("regions")["province"], county.name]
    if township:
        parts.append(township.name)
    out["text"] = "".join(parts + line)
    if line:
        out["line"] = line
    if township:
        out["city"] = township.name
    out["district"] = county.name
    out["state"] = datafiles.load("regions")["province"]
    out["country"] = "CN"
    return out


def _organization(
    org_id: str,
    name: str,
    kind: str,
    level: str | None,
    codes: dict[str, Any],
    county: County,
    part_of: str | None = None,
    facility: Facility | None = None,
) -> dict[str, Any]:
    fhir_type = {
        "health-bureau": ("govt", "Government"),
        "insurance-bureau": ("govt", "Government"),
        "cdc": ("govt", "Government"),
        "insurer": ("ins", "Insurance Company"),
        "medical-community": ("prov", "Healthcare Provider"),
    }.get(kind, ("prov", "Healthcare Provider"))
    types = [
        concept(systems.ORGANIZATION_TYPE, fhir_type[0], fhir_type[1]),
        concept(systems.FACILITY_TYPE, kind, codes["facility_type"][kind]),
    ]
    if (
        level
        and level in codes["facility_level"]
        and kind not in ("health-bureau", "cdc", "emergency-centre", "insurance-bureau")
    ):
        types.append(concept(systems.FACILITY_LEVEL, level, codes["facility_level"][level]))
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org_id,
        "identifier": [
            {
                "system": systems.FACILITY_LICENCE,
                "value": f"{county.code}-{org_id.removeprefix('org-').upper()}",
            }
        ],
        "active": True,
        "type": types,
        "name": name,
    }
    if kind == "emergency-centre":
        org["telecom"] = [{"system": "phone", "value": "120", "use": "work"}]
    if facility is not None:
        org["address"] = [address(county, facility.township, facility.village)]
    if part_of:
        org["partOf"] = ref(f"Organization/{part_of}")
    return org


def _site(fac: Facility, county: County, codes: dict[str, Any]) -> dict[str, Any]:
    site: dict[str, Any] = {
        "resourceType": "Location",
        "id": f"loc-{fac.key}",
        "status": "active",
        "name": fac.name,
        "mode": "instance",
        "type": [concept(systems.LOCATION_KIND, "facility", codes["location_kind"]["facility"])],
        "address": address(county, fac.township, fac.village),
        "physicalType": concept(systems.LOCATION_PHYSICAL_TYPE, "bu", "Building"),
        "position": {"longitude": fac.lon, "latitude": fac.lat},
        "managingOrganization": ref(fac.org_ref, fac.name),
    }
    if fac.village is not None:
        site["partOf"] = ref(f"Location/{fac.village.id}", fac.village.name)
    return site


def _departments(
    fac: Facility, departments: list[str], codes: dict[str, Any], out: list[dict[str, Any]]
) -> None:
    names = codes["department"]
    for dept in departments:
        hs_id = f"hs-{fac.key}-{dept.replace('.', '')}"
        fac.services[dept] = hs_id
        out.append(
            _service(
                hs_id, fac, dept, f"{fac.name} {names[dept]}", names[dept], dept in _ROUND_THE_CLOCK
            )
        )
    if fac.fever_clinic:
        hs_id = f"hs-{fac.key}-fever"
        fac.services["fever"] = hs_id
        out.append(_service(hs_id, fac, "16", f"{fac.name} 发热门诊", names["16"], True))


def _service(
    hs_id: str, fac: Facility, dept: str, name: str, display: str, all_day: bool
) -> dict[str, Any]:
    # Outpatient sessions of Chinese public facilities: a morning and an afternoon session
    # with a midday break, Monday to Friday; round-the-clock departments never close.
    hours: list[dict[str, Any]] = (
        [{"daysOfWeek": _ALL_WEEK, "allDay": True}]
        if all_day
        else [
            {
                "daysOfWeek": _ALL_WEEK[:5],
                "availableStartTime": start,
                "availableEndTime": end,
            }
            for start, end in _SESSIONS
        ]
    )
    return {
        "resourceType": "HealthcareService",
        "id": hs_id,
        "active": True,
        "providedBy": ref(fac.org_ref, fac.name),
        "type": [concept(systems.DEPARTMENT, dept, display)],
        "location": [ref(fac.loc_ref, fac.name)],
        "name": name,
        "availableTime": hours,
    }
