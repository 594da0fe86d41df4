"""What the generated data is known to contain, written beside it as JSON.

Tests and benchmarks check the platform against it: which Patient records are the same person
(planted duplicates), where and when outbreaks were injected, which tests were repeated at
another institution inside their recognition window, how many referrals went up and down,
plus the population and prevalence figures the distribution tests use. docs/synthetic.md
describes every key.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date
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
        #: by the year the referral was made (county time): "<direction>/<status>", the
        #: requesting and receiving institutions, minutes to acceptance, days to the visit
        self.referral_years: dict[str, _ReferralYear] = defaultdict(_ReferralYear)
        self.events: Counter[str] = Counter()
        self.response_minutes: list[float] = []
        self.growth_faltering: list[str] = []
        self.resources: dict[str, int] = {}
        self.hashes: dict[str, str] = {}
        self.network: dict[str, int] = {}

    # ------------------------------------------------------------------ recording

    def count(self, name: str, n: int = 1) -> None:
        self.events[name] += n

    def referral(
        self,
        direction: str,
        status: str,
        reason: str,
        *,
        day: date,
        origin: str,
        target: str,
        accepted_after_minutes: int | None,
        visit_after_days: int | None,
    ) -> None:
        """One referral made on ``day`` from ``origin`` to ``target`` (``Organization/id``),
        accepted that many minutes after it was made (None: not accepted), with the visit at
        the receiving side (for a down-referral, the follow-up) that many days after the day
        it was made (None: no visit)."""
        self.referrals[f"{direction}/{status}"] += 1
        self.referral_reasons[f"{direction}/{reason}"] += 1
        year = self.referral_years[str(day.year)]
        year.by_status[f"{direction}/{status}"] += 1
        year.sent[direction][origin] += 1
        year.received[direction][target] += 1
        if accepted_after_minutes is not None:
            year.accepted_minutes.append(accepted_after_minutes)
        if direction == "down" and status != "cancelled":
            year.down_not_cancelled += 1
            if visit_after_days is not None:
                year.down_visit_after_days[visit_after_days] += 1

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
                "by_year": {
                    y: self.referral_years[y].to_dict() for y in sorted(self.referral_years)
                },
            },
            "emergency": {
                "incidents": self.events["emergency-incidents"],
                "response_minutes_median": minutes[len(minutes) // 2] if minutes else None,
                "response_within_12_minutes": sum(1 for m in minutes if m <= 12),
            },
            "growth_faltering": self.growth_faltering,
            "events": dict(sorted(self.events.items())),
        }


class _ReferralYear:
    """The referrals made in one year, as the referral KPIs count them."""

    def __init__(self) -> None:
        self.by_status: Counter[str] = Counter()
        self.sent: dict[str, Counter[str]] = defaultdict(Counter)
        self.received: dict[str, Counter[str]] = defaultdict(Counter)
        self.accepted_minutes: list[int] = []
        self.down_not_cancelled = 0
        self.down_visit_after_days: Counter[int] = Counter()

    def to_dict(self) -> dict[str, Any]:
        hours = [m / 60 for m in self.accepted_minutes]
        return {
            "by_status": dict(sorted(self.by_status.items())),
            "sent": {d: dict(sorted(c.items())) for d, c in sorted(self.sent.items())},
            "received": {d: dict(sorted(c.items())) for d, c in sorted(self.received.items())},
            "accepted": len(hours),
            "hours_to_acceptance_median": round(statistics.median(hours), 1) if hours else None,
            "down_follow_up": {
                "not_cancelled": self.down_not_cancelled,
                "visit_after_days": {
                    str(d): n for d, n in sorted(self.down_visit_after_days.items())
                },
            },
        }
