"""The care network of the county as the histories see it: who is where, and who works there.

:func:`build_network` lays out the institutions (facilities.py), their staff and family-doctor
teams (workforce.py) and the emergency assets (ems.py); the result answers the questions a
resident's history asks (the village clinic of a village, the township health centre, the
county hospital of the group, a cardiologist there) and yields the structural resources.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from .geography import County, Township, Village
from .options import SeedOptions


@dataclass(slots=True)
class Facility:
    """A care institution with its site, departments and staff."""

    key: str
    name: str
    kind: str  # facility-type code
    level: str  # facility-level code
    lon: float
    lat: float
    group: str | None = None
    township: Township | None = None
    village: Village | None = None
    fever_clinic: bool = False
    services: dict[str, str] = field(default_factory=dict)  # department code → HealthcareService id
    doctors: dict[str, list[str]] = field(default_factory=dict)  # department → PractitionerRole ids
    nurses: list[str] = field(default_factory=list)

    @property
    def org_id(self) -> str:
        return f"org-{self.key}"

    @property
    def org_ref(self) -> str:
        return f"Organization/org-{self.key}"

    @property
    def loc_ref(self) -> str:
        return f"Location/loc-{self.key}"

    def doctor(self, rng: random.Random, *departments: str) -> str:
        """A PractitionerRole id of a doctor of the first of ``departments`` staffed here."""
        for dept in departments:
            roles = self.doctors.get(dept)
            if roles:
                return roles[rng.randrange(len(roles))]
        every = [r for roles in self.doctors.values() for r in roles]
        return every[rng.randrange(len(every))]

    def department_of(self, *departments: str) -> str:
        """The first of ``departments`` this facility has, else its first department."""
        for dept in departments:
            if dept in self.services:
                return dept
        return next(iter(self.services))

    def nurse(self, rng: random.Random) -> str:
        if self.nurses:
            return self.nurses[rng.randrange(len(self.nurses))]
        return self.doctor(rng)


@dataclass(slots=True)
class Station:
    """A family-doctor station (家医驿站) and the team that works from it."""

    index: int
    village: Village
    health_centre: Facility
    team_id: str = ""
    leader_role: str = ""
    members: list[str] = field(default_factory=list)

    @property
    def loc_id(self) -> str:
        return f"loc-fds-{self.index + 1:03d}"


@dataclass(slots=True)
class AmbulanceStation:
    loc_id: str
    name: str
    lon: float
    lat: float
    facility: Facility


@dataclass(slots=True)
class Network:
    options: SeedOptions
    county: County
    groups: dict[str, tuple[str, str]]  # key → (Organization id, name)
    hospitals: list[Facility]
    health_centres: list[Facility]  # one per township, same order
    clinics: list[Facility]
    public: dict[str, Facility]
    insurers: list[tuple[str, str, bool]]  # (Organization id, name, international)
    clinic_of_village: dict[int, Facility] = field(default_factory=dict)
    stations: list[Station] = field(default_factory=list)
    station_of_village: dict[int, Station] = field(default_factory=dict)
    ambulance_stations: list[AmbulanceStation] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)

    def hospital(self, key: str) -> Facility:
        for h in self.hospitals:
            if h.key == key:
                return h
        raise KeyError(key)

    def lead_hospital(self, township: Township) -> Facility:
        """The county hospital that leads the 医共体 of ``township``."""
        lead = "h01" if township.group == "ich-1" else "h02"
        return self.hospital(lead)

    def health_centre(self, township: Township) -> Facility:
        return self.health_centres[township.index]

    def fever_site(self, township: Township) -> Facility:
        """The nearest fever clinic: the township's sentinel clinic or the group's hospital."""
        centre = self.health_centre(township)
        return centre if centre.fever_clinic else self.lead_hospital(township)

    def nearest_ambulance(self, lon: float, lat: float) -> tuple[AmbulanceStation, float]:
        """The closest ambulance station and its distance in kilometres."""
        best = min(self.ambulance_stations, key=lambda s: distance_km(lon, lat, s.lon, s.lat))
        return best, distance_km(lon, lat, best.lon, best.lat)


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def build_network(options: SeedOptions, county: County) -> Network:
    """Lay out the institutions, staff, teams and emergency assets of ``county``."""
    from .ems import add_emergency_assets
    from .facilities import add_institutions
    from .workforce import add_workforce

    network = add_institutions(options, county)
    add_workforce(network)
    add_emergency_assets(network)
    return network
