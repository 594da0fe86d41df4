"""Staff of the network: practitioners with titles and roles, and the family-doctor teams.

Every department gets the doctors data/facilities.json gives it plus its nurses; a township
health centre has at least one general practitioner per family-doctor station of its
township, because each station's team is led by one of them (with a public-health nurse of
the centre and the village doctor of the station's village as members).
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from ..fhir import systems
from . import datafiles
from .fhirtypes import coding, concept, concepts, ref
from .names import NameMaker
from .network import Facility, Network, Station, distance_km
from .rng import Weighted, stream


class _Staffing:
    def __init__(self, network: Network) -> None:
        self.network = network
        self.rng = stream(network.options.seed, "workforce")
        self.names = NameMaker()
        self.codes = datafiles.load("codesystems")
        self.data = datafiles.load("facilities")
        self.titles = {
            k: Weighted(list(v), list(v.values()))
            for k, v in self.data["title_weights"].items()
            if k != "notes"
        }
        self.count = 0
        self.end_year = network.options.end.year

    def person(
        self, fac: Facility, dept: str | None, title: str, role: str, care_role: str | None
    ) -> str:
        """Add one Practitioner with one PractitionerRole; returns the role id."""
        rng = self.rng
        self.count += 1
        n = self.count
        staff = self.data["staff"]
        kind = "nurse" if role == "nurse" else ("village-doctor" if title == "VD" else "doctor")
        sex = "female" if rng.random() < staff["female_share"][kind] else "male"
        low, high = staff["age_by_title"].get(title, staff["age_by_title"]["nurse"])
        age = rng.randint(low, high)
        born = date(self.end_year - age, rng.randint(1, 12), rng.randint(1, 28))
        family = self.names.surname(rng)
        given = self.names.given(rng, sex, born.year)
        prac_id, role_id = f"prac-{n:04d}", f"role-{n:04d}"
        title_name = self.codes["professional_title"][title]
        self.network.resources.append(
            {
                "resourceType": "Practitioner",
                "id": prac_id,
                "identifier": [
                    {
                        "system": systems.PRACTITIONER_LICENCE,
                        "value": f"{self.network.options.county_code}{born.year % 100:02d}{n:07d}",
                    }
                ],
                "active": True,
                "name": [
                    {"use": "official", "text": family + given, "family": family, "given": [given]}
                ],
                "gender": sex,
                "birthDate": born.isoformat(),
                "qualification": [{"code": concept(systems.PROFESSIONAL_TITLE, title, title_name)}],
            }
        )
        codes = [
            concept(systems.PRACTITIONER_ROLE, role, "Doctor" if role == "doctor" else "Nurse")
        ]
        if care_role:
            codes.append(concept(systems.CARE_ROLE, care_role, self.codes["care_role"][care_role]))
        practitioner_role: dict[str, Any] = {
            "resourceType": "PractitionerRole",
            "id": role_id,
            "active": True,
            "practitioner": ref(f"Practitioner/{prac_id}", family + given),
            "organization": ref(fac.org_ref, fac.name),
            "code": codes,
            "location": [ref(fac.loc_ref, fac.name)],
        }
        if dept is not None:
            practitioner_role["specialty"] = [
                concepts(coding(systems.DEPARTMENT, dept, self.codes["department"][dept]))
            ]
            if dept in fac.services:
                practitioner_role["healthcareService"] = [
                    ref(f"HealthcareService/{fac.services[dept]}")
                ]
        self.network.resources.append(practitioner_role)
        return role_id

    def department(
        self, fac: Facility, dept: str, doctors: int, level: str, care_role: str | None = None
    ) -> None:
        roles = fac.doctors.setdefault(dept, [])
        for _ in range(doctors):
            title = self.titles[level].pick(self.rng)
            roles.append(self.person(fac, dept, title, "doctor", care_role))
        for _ in range(self.data["nurses_per_department"]):
            fac.nurses.append(
                self.person(fac, dept, self.titles["nurse"].pick(self.rng), "nurse", None)
            )


def add_workforce(network: Network) -> None:
    """Staff every institution and form one family-doctor team per station."""
    staff = _Staffing(network)
    data = staff.data
    sets = data["department_sets"]
    _place_stations(network, staff.rng)
    for h, spec in zip(network.hospitals, data["hospitals"], strict=True):
        level = h.level if h.level in staff.titles else "2B"
        for dept, doctors in sets[spec["departments"]]:
            staff.department(h, dept, doctors, level)
    per_township = {t.index: 0 for t in network.county.townships}
    for s in network.stations:
        per_township[s.village.township.index] += 1
    for c in network.health_centres:
        assert c.township is not None
        for dept, doctors in sets[data["primary"]["health_centre_departments"]]:
            if dept == "02":
                doctors = max(doctors, per_township[c.township.index])
            care = {"02": "family-doctor", "01": "public-health"}.get(dept)
            staff.department(c, dept, doctors, "primary", care)
    low, high = data["primary"]["village_doctors_per_clinic"]
    for v in network.clinics:
        roles = v.doctors.setdefault("02", [])
        for _ in range(staff.rng.randint(low, high)):
            roles.append(staff.person(v, "02", "VD", "doctor", "village-doctor"))
    for key, care in (("cdc", "public-health"), ("ems", "dispatcher")):
        fac = network.public[key]
        spec = next(p for p in data["public"] if p["key"] == key)
        roles = fac.doctors.setdefault("01" if key == "cdc" else "20", [])
        for _ in range(spec["staff"]):
            roles.append(
                staff.person(fac, None, staff.titles["primary"].pick(staff.rng), "doctor", care)
            )
    _form_teams(network, staff)


def _place_stations(network: Network, rng: random.Random) -> None:
    """Spread the family-doctor stations over townships by village count, one per village."""
    total = datafiles.load("facilities")["primary"]["family_doctor_stations"]
    townships = network.county.townships
    villages = len(network.county.villages)
    shares = [total * len(t.villages) / villages for t in townships]
    counts = [max(1, int(s)) for s in shares]
    for k in sorted(range(len(shares)), key=lambda k: -(shares[k] - int(shares[k]))):
        if sum(counts) >= total:
            break
        counts[k] += 1
    for t, n in zip(townships, counts, strict=True):
        sites = rng.sample(t.villages, min(n, len(t.villages)))
        centre = network.health_centre(t)
        for v in sorted(sites, key=lambda v: v.index):
            network.stations.append(Station(len(network.stations), v, centre))
    for v in network.county.villages:
        own = [s for s in network.stations if s.village.township is v.township]
        network.station_of_village[v.index] = min(
            own, key=lambda s: distance_km(v.lon, v.lat, s.village.lon, s.village.lat)
        )


def _form_teams(network: Network, staff: _Staffing) -> None:
    codes = staff.codes
    seen: dict[int, int] = {}
    for s in network.stations:
        centre = s.health_centre
        t = s.village.township
        k = seen.get(t.index, 0)
        seen[t.index] = k + 1
        gps = centre.doctors["02"]
        s.leader_role = gps[k % len(gps)]
        s.members = [centre.nurses[k % len(centre.nurses)]]
        clinic = network.clinic_of_village.get(s.village.index)
        if clinic is not None:
            s.members.append(clinic.doctors["02"][0])
        s.team_id = f"team-{s.index + 1:03d}"
        station_name = datafiles.load("facilities")["primary"]["family_doctor_station"].format(
            village=s.village.name
        )
        lon = round(s.village.lon + staff.rng.uniform(-0.002, 0.002), 6)
        lat = round(s.village.lat + staff.rng.uniform(-0.002, 0.002), 6)
        network.resources.append(
            {
                "resourceType": "Location",
                "id": s.loc_id,
                "status": "active",
                "name": station_name,
                "mode": "instance",
                "type": [
                    concept(
                        systems.LOCATION_KIND,
                        "family-doctor-station",
                        codes["location_kind"]["family-doctor-station"],
                    )
                ],
                "physicalType": concept(systems.LOCATION_PHYSICAL_TYPE, "bu", "Building"),
                "position": {"longitude": lon, "latitude": lat},
                "managingOrganization": ref(centre.org_ref, centre.name),
                "partOf": ref(f"Location/{s.village.id}", s.village.name),
            }
        )
        hs_id = f"hs-fds-{s.index + 1:03d}"
        network.resources.append(
            {
                "resourceType": "HealthcareService",
                "id": hs_id,
                "active": True,
                "providedBy": ref(centre.org_ref, centre.name),
                "type": [concept(systems.DEPARTMENT, "02", codes["department"]["02"])],
                "location": [ref(f"Location/{s.loc_id}", station_name)],
                "name": f"{station_name} 家庭医生签约服务",
            }
        )
        participants = [
            {
                "role": [
                    concept(systems.CARE_ROLE, "team-leader", codes["care_role"]["team-leader"])
                ],
                "member": ref(f"PractitionerRole/{s.leader_role}"),
            }
        ] + [
            {
                "role": [
                    concept(systems.CARE_ROLE, "team-member", codes["care_role"]["team-member"])
                ],
                "member": ref(f"PractitionerRole/{m}"),
            }
            for m in s.members
        ]
        network.resources.append(
            {
                "resourceType": "CareTeam",
                "id": s.team_id,
                "extension": [
                    {
                        "url": systems.EXT_CARE_TEAM_STATION,
                        "valueReference": ref(f"Location/{s.loc_id}", station_name),
                    }
                ],
                "status": "active",
                "name": f"{t.name}第{k + 1}家庭医生团队",
                "participant": participants,
                "managingOrganization": [ref(centre.org_ref, centre.name)],
            }
        )
