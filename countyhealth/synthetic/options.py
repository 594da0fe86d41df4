"""What to generate: the options of one synthetic county."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from . import datafiles


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, slots=True)
class SeedOptions:
    """Options of a synthetic county; the same options always give the same county.

    Attributes:
        residents: number of residents (duplicate registrations come on top).
        seed: the random seed; another seed gives another county.
        start: first day of the simulated period.
        years: length of the simulated period in years.
        county_name: name of the fictional county (ends in 县 or 市).
        county_code: six-digit administrative division code used in identity numbers.
        duplicate_share: share of residents registered a second time with errors.
        chunk_size: resources per Repository bulk write.
        patients_only: write the network and the Patient records only (with the planted
            duplicate registrations), no histories: the identity benchmarks' large indexes.
    """

    residents: int = 2000
    seed: int = 1
    start: date = date(2025, 1, 1)
    years: int = 1
    county_name: str = field(default_factory=lambda: datafiles.load("geography")["county_name"])
    county_code: str = field(default_factory=lambda: datafiles.load("regions")["county_code"])
    duplicate_share: float = 0.02
    chunk_size: int = 2000
    patients_only: bool = False

    def __post_init__(self) -> None:
        if self.residents < 1:
            raise ValueError("a county needs at least one resident")
        if not 1 <= self.years <= 30:
            raise ValueError("the period is 1–30 years")
        if not 0 <= self.duplicate_share <= 0.5:
            raise ValueError("the duplicate share is between 0 and 0.5")
        if len(self.county_code) != 6 or not self.county_code.isdigit():
            raise ValueError("the county code has six digits")
        if not self.county_name or self.county_name[-1] not in "县市区":
            raise ValueError("the county name ends in 县, 市 or 区")
        if not 1 <= self.chunk_size <= 10000:
            raise ValueError("the chunk size is 1–10000 resources")

    @property
    def end(self) -> date:
        """The day after the simulated period: the date ages and prevalences refer to."""
        return _add_years(self.start, self.years)

    @property
    def short_name(self) -> str:
        """The county name without its final 县/市/区 (青山县 → 青山)."""
        return self.county_name[:-1]
