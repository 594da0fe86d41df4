"""FHIR resources of residents: Patient, Coverage and the household Group."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..fhir import systems
from . import datafiles
from .fhirtypes import coding, concept, geolocation, ref
from .network import Network
from .residents import Resident

_MARITAL = {"M": "Married", "S": "Never Married", "W": "Widowed", "D": "Divorced"}
_NI = concept(systems.V2_IDENTIFIER_TYPE, "NI", "National unique individual identifier")
_PPN = concept(systems.V2_IDENTIFIER_TYPE, "PPN", "Passport number")
_MR = concept(systems.V2_IDENTIFIER_TYPE, "MR", "Medical record number")


def id_card_identifier(value: str) -> dict[str, Any]:
    return {"use": "official", "type": _NI, "system": systems.ID_CARD, "value": value}


def mrn_identifier(org_id: str, value: str) -> dict[str, Any]:
    return {"use": "usual", "type": _MR, "system": systems.mrn_system(org_id), "value": value}


def home_address(r: Resident, county_name: str) -> dict[str, Any]:
    """The resident's home address with the house position (geolocation extension)."""
    v = r.village
    province = datafiles.load("regions")["province"]
    jitter_lon = (int(r.household_id[-4:], 16) / 65535 - 0.5) * 0.004
    jitter_lat = (int(r.household_id[-8:-4], 16) / 65535 - 0.5) * 0.003
    return {
        "extension": [geolocation(v.lon + jitter_lon, v.lat + jitter_lat)],
        "use": "home",
        "type": "physical",
        "text": f"{province}{county_name}{v.township.name}{v.name}{r.house_number}",
        "line": [v.name, r.house_number],
        "city": v.township.name,
        "district": county_name,
        "state": province,
        "country": "CN",
    }


def patient(r: Resident, network: Network) -> dict[str, Any]:
    """The Patient resource of a resident, registered at the township health centre."""
    centre = network.health_centre(r.village.township)
    status_names = datafiles.load("codesystems")["residence_status"]
    extensions: list[dict[str, Any]] = [
        {
            "url": systems.EXT_RESIDENCE_STATUS,
            "valueCoding": coding(systems.RESIDENCE_STATUS, r.status, status_names[r.status]),
        }
    ]
    identifiers: list[dict[str, Any]] = []
    if r.id_number:
        identifiers.append(id_card_identifier(r.id_number))
    if r.passport and r.country:
        extensions.append(
            {
                "url": systems.PATIENT_NATIONALITY,
                "extension": [
                    {
                        "url": "code",
                        "valueCodeableConcept": concept(systems.ISO_3166, r.country["alpha2"]),
                    }
                ],
            }
        )
        identifiers.append(
            {
                "use": "official",
                "type": _PPN,
                "system": systems.passport_system(r.country["alpha3"]),
                "value": r.passport,
            }
        )
    if r.health_card:
        identifiers.append(
            {"use": "usual", "system": systems.E_HEALTH_CARD, "value": r.health_card}
        )
    identifiers.append(mrn_identifier(centre.org_id, f"{centre.key[-2:]}{r.number:08d}"))
    name: dict[str, Any] = {
        "use": "official",
        "text": r.name_text,
        "family": r.family,
        "given": [r.given],
    }
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": r.patient_id,
        "extension": extensions,
        "identifier": identifiers,
        "active": True,
        "name": [name],
    }
    if r.phone:
        resource["telecom"] = [{"system": "phone", "value": r.phone, "use": "mobile"}]
    resource["gender"] = r.sex
    resource["birthDate"] = r.birth.isoformat()
    resource["address"] = [home_address(r, network.county.name)]
    if r.marital:
        resource["maritalStatus"] = concept(
            systems.V3_MARITAL_STATUS, r.marital, _MARITAL[r.marital]
        )
    if r.station is not None:
        resource["generalPractitioner"] = [ref(f"PractitionerRole/{r.station.leader_role}")]
    resource["managingOrganization"] = ref(centre.org_ref, centre.name)
    return resource


def coverages(r: Resident, network: Network) -> list[dict[str, Any]]:
    """Basic medical insurance and commercial cover of a resident."""
    options = network.options
    names = datafiles.load("codesystems")["insurance_type"]
    since = max(r.birth, date(options.start.year - 5, 1, 1)).isoformat()
    out: list[dict[str, Any]] = []
    if r.insurance:
        number = f"{options.county_code}{r.number:010d}"
        out.append(
            {
                "resourceType": "Coverage",
                "id": f"cov-{r.key}-1",
                "identifier": [{"system": systems.INSURANCE_PERSON_NUMBER, "value": number}],
                "status": "active",
                "type": concept(systems.INSURANCE_TYPE, r.insurance, names[r.insurance]),
                "subscriberId": number,
                "beneficiary": ref(f"Patient/{r.patient_id}"),
                "relationship": concept(systems.COVERAGE_RELATIONSHIP, "self", "Self"),
                "period": {"start": since},
                "payor": [ref(network.public["hsb"].org_ref, network.public["hsb"].name)],
                "order": 1,
            }
        )
    if r.commercial:
        out.append(
            {
                "resourceType": "Coverage",
                "id": f"cov-{r.key}-2",
                "identifier": [
                    {
                        "system": systems.COMMERCIAL_POLICY,
                        "value": f"P{options.seed % 100:02d}{r.number:09d}",
                    }
                ],
                "status": "active",
                "type": concept(systems.INSURANCE_TYPE, "commercial", names["commercial"]),
                "beneficiary": ref(f"Patient/{r.patient_id}"),
                "relationship": concept(systems.COVERAGE_RELATIONSHIP, "self", "Self"),
                "period": {"start": max(r.birth, options.start).isoformat()},
                "payor": [ref(f"Organization/{r.commercial}")],
                "order": 2 if r.insurance else 1,
            }
        )
    return out


def household_group(members: list[Resident], index: int) -> dict[str, Any]:
    """The household (户) as a Group of its members' Patients."""
    head = members[0]
    return {
        "resourceType": "Group",
        "id": head.household_id,
        "identifier": [{"system": systems.HOUSEHOLD, "value": f"{head.village.code}{index:08d}"}],
        "active": True,
        "type": "person",
        "actual": True,
        "code": concept(
            systems.GROUP_KIND,
            "household",
            datafiles.load("codesystems")["group_kind"]["household"],
        ),
        "name": f"{head.name_text}户",
        "quantity": len(members),
        "member": [{"entity": ref(f"Patient/{m.patient_id}", m.name_text)} for m in members],
    }
