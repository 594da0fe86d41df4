"""The dated rules of two-way referral (``data/referral_workflow.json``).

How long the consent given at referral lasts, when an unanswered referral escalates, within
how many days a down-referral must be followed up, which departments take referrals and what
the summary carries all come from the version of the rules in force on the day in question;
the file names its sources and says which values are modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import orjson

DATA = Path(__file__).resolve().parent / "data" / "referral_workflow.json"


class ReferralRulesError(ValueError):
    """The rules file is not usable; the message names the version at fault."""


@dataclass(frozen=True, slots=True)
class ReferralRules:
    effective: date
    consent_days: int
    escalate_after_hours: dict[str, int]
    follow_up_within_days: int
    first_follow_up_due_days: int
    hold_slot_within_days: int
    medical_community_type: str
    receiving_down_facility_types: tuple[str, ...]
    receiving_up_facility_types: tuple[str, ...]
    departments_not_taking_referrals: frozenset[str]
    summary_counts: dict[str, int]
    summary_lookback_days: int

    def escalate_after(self, priority: str) -> int:
        """Hours after which a referral of ``priority`` not yet accepted escalates."""
        return self.escalate_after_hours.get(priority, self.escalate_after_hours["routine"])


def _version(entry: dict[str, Any], index: int) -> ReferralRules:
    where = f"referral_workflow.json versions[{index}]"
    try:
        hours = {str(k): int(v) for k, v in entry["escalate_after_hours"].items()}
        summary = dict(entry["summary"])
        rules = ReferralRules(
            effective=date.fromisoformat(entry["effective"]),
            consent_days=int(entry["consent_days"]),
            escalate_after_hours=hours,
            follow_up_within_days=int(entry["follow_up_within_days"]),
            first_follow_up_due_days=int(entry["follow_up_due_days"]["first"]),
            hold_slot_within_days=int(entry["hold_slot_within_days"]),
            medical_community_type=str(entry["medical_community_type"]),
            receiving_down_facility_types=tuple(entry["receiving_down_facility_types"]),
            receiving_up_facility_types=tuple(entry["receiving_up_facility_types"]),
            departments_not_taking_referrals=frozenset(entry["departments_not_taking_referrals"]),
            summary_counts={
                k: int(summary[k]) for k in ("conditions", "observations", "medications")
            },
            summary_lookback_days=int(summary["lookback_days"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReferralRulesError(f"{where}: {exc!r}") from exc
    if "routine" not in hours:
        raise ReferralRulesError(f"{where}: escalate_after_hours needs a 'routine' entry")
    if not 1 <= rules.consent_days <= 3660 or rules.follow_up_within_days < 1:
        raise ReferralRulesError(f"{where}: consent_days or follow_up_within_days out of range")
    return rules


@cache
def _versions() -> tuple[ReferralRules, ...]:
    data = orjson.loads(DATA.read_bytes())
    if not data.get("sources"):
        raise ReferralRulesError("referral_workflow.json names no source")
    found = sorted(
        (_version(e, i) for i, e in enumerate(data["versions"])), key=lambda r: r.effective
    )
    if len({r.effective for r in found}) != len(found):
        raise ReferralRulesError("referral_workflow.json: two versions share an effective date")
    return tuple(found)


def referral_rules(on: date) -> ReferralRules:
    """The version of the rules in force on ``on``."""
    current = [r for r in _versions() if r.effective <= on]
    if not current:
        raise ReferralRulesError(f"no referral rules in force on {on.isoformat()}")
    return current[-1]
