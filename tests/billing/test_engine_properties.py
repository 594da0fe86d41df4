"""Invariants of the settlement engine over generated bills, people and running totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from countyhealth.billing.engine import ChargeLine, Insured, Totals, VisitContext, settle
from countyhealth.billing.engine_types import AMOUNTS
from countyhealth.billing.policy import LEVELS, SETTINGS, policy_for
from countyhealth.billing.prices import price_catalogue
from tests.billing.test_engine import assert_invariants

AREA = "339001"
CODES = sorted({i.code for i in price_catalogue().items})


def money(top: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, top * 100).map(lambda fen: Decimal(fen) / 100)


@st.composite
def bills(draw: st.DrawFn) -> tuple[list[ChargeLine], Insured, VisitContext, Totals]:
    day = draw(st.dates(date(2024, 1, 1), date(2025, 12, 31)))
    scheme = draw(st.sampled_from(["employee", "resident", None]))
    assistance = None
    if scheme is not None:
        assistance = draw(st.sampled_from([None, "destitute", "dibao", "dibao-edge"]))
    plan = draw(st.sampled_from([None, "ins-1-supplement", "ins-2-huimin", "ins-3-global"]))
    insured = Insured(scheme, AREA, assistance, draw(money(3000)), plan)
    lines = []
    for code in draw(st.lists(st.sampled_from(CODES), max_size=8)):
        item = price_catalogue().item(code, day)
        assert item is not None
        quantity = draw(st.integers(0, 4000).map(lambda q: Decimal(q) / 100))
        price = draw(st.one_of(st.just(item.price), money(20000)))
        lines.append(ChargeLine(code, item.name, item.item_class, quantity, price, "org-x"))
    totals = Totals(day.year, **{name: draw(money(500000)) for name in AMOUNTS})
    visit = VisitContext(draw(st.sampled_from(SETTINGS)), draw(st.sampled_from(LEVELS)), day)
    return lines, insured, visit, totals


@settings(max_examples=300, deadline=None)
@given(bills())
def test_every_settlement_keeps_the_invariants(
    bill: tuple[list[ChargeLine], Insured, VisitContext, Totals],
) -> None:
    lines, insured, visit, totals = bill
    policy = policy_for(AREA, insured.scheme, visit.day)
    s = settle(lines, insured, visit, totals, policy)
    assert_invariants(s)
    assert settle(lines, insured, visit, totals, policy) == s
    basic = policy.basic
    if basic is None:
        assert s.full_self_pay == s.total and s.fund == s.deductible == s.account == 0
        return
    if s.fund:
        assert s.totals_after.fund_paid <= basic.annual_fund_cap
    if s.fund and visit.setting == "outpatient":
        assert s.totals_after.outpatient_fund_paid <= basic.outpatient_fund_cap
    if s.catastrophic:
        assert basic.catastrophic is not None
        assert s.totals_after.catastrophic_paid <= basic.catastrophic.cap
    if s.assistance:
        assert insured.assistance is not None
        assert s.totals_after.assistance_paid <= basic.assistance[insured.assistance].cap
    if not basic.personal_account:
        assert s.account == 0
    assert s.account <= insured.account_balance
    if visit.setting == "outpatient":
        assert s.totals_after.deductible_paid <= max(
            totals.deductible_paid, basic.deductible("outpatient", visit.facility_level)
        )


@settings(max_examples=150, deadline=None)
@given(bills())
def test_settling_in_two_parts_never_pays_the_deductible_twice(
    bill: tuple[list[ChargeLine], Insured, VisitContext, Totals],
) -> None:
    """Two outpatient settlements in a row, the second with the totals after the first, count
    no more deductible in all than the year's deductible of the level allows."""
    lines, insured, visit, _ = bill
    if insured.scheme is None or visit.setting != "outpatient":
        return
    policy = policy_for(AREA, insured.scheme, visit.day)
    assert policy.basic is not None
    start = Totals.zero(visit.day.year)
    half = len(lines) // 2
    first = settle(lines[:half], insured, visit, start, policy)
    second = settle(lines[half:], insured, visit, first.totals_after, policy)
    full = policy.basic.deductible("outpatient", visit.facility_level)
    assert first.deductible + second.deductible <= full
    assert second.totals_after.deductible_paid == first.deductible + second.deductible
