"""Who has which chronic condition, and since when (data/chronic.json).

The age gradient of each condition is scaled so that its expected share among residents of
the target age (at the end of the period) equals the target share over the county's pyramid;
onset dates spread over the years before the end, never before age 30 (or 18 for the young).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from . import datafiles
from .households import pyramid
from .rng import step_value


@dataclass(frozen=True, slots=True)
class ChronicRule:
    name: str
    icd10: str
    display: str
    snomed: str
    target_share: float
    min_age: int
    scale: float
    gradient: tuple[tuple[float, float], ...]
    managed: bool

    def probability(self, age: int) -> float:
        if age < 18:
            return 0.0
        return min(0.95, self.scale * step_value(self.gradient, age))


@cache
def rules() -> tuple[ChronicRule, ...]:
    """The chronic-condition rules, calibrated against the pyramid."""
    data = datafiles.load("chronic")["conditions"]
    weights = pyramid().weight_by_age
    out = []
    for name, spec in data.items():
        gradient = tuple((float(a), float(r)) for a, r in spec["relative_risk"])
        minimum = spec["target_min_age"]
        eligible = {a: w for a, w in weights.items() if a >= minimum}
        mean_rr = sum(w * step_value(gradient, a) for a, w in eligible.items()) / sum(
            eligible.values()
        )
        out.append(
            ChronicRule(
                name,
                spec["icd10"],
                spec["display"],
                spec["snomed"],
                spec["target_share"],
                minimum,
                spec["target_share"] / mean_rr,
                gradient,
                spec["managed"],
            )
        )
    return tuple(out)


def assign(rng: random.Random, birth: date, age: int, end: date) -> dict[str, date]:
    """Chronic conditions of a resident: name → onset date (all before ``end``)."""
    diag = datafiles.load("chronic")["diagnosis"]
    out: dict[str, date] = {}
    for rule in rules():
        if rng.random() >= rule.probability(age):
            continue
        earliest_age = diag["years_before_end"]["onset_not_before_age"] if age >= 35 else 18
        earliest = max(
            _years_after(birth, earliest_age),
            end - timedelta(days=365 * diag["years_before_end"]["max"]),
        )
        span = max(1, (end - earliest).days - 1)
        out[rule.name] = earliest + timedelta(days=rng.randrange(span))
    return out


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
