"""The values the settlement engine reads and writes: charge lines, the insured person, the
visit, the person's running totals of the year and the split of each line (see :mod:`.engine`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal("0")
ITEM_CLASSES = ("A", "B", "C")


class SettlementError(ValueError):
    """The engine was given something it cannot settle; the message says what."""


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One charge: ``quantity`` × ``unit_price`` of item ``code`` at ``organization``.

    ``item_class``: ``A`` 甲类, ``B`` 乙类, ``C`` 丙类 or outside the 医保 catalogues;
    ``ref`` (optional) names the ChargeItem, carried through to the line's split.
    """

    code: str
    name: str
    item_class: str
    quantity: Decimal
    unit_price: Decimal
    organization: str
    ref: str | None = None

    def check(self, n: int) -> None:
        """Raise :class:`SettlementError` unless the line can be settled (``n``: its number)."""
        where = f"line {n} ({self.code})"
        if self.item_class not in ITEM_CLASSES:
            raise SettlementError(f"{where}: unknown item class {self.item_class!r} (A, B or C)")
        for name in ("quantity", "unit_price"):
            value = getattr(self, name)
            if not (isinstance(value, Decimal) and value.is_finite() and value >= 0):
                raise SettlementError(f"{where}: {name} {value!r} must be a Decimal >= 0")


@dataclass(frozen=True, slots=True)
class Insured:
    """Who pays besides the patient.

    ``scheme``: ``employee`` (职工医保), ``resident`` (城乡居民医保) or None (no basic
    insurance: self-pay); ``area``: the 统筹区 code; ``assistance``: the 医疗救助 category
    code of the policy (e.g. ``destitute`` 特困, ``dibao`` 低保) or None; ``account_balance``:
    the 个人账户 balance before this settlement; ``commercial_plan``: a plan id or None.
    """

    scheme: str | None
    area: str
    assistance: str | None = None
    account_balance: Decimal = ZERO
    commercial_plan: str | None = None


@dataclass(frozen=True, slots=True)
class VisitContext:
    """``setting``: outpatient or inpatient; ``facility_level``: primary, secondary or
    tertiary; ``day``: the day of settlement, whose rules and insurance year apply."""

    setting: str
    facility_level: str
    day: date


@dataclass(frozen=True, slots=True)
class Totals:
    """A person's running totals of one insurance (calendar) year.

    Built by adding up :meth:`Settlement.increments` of the year's settlements that stand
    (a reversal subtracts its settlement's increments).
    """

    year: int
    #: 起付线 paid towards the year's outpatient deductible (inpatient ones are per admission).
    deductible_paid: Decimal = ZERO
    #: 统筹基金 paid, all settings (against the annual cap).
    fund_paid: Decimal = ZERO
    catastrophic_paid: Decimal = ZERO
    assistance_paid: Decimal = ZERO
    #: 统筹基金 paid for outpatient care (against the 门诊统筹 cap).
    outpatient_fund_paid: Decimal = ZERO
    #: The in-scope personal burden counted by 大病保险 (in-scope amount minus 统筹基金).
    catastrophic_base: Decimal = ZERO
    commercial_deductible_paid: Decimal = ZERO
    commercial_paid: Decimal = ZERO
    account_paid: Decimal = ZERO

    @classmethod
    def zero(cls, year: int) -> Totals:
        """Nothing settled yet in ``year``."""
        return cls(year)

    def plus(self, other: Totals) -> Totals:
        """Field by field sum (same year)."""
        return self._combine(other, 1)

    def minus(self, other: Totals) -> Totals:
        """Field by field difference (same year)."""
        return self._combine(other, -1)

    def _combine(self, other: Totals, sign: int) -> Totals:
        if other.year != self.year:
            raise SettlementError(f"totals of {other.year} cannot combine with {self.year}")
        values = {name: getattr(self, name) + sign * getattr(other, name) for name in AMOUNTS}
        return Totals(self.year, **values)

    def as_dict(self) -> dict[str, Any]:
        """``{"year": 2025, "fund_paid": "120.00", …}`` (amounts as strings)."""
        return {"year": self.year} | {name: str(getattr(self, name)) for name in AMOUNTS}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Totals:
        """The reverse of :meth:`as_dict`; a missing amount is zero.

        Raises:
            SettlementError: an unknown field, an amount that is not a decimal string.
        """
        unknown = sorted(raw.keys() - {"year", *AMOUNTS})
        if unknown:
            raise SettlementError(f"unknown running total {', '.join(unknown)}")
        values = {}
        for name in AMOUNTS:
            value = raw.get(name, "0")
            try:
                values[name] = Decimal(value) if isinstance(value, str) else Decimal("NaN")
            except InvalidOperation:
                values[name] = Decimal("NaN")
            if not values[name].is_finite():
                raise SettlementError(f"running total {name} {value!r} is not a decimal string")
        year = raw.get("year")
        if type(year) is not int:
            raise SettlementError(f"running totals year {year!r} must be a whole number")
        return cls(year, **values)


AMOUNTS = tuple(f.name for f in fields(Totals) if f.name != "year")


@dataclass(frozen=True, slots=True)
class LineSplit:
    """How one line's ``amount`` was split; its payers add up to it:
    ``amount == fund + catastrophic + assistance + commercial + account + cash`` and
    ``amount == full_self_pay + over_limit_self_pay + pre_self_pay + in_scope``."""

    line: ChargeLine
    amount: Decimal
    full_self_pay: Decimal
    over_limit_self_pay: Decimal
    pre_self_pay: Decimal
    in_scope: Decimal
    deductible: Decimal = ZERO
    fund: Decimal = ZERO
    catastrophic: Decimal = ZERO
    assistance: Decimal = ZERO
    commercial: Decimal = ZERO
    account: Decimal = ZERO
    cash: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        """The line's code, ref and amounts (as strings)."""
        amounts = {f.name: str(getattr(self, f.name)) for f in fields(self) if f.name != "line"}
        return {"code": self.line.code, "ref": self.line.ref, **amounts}
