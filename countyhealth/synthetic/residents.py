"""Residents: the people of a household with names, documents, insurance and conditions.

Residence status is decided per household (migrants and foreign residents live as families);
identity numbers follow GB 11643 and are unique (a counter per address code, birth date and
sex hands out sequence numbers with the right parity); newborns of the last weeks have no
number yet, as in life.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..fhir.identifiers import gb11643
from . import datafiles, prevalence
from .geography import Village
from .households import Household, Member
from .names import NameMaker, passport_number
from .network import Network, Station
from .rng import RecordKeys, Weighted, digest, step_value, stream

_PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
    "199",
)


@dataclass(slots=True)
class Resident:
    number: int
    key: str
    family: str
    given: str
    sex: str
    birth: date
    age: int
    village: Village
    household_id: str
    house_number: str
    role: str
    status: str  # registered, migrant, foreign
    region: str | None = None
    id_number: str | None = None
    country: dict[str, Any] | None = None
    passport: str | None = None
    phone: str | None = None
    marital: str | None = None
    health_card: str | None = None
    insurance: str | None = None  # insurance-type code of the basic insurance
    commercial: str | None = None  # Organization id of a commercial insurer
    conditions: dict[str, date] = field(default_factory=dict)
    station: Station | None = None
    mother: Resident | None = None

    @property
    def patient_id(self) -> str:
        return f"pat-{self.key}"

    @property
    def name_text(self) -> str:
        if self.status == "foreign":
            return f"{self.family.upper()} {self.given}"
        return self.family + self.given

    @property
    def is_chinese(self) -> bool:
        return self.status != "foreign"


def completed_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class ResidentFactory:
    """Turns households into residents; holds the counters that keep numbers unique."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.options = network.options
        self.names = NameMaker()
        self.count = 0
        self.keys = RecordKeys(network.options.seed)
        self.sequences: dict[tuple[str, date, str], int] = {}  # last sequence number handed out
        villages = network.county.villages
        self.villages: Weighted[Village] = Weighted(villages, [v.weight for v in villages])
        regions = datafiles.load("regions")
        self.in_province: Weighted[str] = Weighted.of(
            [(r["code"], r["weight"]) for r in regions["in_province"]]
        )
        self.origins: Weighted[str] = Weighted.of(
            [(r["code"], r["weight"]) for r in regions["migrant_origins"]]
        )
        pop = datafiles.load("population")
        self.residence = pop["residence"]
        self.marital = pop["marital"]
        self.documents = pop["documents"]
        self.insurance = pop["insurance"]
        self.contracting = datafiles.load("care")["contracting"]
        self.domestic_insurers = [i for i, _, intl in network.insurers if not intl]
        self.international_insurers = [i for i, _, intl in network.insurers if intl]

    def residents(self, household: Household, index: int) -> list[Resident]:
        """The residents of ``household`` (the ``index``-th of the county)."""
        seed = self.options.seed
        rng = stream(seed, "household-people", index)
        status = self._status(rng, household.head)
        village = self.villages.pick(rng)
        house = f"{rng.randint(1, 280)}号"
        household_id = f"hh-{digest(seed, 'household', index, length=12)}"
        origin = self.origins.pick(rng) if status == "migrant" else None
        country = self.names.countries.pick(rng) if status == "foreign" else None
        coupled = any(m.role == "spouse" for m in household.members)
        out: list[Resident] = []
        head: Resident | None = None
        mother: Resident | None = None
        for member in household.members:
            family = self._family_name(rng, member, status, country, head)
            resident = self._person(
                rng, member, status, village, house, household_id, origin, country, family
            )
            resident.marital = self._marital(rng, member, resident.age, coupled)
            if head is None:
                head = resident
            if (
                member.sex == "female"
                and member.role in ("self", "spouse")
                and len(household.members) > 1
            ):
                mother = resident
            if member.role == "child" and mother is not None:
                # a carer of a grandparent's age is not the mother
                gap = (resident.birth - mother.birth).days / 365.2425
                resident.mother = mother if 15 <= gap <= 50 else None
            out.append(resident)
        return out

    def _family_name(
        self,
        rng: random.Random,
        member: Member,
        status: str,
        country: dict[str, Any] | None,
        head: Resident | None,
    ) -> str:
        """Children (and a man's father) carry the family name of the head; others their own."""
        inherits = head is not None and (
            member.role == "child"
            or (member.role == "parent" and member.sex == "male" and head.sex == "male")
        )
        if country is not None:
            males, females = country["family_male"], country["family_female"]
            if inherits and head is not None and head.family in males:
                k = males.index(head.family)
                return males[k] if member.sex == "male" else females[k]
            return rng.choice(males if member.sex == "male" else females)
        if inherits and head is not None:
            return head.family
        return self.names.surname(rng, migrant=status == "migrant")

    def _status(self, rng: random.Random, head: Member) -> str:
        if rng.random() < self.residence["foreign_share"]:
            return "foreign"
        share = self.residence["migrant_household_share"]
        factor = step_value(self.residence["migrant_factor_by_head_age"], head.age)
        return "migrant" if rng.random() < share * factor else "registered"

    def _person(
        self,
        rng: random.Random,
        member: Member,
        status: str,
        village: Village,
        house: str,
        household_id: str,
        origin: str | None,
        country: dict[str, Any] | None,
        family: str,
    ) -> Resident:
        options = self.options
        end = options.end
        self.count += 1
        key = self.keys.next()
        birth = end - timedelta(days=int((member.age + rng.random()) * 365.2425) + 1)
        age = completed_years(birth, end)
        if country is not None:
            given = self.names.foreign(rng, country, member.sex)[1]
        else:
            given = self.names.given(rng, member.sex, birth.year)
        resident = Resident(
            self.count,
            key,
            family,
            given,
            member.sex,
            birth,
            age,
            village,
            household_id,
            house,
            member.role,
            status,
        )
        if status == "foreign":
            assert country is not None
            resident.country = country
            resident.passport = passport_number(rng, country["passport"])
        else:
            if status == "migrant":
                resident.region = origin
            elif (
                member.role in ("spouse", "parent")
                and rng.random() < self.residence["natives_born_elsewhere_in_province_share"]
            ):
                resident.region = self.in_province.pick(rng)
            else:
                resident.region = options.county_code
            docs = self.documents
            if (end - birth).days > docs["newborn_id_after_days"] or rng.random() < docs[
                "newborn_early_id_share"
            ]:
                resident.id_number = self._id_number(
                    rng, resident.region or options.county_code, birth, member.sex
                )
            if rng.random() < self.documents["e_health_card_share"] and resident.id_number:
                resident.health_card = digest(options.seed, "e-health-card", key, length=32).upper()
        docs = self.documents
        phone_share = docs["phone_share_from_80"] if age >= 80 else docs["phone_share"]
        if age >= docs["phone_from_age"] and rng.random() < phone_share:
            resident.phone = rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        resident.insurance, resident.commercial = self._insurance(rng, resident)
        resident.conditions = prevalence.assign(rng, birth, age, end)
        resident.station = self._contract(rng, resident)
        return resident

    def _marital(self, rng: random.Random, member: Member, age: int, coupled: bool) -> str | None:
        """v3 MaritalStatus: M in a couple, W/D for older people alone, S for the young."""
        if age < 18:
            return None
        if member.role == "spouse" or (member.role == "self" and coupled):
            return "M"
        rules = self.marital
        if age >= rules["widowed_if_single_from_age"]:
            return "W" if rng.random() < rules["widowed_share_of_older_singles"] else "D"
        if member.role == "child" or age < 30:
            return "S"
        return "S" if rng.random() < rules["never_married_share_of_singles_30_plus"] else "D"

    def _id_number(self, rng: random.Random, region: str, birth: date, sex: str) -> str:
        """A unique number: sequence numbers of one address code, date and sex step by two."""
        slot = (region, birth, sex)
        previous = self.sequences.get(slot)
        if previous is None:
            sequence = rng.randrange(0, 60) * 2 + (1 if sex == "male" else 0)
        else:
            sequence = (previous + 2) % 1000
        self.sequences[slot] = sequence
        return gb11643.build(region, birth, sequence)

    def _insurance(self, rng: random.Random, r: Resident) -> tuple[str | None, str | None]:
        """(basic insurance type, commercial insurer) after data/population.json ``insurance``."""
        rules = self.insurance
        if r.status == "foreign":
            insurer = self.international_insurers[rng.randrange(len(self.international_insurers))]
            roll = rng.random()
            if roll < rules["foreign_commercial_only"]:
                return None, insurer
            basic = (
                "310"
                if roll < rules["foreign_commercial_only"] + rules["foreign_employee"]
                else "390"
            )
            return basic, (
                insurer if rng.random() < rules["foreign_commercial_with_basic"] else None
            )
        if r.age < 18:
            basic = "390"
        elif r.age < 60:
            key = (
                "employee_share_18_59_migrants" if r.status == "migrant" else "employee_share_18_59"
            )
            basic = "310" if rng.random() < rules[key] else "390"
        else:
            basic = "310" if rng.random() < rules["employee_share_60_plus"] else "390"
        if r.status == "migrant" and rng.random() < rules["migrants_in_resident_scheme_share"]:
            basic = "390"
        commercial: str | None = None
        if rng.random() < rules["commercial_share"]:
            commercial = self.domestic_insurers[rng.randrange(len(self.domestic_insurers))]
        return basic, commercial

    def _contract(self, rng: random.Random, r: Resident) -> Station | None:
        c = self.contracting
        key = (
            r.age >= c["key_min_age"]
            or r.age <= c["key_max_child_age"]
            or any(n in r.conditions for n in ("hypertension", "diabetes"))
        )
        share = c["key_population_share"] if key else c["other_share"]
        if r.status == "foreign":
            share *= c["foreign_factor"]
        if rng.random() >= share:
            return None
        return self.network.station_of_village[r.village.index]
