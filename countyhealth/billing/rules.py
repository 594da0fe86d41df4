"""The dated rules of credit-based care (信用就医, ``data/credit_care.json``): within how many
days a visit closed unpaid must be paid, and how much cash a person may owe on such visits.

The file names its sources and says which values are a county's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from ..policy_data import day_field, read_json

DATA = Path(__file__).resolve().parent / "data" / "credit_care.json"


class CreditRulesError(ValueError):
    """The credit-care file is unusable; the message names the version at fault."""


@dataclass(frozen=True, slots=True)
class CreditRules:
    """One version: pay within ``pay_within_days`` of closing; owe at most ``credit_ceiling``."""

    effective: date
    pay_within_days: int
    credit_ceiling: Decimal


def _version(raw: Any, index: int) -> CreditRules:
    where = f"credit_care.json versions[{index}]"
    if not isinstance(raw, dict):
        raise CreditRulesError(f"{where}: must be an object")
    days = raw.get("pay_within_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise CreditRulesError(f"{where}: pay_within_days must be a whole number of 1 to 366")
    ceiling = raw.get("credit_ceiling")
    try:
        amount = Decimal(ceiling) if isinstance(ceiling, str) else None
    except InvalidOperation:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount < 0
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise CreditRulesError(f"{where}: credit_ceiling must be money as a string, e.g. '1000.00'")
    return CreditRules(day_field(raw, "effective", where, CreditRulesError), days, amount)


@cache
def _versions() -> tuple[CreditRules, ...]:
    data = read_json(DATA, "credit-care rules", CreditRulesError)
    if not isinstance(data, dict) or not data.get("sources"):
        raise CreditRulesError("credit_care.json names no source")
    found = sorted(
        (_version(v, i) for i, v in enumerate(data.get("versions") or [])),
        key=lambda r: r.effective,
    )
    if not found or len({r.effective for r in found}) != len(found):
        raise CreditRulesError("credit_care.json: no versions, or two share an effective date")
    return tuple(found)


def credit_rules(on: date) -> CreditRules:
    """The version of the credit-care rules in force on ``on``."""
    current = [r for r in _versions() if r.effective <= on]
    if not current:
        raise CreditRulesError(f"no credit-care rules in force on {on.isoformat()}")
    return current[-1]
