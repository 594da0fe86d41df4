"""The steps of a settlement (see :mod:`.engine` for the order), each an amount and a sentence
in Chinese that a resident can follow: first the lines are classified (全自费, 超限价自费,
先行自付, 符合政策范围), then each payer layer takes its part in turn."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from .engine_types import (
    ZERO,
    ChargeLine,
    Insured,
    LineSplit,
    SettlementError,
    Totals,
    VisitContext,
)
from .plans import CommercialPlan
from .policy import Catastrophic, Policy, Rounding, SchemePolicy

LEVEL_ZH = {"primary": "基层医疗机构", "secondary": "二级医院", "tertiary": "三级医院"}


def yuan(amount: Decimal) -> str:
    return f"{amount} 元"


def plain(amount: Decimal) -> str:
    """``50000.00`` → ``50000``, ``12.50`` → ``12.5``."""
    return f"{amount.normalize():f}"


def percent(share: Decimal) -> str:
    return f"{plain(share * 100)}%"


def classify(line: ChargeLine, policy: Policy, r: Rounding) -> LineSplit:
    """The line's amount and its self-pay and in-scope parts (payers come later).

    Without basic insurance the whole line is 全自费 (nothing is in scope). Otherwise a 丙类
    line is 全自费; of an 甲类 or 乙类 line, the units' price above the item's 医保 limit is
    超限价自费, and a 乙类 line's 先行自付 is the policy's share of what is left.
    """
    amount = r(line.quantity * line.unit_price)
    basic = policy.basic
    if basic is None or line.item_class == "C":
        return LineSplit(line, amount, amount, ZERO, ZERO, ZERO)
    limit = policy.limits.get(line.code)
    over = ZERO
    if limit is not None and line.unit_price > limit:
        over = min(amount, r(line.quantity * (line.unit_price - limit)))
    pre = r((amount - over) * basic.class_b_self_pay) if line.item_class == "B" else ZERO
    return LineSplit(line, amount, ZERO, over, pre, amount - over - pre)


@dataclass(frozen=True, slots=True)
class Split:
    """The classified sums of all lines."""

    total: Decimal
    full_self_pay: Decimal
    over_limit_self_pay: Decimal
    pre_self_pay: Decimal
    in_scope: Decimal
    lines: int

    @classmethod
    def of(cls, parts: list[LineSplit]) -> Split:
        def add(name: str) -> Decimal:
            return sum((getattr(p, name) for p in parts), ZERO)

        return cls(
            add("amount"),
            add("full_self_pay"),
            add("over_limit_self_pay"),
            add("pre_self_pay"),
            add("in_scope"),
            len(parts),
        )

    def explain(self, policy: Policy) -> list[str]:
        out = [f"本次医疗费用总额 {yuan(self.total)}（{self.lines} 项）。"]
        if policy.basic is None:
            out.append(f"未参加基本医疗保险，{yuan(self.total)}全部自费（全自费）。")
            return out
        if self.full_self_pay:
            out.append(
                f"丙类及医保目录外项目 {yuan(self.full_self_pay)}不在医保支付范围，"
                "由个人全部负担（全自费）。"
            )
        if self.over_limit_self_pay:
            out.append(
                f"单价超出医保限价的部分共 {yuan(self.over_limit_self_pay)}，"
                "由个人负担（超限价自费）。"
            )
        if self.pre_self_pay:
            out.append(
                f"乙类项目先由个人按 {percent(policy.basic.class_b_self_pay)} 自付 "
                f"{yuan(self.pre_self_pay)}（先行自付）。"
            )
        out.append(f"符合政策范围的费用 {yuan(self.in_scope)}。")
        return out


@dataclass(slots=True)
class Layers:
    """What each payer layer pays, the totals after, and the sentences saying why."""

    totals_after: Totals
    deductible: Decimal = ZERO
    fund: Decimal = ZERO
    catastrophic: Decimal = ZERO
    assistance: Decimal = ZERO
    commercial: Decimal = ZERO
    account: Decimal = ZERO
    plan_covers_all: bool = False
    explain: list[str] = field(default_factory=list)

    @property
    def paid(self) -> Decimal:
        """All but cash."""
        return self.fund + self.catastrophic + self.assistance + self.commercial + self.account


def pay_layers(
    split: Split, insured: Insured, visit: VisitContext, totals: Totals, policy: Policy
) -> Layers:
    """Run the payer layers in order: 起付线, 统筹基金, 大病保险, 医疗救助, 商保, 个人账户."""
    layers = Layers(totals)
    basic = policy.basic
    if basic is not None:
        _deductible(layers, split, basic, visit)
        _fund(layers, split, basic, visit, policy.rounding)
        if basic.catastrophic is not None and visit.setting in basic.catastrophic.settings:
            _catastrophic(layers, split, basic.catastrophic, policy.rounding)
        _assistance(layers, split, basic, insured, policy.rounding)
    if insured.commercial_plan is not None:
        plan = policy.plans.get(insured.commercial_plan)
        if plan is None:
            raise SettlementError(
                f"commercial plan {insured.commercial_plan!r} is not in force on {policy.day}"
            )
        _commercial(layers, split, plan, policy.rounding)
    if basic is not None and basic.personal_account:
        _account(layers, split, insured)
    return layers


def _remaining(cap: Decimal, used: Decimal) -> Decimal:
    return max(ZERO, cap - used)


def _deductible(layers: Layers, split: Split, basic: SchemePolicy, visit: VisitContext) -> None:
    full = basic.deductible(visit.setting, visit.facility_level)
    at = LEVEL_ZH[visit.facility_level]
    t = layers.totals_after
    if visit.setting == "outpatient":
        layers.deductible = min(split.in_scope, _remaining(full, t.deductible_paid))
        layers.totals_after = replace(t, deductible_paid=t.deductible_paid + layers.deductible)
        said = f"本年门诊起付线（{at}）{yuan(full)}，此前已计 {yuan(t.deductible_paid)}"
    else:
        layers.deductible = min(split.in_scope, full)
        said = f"本次住院起付线（{at}）{yuan(full)}"
    layers.explain.append(f"{said}，本次计入起付线 {yuan(layers.deductible)}，由个人负担。")


def _fund(
    layers: Layers, split: Split, basic: SchemePolicy, visit: VisitContext, r: Rounding
) -> None:
    share = basic.fund_ratio[visit.setting][visit.facility_level]
    base = split.in_scope - layers.deductible
    t = layers.totals_after
    room = _remaining(basic.annual_fund_cap, t.fund_paid)
    if visit.setting == "outpatient":
        room = min(room, _remaining(basic.outpatient_fund_cap, t.outpatient_fund_paid))
    due = r(base * share)
    layers.fund = min(due, room)
    layers.totals_after = replace(
        t,
        fund_paid=t.fund_paid + layers.fund,
        outpatient_fund_paid=t.outpatient_fund_paid
        + (layers.fund if visit.setting == "outpatient" else ZERO),
    )
    if base == 0:
        layers.explain.append("起付线以上没有符合政策范围的费用，统筹基金本次不支付。")
        return
    said = f"统筹基金按 {percent(share)} 支付起付线以上的 {yuan(base)}，应付 {yuan(due)}"
    if layers.fund < due:
        cap = "门诊统筹及" if visit.setting == "outpatient" else ""
        said += f"，本年{cap}统筹基金支付限额仅余 {yuan(room)}"
    layers.explain.append(f"{said}，实付 {yuan(layers.fund)}。")


def banded(cat: Catastrophic, before: Decimal, after: Decimal) -> Decimal:
    """大病保险 due, unrounded, when the year's burden rises from ``before`` to ``after``:
    each band's ratio of the part of the rise that falls in it (bands start above the
    deductible)."""
    low, high = max(ZERO, before - cat.deductible), max(ZERO, after - cat.deductible)
    due = ZERO
    for n, band in enumerate(cat.bands):
        top = cat.bands[n + 1].over if n + 1 < len(cat.bands) else None
        start = max(low, band.over)
        end = high if top is None else min(high, top)
        if end > start:
            due += (end - start) * band.ratio
    return due


def _catastrophic(layers: Layers, split: Split, cat: Catastrophic, r: Rounding) -> None:
    t = layers.totals_after
    burden = split.in_scope - layers.fund
    after = t.catastrophic_base + burden
    due = r(banded(cat, t.catastrophic_base, after))
    room = _remaining(cat.cap, t.catastrophic_paid)
    layers.catastrophic = min(due, room)
    layers.totals_after = replace(
        t, catastrophic_base=after, catastrophic_paid=t.catastrophic_paid + layers.catastrophic
    )
    said = f"大病保险：本年累计政策范围内个人负担 {yuan(after)}，起付线 {yuan(cat.deductible)}"
    if after <= cat.deductible:
        layers.explain.append(f"{said}，尚未超过，不支付。")
        return
    said += f"，超过部分按分段比例（{_bands(cat)}）应付 {yuan(due)}"
    if layers.catastrophic < due:
        said += f"，本年大病保险限额仅余 {yuan(room)}"
    layers.explain.append(f"{said}，实付 {yuan(layers.catastrophic)}。")


def _bands(cat: Catastrophic) -> str:
    """``起付线以上 0–50000 元 60%、50000 元以上 70%``."""
    out = []
    for n, band in enumerate(cat.bands):
        low = plain(band.over)
        if n + 1 < len(cat.bands):
            out.append(f"{low}–{plain(cat.bands[n + 1].over)} 元 {percent(band.ratio)}")
        else:
            out.append(f"{low} 元以上 {percent(band.ratio)}")
    return "起付线以上 " + "、".join(out)


def _assistance(
    layers: Layers, split: Split, basic: SchemePolicy, insured: Insured, r: Rounding
) -> None:
    if insured.assistance is None:
        return
    category = basic.assistance.get(insured.assistance)
    if category is None:
        raise SettlementError(
            f"medical assistance category {insured.assistance!r} is not in the policy "
            f"{basic.key} ({', '.join(basic.assistance) or 'none'})"
        )
    t = layers.totals_after
    left = split.in_scope - layers.fund - layers.catastrophic
    due = r(left * category.ratio)
    room = _remaining(category.cap, t.assistance_paid)
    layers.assistance = min(due, room)
    layers.totals_after = replace(t, assistance_paid=t.assistance_paid + layers.assistance)
    said = (
        f"医疗救助（{category.name}）按 {percent(category.ratio)} 支付政策范围内剩余个人负担 "
        f"{yuan(left)}，应付 {yuan(due)}"
    )
    if layers.assistance < due:
        said += f"，本年救助限额仅余 {yuan(room)}"
    layers.explain.append(f"{said}，实付 {yuan(layers.assistance)}。")


def _commercial(layers: Layers, split: Split, plan: CommercialPlan, r: Rounding) -> None:
    t = layers.totals_after
    in_scope_left = split.in_scope - layers.fund - layers.catastrophic - layers.assistance
    covered = in_scope_left
    what = "政策范围内个人负担"
    if plan.covers == "all":
        covered += split.full_self_pay + split.over_limit_self_pay + split.pre_self_pay
        what = "个人负担（含自费部分）"
    layers.plan_covers_all = plan.covers == "all"
    deductible = min(covered, _remaining(plan.deductible, t.commercial_deductible_paid))
    due = r((covered - deductible) * plan.ratio)
    room = _remaining(plan.cap, t.commercial_paid)
    layers.commercial = min(due, room)
    layers.totals_after = replace(
        t,
        commercial_deductible_paid=t.commercial_deductible_paid + deductible,
        commercial_paid=t.commercial_paid + layers.commercial,
    )
    said = f"商业保险（{plan.name}，直付）承担的{what}为 {yuan(covered)}"
    if deductible:
        said += f"，扣除本年免赔额 {yuan(deductible)}后"
    said += f"，按 {percent(plan.ratio)} 应付 {yuan(due)}"
    if layers.commercial < due:
        said += f"，本年保额仅余 {yuan(room)}"
    layers.explain.append(f"{said}，实付 {yuan(layers.commercial)}。")


def _account(layers: Layers, split: Split, insured: Insured) -> None:
    personal = split.total - layers.paid
    layers.account = min(personal, insured.account_balance)
    t = layers.totals_after
    layers.totals_after = replace(t, account_paid=t.account_paid + layers.account)
    layers.explain.append(
        f"个人账户（余额 {yuan(insured.account_balance)}）支付个人负担 {yuan(personal)}中的 "
        f"{yuan(layers.account)}。"
    )
