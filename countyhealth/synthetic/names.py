"""Chinese and foreign personal names (data/names.json, data/foreign.json).

Surnames follow published national frequencies for migrants and a Zhejiang-tilted table for
residents registered in the county; given names use characters typical of the birth cohort.
The homophone and look-alike tables feed the planted duplicate registrations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import datafiles
from .rng import Weighted


@dataclass(frozen=True, slots=True)
class _Cohort:
    born_before: int
    single_share: float
    male: str
    female: str


class NameMaker:
    """Draws names; build once and reuse (tables are precomputed)."""

    def __init__(self) -> None:
        data = datafiles.load("names")
        rows = data["surnames"]
        self.local: Weighted[str] = Weighted([r[0] for r in rows], [r[2] for r in rows])
        self.national: Weighted[str] = Weighted([r[0] for r in rows], [r[1] for r in rows])
        self.cohorts = [
            _Cohort(c["born_before"], c["single_share"], c["male"], c["female"])
            for c in data["given"]["cohorts"]
        ]
        countries = datafiles.load("foreign")["countries"]
        self.countries: Weighted[dict[str, Any]] = Weighted(
            countries, [c["weight"] for c in countries]
        )

    def surname(self, rng: random.Random, *, migrant: bool = False) -> str:
        return (self.national if migrant else self.local).pick(rng)

    def given(self, rng: random.Random, sex: str, birth_year: int) -> str:
        cohort = next(c for c in self.cohorts if birth_year < c.born_before)
        chars = cohort.male if sex == "male" else cohort.female
        first = chars[rng.randrange(len(chars))]
        if rng.random() < cohort.single_share:
            return first
        if sex == "female" and rng.random() < 0.03:
            return first + first  # 婷婷, 欣欣
        second = first
        while second == first:
            second = chars[rng.randrange(len(chars))]
        return first + second

    def foreign(self, rng: random.Random, country: dict[str, Any], sex: str) -> tuple[str, str]:
        """(family, given) of a resident from ``country`` (a data/foreign.json entry)."""
        family = rng.choice(country["family_male" if sex == "male" else "family_female"])
        given = rng.choice(country["given_male" if sex == "male" else "given_female"])
        return family, given


def passport_number(rng: random.Random, pattern: str) -> str:
    """A number of the given shape: ``A`` a capital letter, ``9`` a digit."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(
        rng.choice(letters) if ch == "A" else (str(rng.randrange(10)) if ch == "9" else ch)
        for ch in pattern
    )


@cache
def _pairs(table: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in datafiles.load("names")[table]["pairs"]:
        a, b = pair[0], pair[1]
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return out


def homophones() -> dict[str, list[str]]:
    """Character → characters read alike (both directions)."""
    return _pairs("homophones")


def lookalikes() -> dict[str, list[str]]:
    """Character → characters that look alike (both directions)."""
    return _pairs("lookalikes")
