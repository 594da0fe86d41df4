"""The settlement engine against the hand-computed cases of settlement_cases.json, exactly
(Decimal equality), and its invariants over generated bills."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from countyhealth.billing.engine import (
    SPLIT_FIELDS,
    ChargeLine,
    Insured,
    Settlement,
    SettlementError,
    Totals,
    VisitContext,
    allocate,
    settle,
)
from countyhealth.billing.engine_types import AMOUNTS
from countyhealth.billing.policy import Rounding, policy_for
from countyhealth.billing.prices import price_item

CASES = json.loads((Path(__file__).parent / "settlement_cases.json").read_text(encoding="utf-8"))[
    "cases"
]
AREA = "339001"
LINE_AMOUNTS = (
    "amount",
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


def charge(code: str, quantity: str, day: date, organization: str = "org-test") -> ChargeLine:
    item = price_item(code, day)
    assert item is not None, f"{code} has no price on {day}"
    return ChargeLine(
        code, item.name, item.item_class, Decimal(quantity), item.price, organization, f"ci-{code}"
    )


def run(case: dict[str, Any]) -> Settlement:
    v = case["visit"]
    day = date.fromisoformat(v["day"])
    i = case["insured"]
    insured = Insured(
        i["scheme"], i["area"], i["assistance"], Decimal(i["account_balance"]), i["commercial_plan"]
    )
    totals = Totals.from_dict({"year": day.year, **case["totals_before"]})
    lines = [charge(line["code"], line["quantity"], day) for line in case["lines"]]
    visit = VisitContext(v["setting"], v["facility_level"], day)
    return settle(lines, insured, visit, totals, policy_for(i["area"], i["scheme"], day))


def test_at_least_thirty_cases_each_with_its_working() -> None:
    assert len(CASES) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert len(case["working"]) > 40, case["id"]
        assert set(case["expected"]) == set(SPLIT_FIELDS), case["id"]


def test_the_cases_cover_each_scheme_level_and_setting() -> None:
    seen = {
        (c["insured"]["scheme"], c["visit"]["setting"], c["visit"]["facility_level"]) for c in CASES
    }
    for scheme in ("employee", "resident"):
        for setting in ("outpatient", "inpatient"):
            for level in ("primary", "secondary", "tertiary"):
                assert (scheme, setting, level) in seen
    for field in ("catastrophic", "assistance", "commercial", "account", "over_limit_self_pay"):
        assert any(Decimal(c["expected"][field]) > 0 for c in CASES), field


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hand_computed_case(case: dict[str, Any]) -> None:
    s = run(case)
    got = {name: getattr(s, name) for name in SPLIT_FIELDS}
    assert got == {name: Decimal(value) for name, value in case["expected"].items()}
    year = int(case["visit"]["day"][:4])
    assert s.totals_after == Totals.from_dict({"year": year, **case["expected_totals_after"]})
    for line, expected in zip(s.lines, case.get("expected_lines", []), strict=False):
        assert line.line.code == expected["code"]
        for name in LINE_AMOUNTS:
            assert getattr(line, name) == Decimal(expected.get(name, "0")), (line.line.code, name)
    assert_invariants(s)


def test_refund_then_resettle_leaves_the_totals_as_before() -> None:
    """Reversing the original and settling what remains gives the same totals as settling the
    remainder in the first place; reversing that too gives the totals before both."""
    original = run(_case("REFUND-01-ORIGINAL"))
    remainder = run(_case("REFUND-01-REMAINDER"))
    before = original.totals_before
    after_refund = original.totals_after.minus(original.increments()).plus(remainder.increments())
    assert after_refund == remainder.totals_after
    assert after_refund.minus(remainder.increments()) == before
    assert original.total - remainder.total == Decimal("180.00")


def test_explain_tells_each_step_in_chinese() -> None:
    s = run(_case("COM-FULL-STACK-01"))
    text = "".join(s.explain)
    for word in ("总额", "全自费", "先行自付", "符合政策范围", "起付线", "统筹基金", "大病保险"):
        assert word in text
    for word in ("医疗救助（低保对象）", "商业保险", "个人账户", "个人现金支付 238.41 元"):
        assert word in text
    assert s.explain[-1] == "个人现金支付 238.41 元。"
    uninsured = run(_case("SELF-PAY-01"))
    assert "未参加基本医疗保险" in "".join(uninsured.explain)


def test_settlement_records_its_policy_and_round_trips_its_totals() -> None:
    s = run(_case("E-IN-T-CAT-01"))
    assert s.policy_version == "339001/employee/2025-01-01"
    assert s.fund_ratio == Decimal("0.85")
    record = s.as_dict()
    assert record["fund"] == "17578.00" and record["catastrophic"] == "2031.40"
    assert Totals.from_dict(record["totals_after"]) == s.totals_after
    assert Totals.from_dict(record["increments"]) == s.increments()
    assert record["lines"][0]["ref"] == "ci-BED-ICU"
    assert s.personal_burden == s.total - s.fund - s.catastrophic - s.assistance


def _case(case_id: str) -> dict[str, Any]:
    return next(c for c in CASES if c["id"] == case_id)


DAY = date(2025, 6, 1)


def _simple(insured: Insured, totals: Totals | None = None, **visit: Any) -> Settlement:
    v = VisitContext(visit.get("setting", "outpatient"), visit.get("level", "primary"), DAY)
    return settle(
        [charge("CONS-PRIMARY", "1", DAY)],
        insured,
        v,
        totals or Totals.zero(2025),
        policy_for(AREA, insured.scheme, DAY),
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (ChargeLine("X", "x", "A", Decimal("-1"), Decimal("5.00"), "o"), "quantity"),
        (ChargeLine("X", "x", "A", Decimal("1"), Decimal("-5.00"), "o"), "unit_price"),
        (ChargeLine("X", "x", "A", Decimal("NaN"), Decimal("5.00"), "o"), "quantity"),
        (ChargeLine("X", "x", "D", Decimal("1"), Decimal("5.00"), "o"), "item class"),
        (ChargeLine("X", "x", "A", 1.5, Decimal("5.00"), "o"), "quantity"),  # type: ignore[arg-type]
    ],
)
def test_bad_lines_are_refused(line: ChargeLine, message: str) -> None:
    with pytest.raises(SettlementError, match=message):
        settle(
            [line],
            Insured("resident", AREA),
            VisitContext("outpatient", "primary", DAY),
            Totals.zero(2025),
            policy_for(AREA, "resident", DAY),
        )


def test_bad_context_is_refused() -> None:
    resident = Insured("resident", AREA)
    with pytest.raises(SettlementError, match="totals of 2024"):
        _simple(resident, Totals.zero(2024))
    with pytest.raises(SettlementError, match="fund_paid"):
        _simple(resident, Totals(2025, fund_paid=Decimal("-1")))
    with pytest.raises(SettlementError, match="facility level"):
        _simple(resident, level="quaternary")
    with pytest.raises(SettlementError, match="setting"):
        _simple(resident, setting="day-care")
    with pytest.raises(SettlementError, match="account balance"):
        _simple(Insured("employee", AREA, account_balance=Decimal("-0.01")))
    with pytest.raises(SettlementError, match="assistance category 'veteran'"):
        _simple(Insured("resident", AREA, assistance="veteran"))
    with pytest.raises(SettlementError, match="commercial plan 'nope'"):
        _simple(Insured("resident", AREA, commercial_plan="nope"))
    with pytest.raises(SettlementError, match="policy of 339001/resident"):
        settle(
            [],
            Insured("employee", AREA),
            VisitContext("outpatient", "primary", DAY),
            Totals.zero(2025),
            policy_for(AREA, "resident", DAY),
        )
    with pytest.raises(SettlementError, match="policy of 2025-05-31"):
        settle(
            [],
            resident,
            VisitContext("outpatient", "primary", DAY),
            Totals.zero(2025),
            policy_for(AREA, "resident", date(2025, 5, 31)),
        )


def test_a_resident_balance_is_not_a_personal_account() -> None:
    s = _simple(Insured("resident", AREA, account_balance=Decimal("500.00")))
    assert s.account == 0 and s.cash == s.total


def test_allocate_spreads_exactly_within_capacities() -> None:
    r = Rounding("ROUND_HALF_UP", Decimal("0.01"))
    parts = allocate(Decimal("0.05"), [Decimal("1.00")] * 3, r)
    assert parts == [Decimal("0.02"), Decimal("0.02"), Decimal("0.01")]
    assert allocate(Decimal("3.00"), [Decimal("1.00"), Decimal("2.00")], r) == [
        Decimal("1.00"),
        Decimal("2.00"),
    ]
    with pytest.raises(SettlementError):
        allocate(Decimal("3.01"), [Decimal("1.00"), Decimal("2.00")], r)


def assert_invariants(s: Settlement) -> None:
    payers = s.fund + s.catastrophic + s.assistance + s.commercial + s.account + s.cash
    assert s.total == payers
    assert s.total == s.full_self_pay + s.over_limit_self_pay + s.pre_self_pay + s.in_scope
    assert s.deductible <= s.in_scope
    assert s.fund + s.catastrophic + s.assistance <= s.in_scope
    for name in SPLIT_FIELDS:
        value = getattr(s, name)
        assert value >= 0, name
        assert value == value.quantize(Decimal("0.01")), name
    for name in LINE_AMOUNTS:
        if name != "amount":
            assert sum((getattr(line, name) for line in s.lines), Decimal(0)) == getattr(s, name)
    assert sum((line.amount for line in s.lines), Decimal(0)) == s.total
    for line in s.lines:
        assert (
            line.amount
            == (line.fund + line.catastrophic + line.assistance + line.commercial + line.account)
            + line.cash
        )
        assert all(getattr(line, name) >= 0 for name in LINE_AMOUNTS)
    for name in AMOUNTS:
        assert getattr(s.totals_after, name) >= getattr(s.totals_before, name), name
    assert s.totals_after.fund_paid - s.totals_before.fund_paid == s.fund
    assert s.totals_after.account_paid - s.totals_before.account_paid == s.account
