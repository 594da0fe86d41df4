"""Households whose members follow the county's age/sex pyramid.

Residents are drawn independently from the pyramid (data/population.json) in batches, so the
age and sex structure is exact in expectation; the batch is then assembled into households:
couples of similar age, children placed with a mother 20–42 years older, some older parents
living with an adult child, everyone else in a household of their own. Only the grouping is
modelled; no one is added or dropped, so grouping cannot distort the pyramid.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from . import datafiles
from .rng import Weighted, step_value, stream


@dataclass(slots=True)
class Member:
    age: int  # completed years at the end of the period
    sex: str
    role: str = "self"  # self, spouse, child, parent


@dataclass(slots=True)
class Household:
    members: list[Member] = field(default_factory=list)

    @property
    def head(self) -> Member:
        return self.members[0]


@dataclass(frozen=True, slots=True)
class Pyramid:
    ages: Weighted[tuple[int, float]]  # (age, share male)
    weight_by_age: dict[int, float]


@cache
def pyramid() -> Pyramid:
    """Single years of age with their weight and share of men, from the 5-year bands."""
    bands = datafiles.load("population")["age_bands"]
    items: list[tuple[int, float]] = []
    weights: list[float] = []
    by_age: dict[int, float] = {}
    for band in bands:
        span = band["to"] - band["from"] + 1
        male = band["sex_ratio"] / (100 + band["sex_ratio"])
        for age in range(band["from"], band["to"] + 1):
            items.append((age, male))
            weights.append(band["percent"] / span)
            by_age[age] = band["percent"] / span
    return Pyramid(Weighted(items, weights), by_age)


def _couple_probability(age: int) -> float:
    table = datafiles.load("population")["households"]["couple_probability_by_age"]
    return step_value(table, age)


def households(seed: int, residents: int) -> Iterator[Household]:
    """Households holding exactly ``residents`` people, batch by batch."""
    rules = datafiles.load("population")["households"]
    size = rules["batch_size"]
    done = 0
    batch = 0
    while done < residents:
        n = min(size, residents - done)
        yield from _assemble(stream(seed, "households", batch), n, rules)
        done += n
        batch += 1


def _assemble(rng: random.Random, n: int, rules: dict[str, object]) -> list[Household]:
    ages = pyramid().ages
    people = []
    for _ in range(n):
        age, male = ages.pick(rng)
        people.append(Member(age, "male" if rng.random() < male else "female"))

    # couples: men sorted by the age they look for in a wife, women by age
    men = [
        p
        for p in people
        if p.sex == "male" and p.age >= 22 and rng.random() < _couple_probability(p.age)
    ]
    women = [
        p
        for p in people
        if p.sex == "female" and p.age >= 20 and rng.random() < _couple_probability(p.age)
    ]
    gap = rules["husband_older_years"]
    assert isinstance(gap, dict)
    men.sort(key=lambda m: m.age - rng.gauss(gap["mean"], gap["sd"]))
    women.sort(key=lambda w: w.age)
    couples: list[Household] = []
    for husband, wife in zip(men, women, strict=False):
        wife.role = "spouse"
        couples.append(Household([husband, wife]))
    coupled = {id(p) for h in couples for p in h.members}
    singles = [p for p in people if id(p) not in coupled]

    limits = rules["mother_age_at_birth"]
    assert isinstance(limits, dict)
    low, high = int(limits["min"]), int(limits["max"])
    cap = int(rules["children_per_couple_max"])  # type: ignore[call-overload]
    at_home_until = int(rules["adult_children_living_at_home_until"])  # type: ignore[call-overload]
    at_home_share = float(rules["adult_children_at_home_share"])  # type: ignore[arg-type]
    by_mother_age: dict[int, list[Household]] = defaultdict(list)
    for h in couples:
        by_mother_age[h.members[1].age].append(h)
    mother_ages = sorted(by_mother_age)
    children = sorted(
        (
            p
            for p in singles
            if p.age < 18 or (p.age <= at_home_until and rng.random() < at_home_share)
        ),
        key=lambda p: p.age,
    )
    placed: set[int] = set()
    for child in children:
        start = bisect_left(mother_ages, child.age + low)
        candidates = [
            h
            for a in mother_ages[start:]
            if a <= child.age + high
            for h in by_mother_age[a]
            if sum(1 for m in h.members if m.role == "child") < cap
        ]
        if candidates:
            home = candidates[rng.randrange(len(candidates))]
            child.role = "child"
            home.members.append(child)
            placed.add(id(child))
    singles = [p for p in singles if id(p) not in placed]

    # minors left over live with a single adult of a parent's or grandparent's age
    out: list[Household] = list(couples)
    solo: list[Household] = []
    minors = [p for p in singles if p.age < 18]
    adults = [p for p in singles if p.age >= 18]
    for p in adults:
        solo.append(Household([p]))
    for child in minors:
        carers = [h for h in solo if 20 <= h.head.age - child.age <= 75] or out or solo
        if carers:
            child.role = "child"
            carers[rng.randrange(len(carers))].members.append(child)
        else:
            solo.append(Household([child]))

    # some older people without a spouse move in with a couple of their children's age
    share = float(rules["older_parents_living_with_child_share"])  # type: ignore[arg-type]
    keep: list[Household] = []
    for h in solo:
        p = h.head
        if len(h.members) == 1 and p.age >= 60 and rng.random() < share:
            hosts = [c for c in couples if 22 <= p.age - c.head.age <= 40]
            if hosts:
                p.role = "parent"
                hosts[rng.randrange(len(hosts))].members.append(p)
                continue
        keep.append(h)
    out.extend(keep)
    rng.shuffle(out)
    return out
