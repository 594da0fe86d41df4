"""What the generated data is known to contain, written beside it as JSON.

Tests and benchmarks check the platform against it: which Patient records are the same person
(planted duplicates), where and when outbreaks were injected, which tests were repeated at
another institution inside their recognition window, how many referrals went up and down,
plus the population and prevalence figures the distribution tests use. docs/synthetic.md
describes every key.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .options import SeedOptions

FORMAT_VERSION = 1


class GroundTruth:
    """Accumulates facts while the county is generated; memory grows only with what it lists."""

    def __init__(self, options: SeedOptions) -> None:
        self.options = options
        self.population: Counter[str] = Counter()
        self.age_groups: Counter[str] = Counter()
        self.prevalence: dict[str, dict[str, Any]] = {}
        self.duplicates: list[dict[str, Any]] = []
        self.outbreaks: list[dict[str, Any]] = []
        self.repeat_tests: list[dict[str, Any]] = []
        self.referrals: Counter[str] = Counter()
        self.referral_reasons: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.response_minutes: list[float] = []
        self.growth_faltering: list[str] = []
        self.resources: dict[str, int] = {}
        self.hashes: dict[str, str] = {}
        self.network: dict[str, int] = {}

    # ------------------------------------------------------------------ recording

    def count(self, name: str, n: int = 1) -> None:
        self.events[name] += n

    def referral(self, direction: str, status: str, reason: str) -> None:
        self.referrals[f"{direction}/{status}"] += 1
        self.referral_reasons[f"{direction}/{reason}"] += 1

    def outbreak_case(self, index: int, week: str, condition: str) -> None:
        entry = self.outbreaks[index]
        entry["cases"] += 1
        entry["cases_by_week"][week] = entry["cases_by_week"].get(week, 0) + 1
        entry["conditions"].append(f"Condition/{condition}")

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        up: dict[str, int] = defaultdict(int)
        for key, n in self.referrals.items():
            direction = key.split("/", 1)[0]
            up[direction] += n
        residents = self.population["residents"]
        minutes = sorted(self.response_minutes)
        return {
            "format": FORMAT_VERSION,
            "options": {
                "residents": o.residents,
                "seed": o.seed,
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "years": o.years,
                "county_name": o.county_name,
                "county_code": o.county_code,
                "duplicate_share": o.duplicate_share,
            },
            "resources": dict(sorted(self.resources.items())),
            "hashes": dict(sorted(self.hashes.items())),
            "network": dict(sorted(self.network.items())),
            "population": {
                **dict(sorted(self.population.items())),
                "age_groups": {k: self.age_groups[k] for k in sorted(self.age_groups)},
                "age_group_shares": {
                    k: round(self.age_groups[k] / residents, 4) for k in sorted(self.age_groups)
                }
                if residents
                else {},
            },
            "prevalence": {
                name: {
                    **entry,
                    "share": round(entry["cases"] / entry["denominator"], 4)
                    if entry["denominator"]
                    else None,
                }
                for name, entry in self.prevalence.items()
            },
            "duplicates": self.duplicates,
            "outbreaks": self.outbreaks,
            "repeat_tests": self.repeat_tests,
            "referrals": {
                "total": dict(sorted(up.items())),
                "by_status": dict(sorted(self.referrals.items())),
                "by_reason": dict(sorted(self.referral_reasons.items())),
            },
            "emergency": {
                "incidents": self.events["emergency-incidents"],
                "response_minutes_median": minutes[len(minutes) // 2] if minutes else None,
                "response_within_12_minutes": sum(1 for m in minutes if m <= 12),
            },
            "growth_faltering": self.growth_faltering,
            "events": dict(sorted(self.events.items())),
        }
