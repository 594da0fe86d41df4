"""The county's geography and care network, modelled on the Yiwu report."""

from __future__ import annotations

import base64
from collections import Counter

import orjson

from countyhealth.fhir import systems

from .conftest import County


def _codes(resource: dict, system: str) -> set[str]:
    return {
        c["code"] for cc in resource.get("type", []) for c in cc["coding"] if c["system"] == system
    }


def test_townships_villages_and_boundaries(county: County) -> None:
    locations = county.of("Location")
    townships = [loc for loc in locations if "township" in _codes(loc, systems.LOCATION_KIND)]
    villages = [
        loc for loc in locations if _codes(loc, systems.LOCATION_KIND) & {"village", "community"}
    ]
    assert len(townships) == 14
    assert 280 <= len(villages) <= 320
    for t in townships:
        ext = next(e for e in t["extension"] if e["url"] == systems.LOCATION_BOUNDARY_GEOJSON)
        polygon = orjson.loads(base64.b64decode(ext["valueAttachment"]["data"]))
        ring = polygon["coordinates"][0]
        assert polygon["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 5
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        assert min(lons) < t["position"]["longitude"] < max(lons)
        assert min(lats) < t["position"]["latitude"] < max(lats)


def test_institutions_follow_the_yiwu_pattern(county: County) -> None:
    orgs = county.of("Organization")
    levels = Counter(c for o in orgs for c in _codes(o, systems.FACILITY_LEVEL))
    kinds = Counter(c for o in orgs for c in _codes(o, systems.FACILITY_TYPE))
    assert levels["3A"] == 4
    assert levels["2A"] + levels["2B"] == 6
    tertiary = [o for o in orgs if "3A" in _codes(o, systems.FACILITY_LEVEL)]
    assert {"tcm", "children"} <= {c for o in tertiary for c in _codes(o, systems.FACILITY_TYPE)}
    assert kinds["health-centre"] == 14
    assert kinds["medical-community"] == 2
    assert 140 <= kinds["village-clinic"] <= 160  # about one per two villages
    assert {"health-bureau", "cdc", "emergency-centre"} <= set(kinds)
    groups = {o["id"] for o in orgs if "medical-community" in _codes(o, systems.FACILITY_TYPE)}
    leads = [
        o for o in tertiary if o.get("partOf", {}).get("reference", "").split("/")[-1] in groups
    ]
    assert len(leads) >= 2


def test_family_doctor_teams_and_stations(county: County) -> None:
    teams = county.of("CareTeam")
    assert len(teams) == 140
    stations = {
        loc["id"]
        for loc in county.of("Location")
        if "family-doctor-station" in _codes(loc, systems.LOCATION_KIND)
    }
    assert len(stations) == 140
    for team in teams:
        station = next(e for e in team["extension"] if e["url"] == systems.EXT_CARE_TEAM_STATION)
        assert station["valueReference"]["reference"].split("/")[1] in stations
        assert len(team["participant"]) >= 2
    signed = sum(1 for p in county.residents() if p.get("generalPractitioner"))
    assert 0.35 < signed / len(county.residents()) < 0.55  # Zhejiang target ≥ 42%


def test_staff_departments_and_emergency_assets(county: County) -> None:
    roles = county.of("PractitionerRole")
    assert len(roles) == len(county.of("Practitioner")) > 500
    titles = Counter(
        q["code"]["coding"][0]["code"]
        for p in county.of("Practitioner")
        for q in p["qualification"]
    )
    assert titles["VD"] > 100 and titles["231"] > 0
    services = county.of("HealthcareService")
    assert any(s["name"].endswith("发热门诊") for s in services)
    assert county.of("Device") and all(
        d["type"]["coding"][0]["code"] == "aed" for d in county.of("Device")
    )
    ambulance = [
        loc
        for loc in county.of("Location")
        if "ambulance-station" in _codes(loc, systems.LOCATION_KIND)
    ]
    assert len(ambulance) >= 6
