"""The settlement engine: one visit's charges split among the payers the way the national 医保
platform reports a settlement (DOMAIN.md §1.3: 医疗费总额, 全自费, 超限价自费, 先行自付,
符合政策范围, 起付线, 统筹基金, 大病保险, 医疗救助, 个人账户, 个人现金), plus commercial
insurance (商保), with the person's running totals of the year before and after.

The steps, in order (:mod:`.steps` computes each amount; docs/billing.md explains them):

1. each line's amount is quantity × unit price, rounded; 丙类 items are 全自费, the part of a
   unit price above its 医保 limit is 超限价自费, a 乙类 item's 先行自付 share comes next, and
   the rest of the line is in scope (符合政策范围);
2. the in-scope amount first fills what is left of the 起付线 (outpatient: per year;
   inpatient: per admission, i.e. per settlement);
3. the fund (统筹基金) pays its ratio of the in-scope amount above it, within the year's caps;
4. 大病保险 pays by bands on the year's in-scope personal burden above its own deductible;
5. 医疗救助 pays its ratio of the in-scope burden still left, for eligible persons;
6. a commercial plan pays its ratio of the burden it covers, above its own deductible;
7. an employee's personal account (个人账户) pays what is left, as far as its balance goes;
8. the rest is cash (个人现金).

Every amount is a :class:`~decimal.Decimal` rounded by the policy's rule when it is computed;
per-line shares of each payer are the settlement's amount spread over the lines in proportion
(rounded down, the remaining fen to the largest remainders), so lines add up exactly.
The engine is pure: no storage, no clock; the caller brings the running totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any, TypeVar

from .engine_types import (
    ZERO,
    ChargeLine,
    Insured,
    LineSplit,
    SettlementError,
    Totals,
    VisitContext,
)
from .policy import LEVELS, SETTINGS, Policy, Rounding
from .steps import Layers, Split, classify, pay_layers

_T = TypeVar("_T", LineSplit, Totals)

__all__ = [
    "SPLIT_FIELDS",
    "ChargeLine",
    "Insured",
    "LineSplit",
    "Settlement",
    "SettlementError",
    "Totals",
    "VisitContext",
    "settle",
]


@dataclass(frozen=True, slots=True)
class Settlement:
    """The split of one settlement (all amounts in yuan, rounded by the policy's rule).

    ``total`` == ``fund + catastrophic + assistance + commercial + account + cash``;
    ``total`` == ``full_self_pay + over_limit_self_pay + pre_self_pay + in_scope``;
    ``deductible`` is the part of ``in_scope`` counted towards the 起付线 (the patient's).
    """

    total: Decimal  # 医疗费总额 medfee_sumamt
    full_self_pay: Decimal  # 全自费 fulamt_ownpay_amt
    over_limit_self_pay: Decimal  # 超限价自费 overlmt_selfpay
    pre_self_pay: Decimal  # 先行自付 preselfpay_amt
    in_scope: Decimal  # 符合政策范围 inscp_scp_amt
    deductible: Decimal  # 实际支付起付线 act_pay_dedc
    fund: Decimal  # 统筹基金 hifp_pay
    catastrophic: Decimal  # 大病保险 hifmi_pay (职工: hifob_pay)
    assistance: Decimal  # 医疗救助 maf_pay
    commercial: Decimal  # 商业保险 (direct billing)
    account: Decimal  # 个人账户 acct_pay
    cash: Decimal  # 个人现金 psn_cash_pay
    lines: tuple[LineSplit, ...]
    totals_before: Totals
    totals_after: Totals
    explain: list[str]
    #: The policy version used (``area/scheme/valid_from``); None for a self-pay person.
    policy_version: str | None
    fund_ratio: Decimal | None  # pool_prop_selfpay: the ratio the fund paid at
    commercial_plan: str | None

    @property
    def fund_total(self) -> Decimal:
        """基金支付总额 (fund_pay_sumamt): 统筹基金 + 大病保险 + 医疗救助."""
        return self.fund + self.catastrophic + self.assistance

    @property
    def personal_burden(self) -> Decimal:
        """个人负担总金额 (psn_part_amt) before commercial insurance: total − 基金支付总额."""
        return self.total - self.fund_total

    def increments(self) -> Totals:
        """What this settlement adds to the person's running totals of the year; a reversal
        subtracts it (:meth:`Totals.minus`)."""
        return self.totals_after.minus(self.totals_before)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (amounts as strings), e.g. to keep with the stored settlement."""
        amounts = {name: str(getattr(self, name)) for name in SPLIT_FIELDS}
        return {
            **amounts,
            "lines": [line.as_dict() for line in self.lines],
            "totals_before": self.totals_before.as_dict(),
            "totals_after": self.totals_after.as_dict(),
            "increments": self.increments().as_dict(),
            "explain": list(self.explain),
            "policy_version": self.policy_version,
            "fund_ratio": None if self.fund_ratio is None else str(self.fund_ratio),
            "commercial_plan": self.commercial_plan,
        }


#: The split amounts of a settlement, in the order of the national interface.
SPLIT_FIELDS = (
    "total",
    "full_self_pay",
    "over_limit_self_pay",
    "pre_self_pay",
    "in_scope",
    "deductible",
    "fund",
    "catastrophic",
    "assistance",
    "commercial",
    "account",
    "cash",
)


def settle(
    lines: Sequence[ChargeLine],
    insured: Insured,
    visit: VisitContext,
    totals: Totals,
    policy: Policy,
) -> Settlement:
    """Split the charges of one visit among the payers.

    Args:
        lines: the charges (any number, zero included; an empty list settles to zero).
        insured: the person's scheme, area, assistance category, account balance and plan.
        visit: outpatient or inpatient, the facility level, the day (its year is the
            insurance year of the running totals).
        totals: the person's running totals of that year before this settlement.
        policy: :func:`~countyhealth.billing.policy.policy_for` the person's area, scheme and
            the visit's day.

    Raises:
        SettlementError: a negative or non-finite quantity, price or balance, an unknown item
            class, setting or level, totals of another year or below zero, a policy of another
            area, scheme or day, an assistance category or commercial plan the policy does not
            know.
    """
    _check(lines, insured, visit, totals, policy)
    r = policy.rounding
    parts = [classify(line, policy, r) for line in lines]
    split = Split.of(parts)
    layers = pay_layers(split, insured, visit, totals, policy)
    explain = split.explain(policy) + layers.explain
    cash = split.total - layers.paid
    split_lines = tuple(_fen(line, r) for line in _line_split(parts, layers, r))
    basic = policy.basic
    return Settlement(
        total=r(split.total),
        full_self_pay=r(split.full_self_pay),
        over_limit_self_pay=r(split.over_limit_self_pay),
        pre_self_pay=r(split.pre_self_pay),
        in_scope=r(split.in_scope),
        deductible=r(layers.deductible),
        fund=r(layers.fund),
        catastrophic=r(layers.catastrophic),
        assistance=r(layers.assistance),
        commercial=r(layers.commercial),
        account=r(layers.account),
        cash=r(cash),
        lines=split_lines,
        totals_before=totals,
        totals_after=_fen(layers.totals_after, r),
        explain=[*explain, f"个人现金支付 {r(cash)} 元。"],
        policy_version=None if basic is None else basic.key,
        fund_ratio=None if basic is None else basic.fund_ratio[visit.setting][visit.facility_level],
        commercial_plan=insured.commercial_plan,
    )


def _line_split(parts: list[LineSplit], layers: Layers, r: Rounding) -> tuple[LineSplit, ...]:
    in_scope = [p.in_scope for p in parts]
    deductible = allocate(layers.deductible, in_scope, r)
    fund = allocate(layers.fund, [s - d for s, d in zip(in_scope, deductible, strict=True)], r)
    left = [s - f for s, f in zip(in_scope, fund, strict=True)]
    catastrophic = allocate(layers.catastrophic, left, r)
    left = [s - c for s, c in zip(left, catastrophic, strict=True)]
    assistance = allocate(layers.assistance, left, r)
    left = [s - a for s, a in zip(left, assistance, strict=True)]
    self_pay = [p.full_self_pay + p.over_limit_self_pay + p.pre_self_pay for p in parts]
    covered = [
        s + (o if layers.plan_covers_all else ZERO) for s, o in zip(left, self_pay, strict=True)
    ]
    commercial = allocate(layers.commercial, covered, r)
    personal = [
        p.amount - f - c - a - m
        for p, f, c, a, m in zip(parts, fund, catastrophic, assistance, commercial, strict=True)
    ]
    account = allocate(layers.account, personal, r)
    return tuple(
        replace(
            part,
            deductible=deductible[i],
            fund=fund[i],
            catastrophic=catastrophic[i],
            assistance=assistance[i],
            commercial=commercial[i],
            account=account[i],
            cash=personal[i] - account[i],
        )
        for i, part in enumerate(parts)
    )


def _fen(value: _T, r: Rounding) -> _T:
    """``value`` (a line split or totals) with every amount written to the quantum; the
    amounts are already multiples of it, so only their written form changes (0 → 0.00)."""
    changes: dict[str, Any] = {
        f.name: r(getattr(value, f.name))
        for f in fields(value)
        if isinstance(getattr(value, f.name), Decimal)
    }
    return replace(value, **changes)


def allocate(total: Decimal, capacities: list[Decimal], r: Rounding) -> list[Decimal]:
    """Spread ``total`` over lines in proportion to ``capacities`` (what each line can still
    take): each share rounded down to the quantum, the fen left over to the largest remainders
    (the earlier line on a tie), never beyond a line's capacity.
    """
    whole = sum(capacities, ZERO)
    if total == 0:
        return [ZERO] * len(capacities)
    if total > whole:
        raise SettlementError(f"cannot spread {total} over lines that take {whole}")
    shares = [total * c / whole for c in capacities]
    parts = [min(r.down(s), c) for s, c in zip(shares, capacities, strict=True)]
    left = total - sum(parts, ZERO)
    order = sorted(range(len(parts)), key=lambda i: (parts[i] - shares[i], i))
    while left > 0:
        moved = False
        for i in order:
            if left > 0 and parts[i] + r.quantum <= capacities[i]:
                parts[i] += r.quantum
                left -= r.quantum
                moved = True
        if not moved:
            raise SettlementError(f"cannot spread {left} more over the lines")
    return parts


def _check(
    lines: Sequence[ChargeLine],
    insured: Insured,
    visit: VisitContext,
    totals: Totals,
    policy: Policy,
) -> None:
    if visit.setting not in SETTINGS:
        raise SettlementError(f"unknown setting {visit.setting!r} ({', '.join(SETTINGS)})")
    if visit.facility_level not in LEVELS:
        raise SettlementError(f"unknown facility level {visit.facility_level!r}")
    if totals.year != visit.day.year:
        raise SettlementError(
            f"running totals of {totals.year} given for a visit on {visit.day} "
            "(totals are per person per calendar year)"
        )
    for f in fields(Totals):
        value = getattr(totals, f.name)
        if f.name != "year" and not (
            isinstance(value, Decimal) and value.is_finite() and value >= 0
        ):
            raise SettlementError(f"running total {f.name} {value!r} must be a Decimal >= 0")
    if insured.scheme != policy.scheme or (
        policy.basic is not None and insured.area != policy.area
    ):
        raise SettlementError(
            f"policy of {policy.area}/{policy.scheme} given for a person of "
            f"{insured.area}/{insured.scheme}"
        )
    if policy.day != visit.day:
        raise SettlementError(f"policy of {policy.day} given for a visit on {visit.day}")
    balance = insured.account_balance
    if not (isinstance(balance, Decimal) and balance.is_finite() and balance >= 0):
        raise SettlementError(f"account balance {balance!r} must be a Decimal >= 0")
    for n, line in enumerate(lines, start=1):
        line.check(n)
