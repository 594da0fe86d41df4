"""Outbreaks injected into the county: which disease, which township, which weeks.

Planned once per county from data/infectious.json ``outbreaks``: a template's season gives
the month, the seed gives the year, the first Monday and the township (weighted by
population, as outbreaks need people). While residents are
generated, those of the township in the template's age range fall ill with the attack rate
during the outbreak weeks; the ground truth lists the cases by ISO week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from . import datafiles
from .geography import County, Township
from .ground_truth import GroundTruth
from .options import SeedOptions
from .rng import Weighted, stream


@dataclass(frozen=True, slots=True)
class Outbreak:
    index: int
    disease: str
    icd10: str
    display: str
    township: Township
    first_day: date
    weeks: int
    ages: tuple[int, int]
    attack_rate: float
    setting: str

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=7 * self.weeks - 1)

    def iso_weeks(self) -> list[str]:
        return [iso_week(self.first_day + timedelta(days=7 * k)) for k in range(self.weeks)]


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def plan_outbreaks(options: SeedOptions, county: County, truth: GroundTruth) -> list[Outbreak]:
    """Choose the outbreaks of this county and register them in the ground truth."""
    data = datafiles.load("infectious")
    rng = stream(options.seed, "outbreaks")
    templates: list[dict[str, Any]] = data["outbreaks"]["templates"]
    count = min(data["outbreaks"]["count"], len(templates))
    chosen = rng.sample(templates, count)
    populated: Weighted[Township] = Weighted(
        county.townships, [sum(v.weight for v in t.villages) for t in county.townships]
    )
    out: list[Outbreak] = []
    for t in chosen:
        first = _first_day(rng, options, t)
        if first is None:
            continue
        disease = data["diseases"][t["disease"]]
        township = populated.pick(rng)
        ob = Outbreak(
            len(out),
            t["disease"],
            disease["icd10"],
            disease["display"],
            township,
            first,
            t["weeks"],
            (t["ages"][0], t["ages"][1]),
            t["attack_rate"],
            t["setting"],
        )
        out.append(ob)
        truth.outbreaks.append(
            {
                "disease": ob.disease,
                "icd10": ob.icd10,
                "display": ob.display,
                "township": {"reference": f"Location/{township.id}", "name": township.name},
                "setting": ob.setting,
                "ages": list(ob.ages),
                "first_day": ob.first_day.isoformat(),
                "last_day": ob.last_day.isoformat(),
                "weeks": ob.iso_weeks(),
                "attack_rate": ob.attack_rate,
                "cases": 0,
                "cases_by_week": {},
                "conditions": [],
            }
        )
    return out


def _first_day(rng: Any, options: SeedOptions, template: dict[str, Any]) -> date | None:
    """A Monday in the template's season with the whole outbreak inside the period."""
    for _ in range(100):
        year = rng.randint(options.start.year, options.end.year)
        month = rng.choice(template["months"])
        day = date(year, month, rng.randint(1, 28))
        day -= timedelta(days=day.weekday())
        if day >= options.start and day + timedelta(days=7 * template["weeks"]) <= options.end:
            return day
    return None
