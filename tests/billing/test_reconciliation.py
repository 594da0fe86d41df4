"""The daily reconciliation workbook, opened again with openpyxl: the rows, the sums per payer
and per institution (exact to the fen), the check against the payment provider, Chinese
headers, and text that stays text whatever it holds."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from countyhealth.billing.reconciliation import (
    DETAIL_SHEET,
    SUMMARY_SHEET,
    ProviderTotals,
    ReconciliationRow,
    reconciliation_workbook,
)

D = Decimal
CST = timezone(timedelta(hours=8))
DAY = date(2026, 12, 1)
TOWN = "城关镇卫生院"
COUNTY = "县人民医院"
HEADERS = [
    "时间",
    "票据号码",
    "就诊号",
    "患者",
    "就诊机构",
    "类型",
    "医疗费总额",
    "统筹基金",
    "大病保险",
    "医疗救助",
    "商业保险",
    "个人账户",
    "个人现金",
    "支付渠道流水号",
]


def row(**changes: Any) -> ReconciliationRow:
    values: dict[str, Any] = {
        "time": datetime(2026, 12, 1, 9, 30, tzinfo=CST),
        "invoice": "3301250000012345",
        "visit": "V20261201-0007",
        "patient": "张*英",
        "institutions": ((TOWN, D("84.00")), (COUNTY, D("209.50"))),
        "total": D("293.50"),
        "fund": D("159.20"),
        "catastrophic": D("12.30"),
        "assistance": D("8.00"),
        "commercial": D("5.55"),
        "account": D("20.00"),
        "cash": D("88.45"),
        "provider_reference": "SIM-20261201-000001",
        "kind": "payment",
    }
    return ReconciliationRow(**(values | changes))


ROWS = [
    row(),
    row(
        time=datetime(2026, 12, 1, 0, 40, tzinfo=UTC),  # 08:40 county time: listed first
        invoice="3301250000012344",
        visit="V20261201-0003",
        patient="李*",
        institutions=((TOWN, D("45.07")),),
        total=D("45.07"),
        fund=D("30.00"),
        catastrophic=D("0.00"),
        assistance=D("0.00"),
        commercial=D("0.00"),
        account=D("0.00"),
        cash=D("15.07"),
        provider_reference="SIM-20261201-000000",
    ),
    row(
        time=datetime(2026, 12, 1, 15, 2, 33, tzinfo=CST),
        invoice="3301250000012399",
        institutions=((COUNTY, D("-180.00")),),
        total=D("-180.00"),
        fund=D("-99.20"),
        catastrophic=D("-12.30"),
        assistance=D("-8.00"),
        commercial=D("-5.55"),
        account=D("-20.00"),
        cash=D("-34.95"),
        provider_reference="SIM-20261201-R00001",
        kind="refund",
    ),
    row(
        time=datetime(2026, 12, 1, 23, 59, 59, tzinfo=CST),
        invoice="3301250000012400",
        visit="V20261201-0042",
        patient="王*",
        institutions=((COUNTY, D("0.07")),),
        total=D("0.07"),
        fund=D("0.00"),
        catastrophic=D("0.00"),
        assistance=D("0.00"),
        commercial=D("0.00"),
        account=D("0.00"),
        cash=D("0.07"),
        provider_reference="SIM-20261201-000002",
    ),
]
CASH_PAID = D("88.45") + D("15.07") + D("0.07")  # 103.59
CASH_REFUNDED = D("-34.95")
MATCHING = ProviderTotals(payments=CASH_PAID, refunds=CASH_REFUNDED)


def open_workbook(data: bytes) -> tuple[Worksheet, Worksheet]:
    workbook = load_workbook(BytesIO(data))
    assert workbook.sheetnames == [DETAIL_SHEET, SUMMARY_SHEET]
    detail, summary = workbook[DETAIL_SHEET], workbook[SUMMARY_SHEET]
    return detail, summary


def values(sheet: Worksheet, line: int) -> list[Any]:
    """A row's values, money as Decimal read back from the stored double."""
    found = []
    for cell in sheet[line]:
        value = cell.value
        found.append(Decimal(repr(value)) if isinstance(value, float) else value)
    while found and found[-1] is None:
        found.pop()
    return found


def find(sheet: Worksheet, label: str, after: int = 0) -> int:
    """The number of the first row after ``after`` whose first cell is ``label``."""
    for line in range(after + 1, sheet.max_row + 1):
        if sheet.cell(row=line, column=1).value == label:
            return line
    raise AssertionError(f"no row {label!r}")


def test_the_detail_sheet_lists_the_rows_by_time() -> None:
    detail, _summary = open_workbook(reconciliation_workbook(DAY, ROWS, MATCHING))
    assert values(detail, 1) == HEADERS
    assert detail.freeze_panes == "A2"
    assert detail.auto_filter.ref == "A1:N5"
    assert values(detail, 2) == [
        datetime(2026, 12, 1, 8, 40),
        "3301250000012344",
        "V20261201-0003",
        "李*",
        TOWN,
        "收费",
        D("45.07"),
        D("30"),
        D("0"),
        D("0"),
        D("0"),
        D("0"),
        D("15.07"),
        "SIM-20261201-000000",
    ]
    assert values(detail, 3)[1:7] == [
        "3301250000012345",
        "V20261201-0007",
        "张*英",
        f"{TOWN} 84.00；{COUNTY} 209.50",
        "收费",
        D("293.50"),
    ]
    refund = values(detail, 4)
    assert refund[0] == datetime(2026, 12, 1, 15, 2, 33)
    assert refund[5:] == [
        "退费",
        D("-180.00"),
        D("-99.20"),
        D("-12.30"),
        D("-8.00"),
        D("-5.55"),
        D("-20.00"),
        D("-34.95"),
        "SIM-20261201-R00001",
    ]
    assert values(detail, 5)[1] == "3301250000012400"
    assert detail.cell(row=2, column=1).number_format == "yyyy-mm-dd hh:mm:ss"


def test_the_detail_sheet_sums_every_column() -> None:
    detail, _summary = open_workbook(reconciliation_workbook(DAY, ROWS, MATCHING))
    assert values(detail, 6) == [
        "合计",
        None,
        None,
        None,
        None,
        "4 笔",
        D("158.64"),  # 293.50 + 45.07 - 180.00 + 0.07
        D("90.00"),
        D("0"),
        D("0"),
        D("0"),
        D("0"),
        CASH_PAID + CASH_REFUNDED,  # 68.64
    ]
    for line in (2, 6):
        for column in range(7, 14):
            cell = detail.cell(row=line, column=column)
            assert cell.data_type == "n" and "0.00" in cell.number_format


def test_amounts_are_stored_as_numbers_to_the_fen() -> None:
    """Many small amounts add up in Decimal: 100 payments of 0.07 and 0.01 are 8.00, not the
    7.999999… a float sum gives, and every cell reads back to its exact cents."""
    rows = [
        row(
            invoice=f"INV{n:04d}",
            institutions=((TOWN, D("0.07") if n % 2 else D("0.01")),),
            total=D("0.07") if n % 2 else D("0.01"),
            fund=D("0.00"),
            catastrophic=D("0.00"),
            assistance=D("0.00"),
            commercial=D("0.00"),
            account=D("0.00"),
            cash=D("0.07") if n % 2 else D("0.01"),
        )
        for n in range(200)
    ]
    total = D("0.07") * 100 + D("0.01") * 100
    assert sum(0.07 if n % 2 else 0.01 for n in range(200)) != 8.0  # why Decimal
    detail, summary = open_workbook(
        reconciliation_workbook(DAY, rows, ProviderTotals(total, D("0")))
    )
    assert values(detail, 202)[6] == total == D("8.00")
    assert values(summary, find(summary, "对账结果"))[1] == "平账"


def test_the_summary_per_payer() -> None:
    _detail, summary = open_workbook(reconciliation_workbook(DAY, ROWS, MATCHING))
    assert values(summary, 1) == ["日对账汇总  2026年12月1日"]
    assert values(summary, 2) == ["收费 3 笔，退费 1 笔（退费金额以负数列示）"]
    start = find(summary, "一、按支付方式")
    assert values(summary, start + 1) == ["支付方式", "收费", "退费", "净额"]
    assert [values(summary, start + n) for n in range(2, 9)] == [
        ["统筹基金", D("189.20"), D("-99.20"), D("90.00")],
        ["大病保险", D("12.30"), D("-12.30"), D("0")],
        ["医疗救助", D("8.00"), D("-8.00"), D("0")],
        ["商业保险", D("5.55"), D("-5.55"), D("0")],
        ["个人账户", D("20.00"), D("-20.00"), D("0")],
        ["个人现金", CASH_PAID, CASH_REFUNDED, D("68.64")],
        ["医疗费总额", D("338.64"), D("-180.00"), D("158.64")],
    ]


def test_the_summary_per_institution() -> None:
    _detail, summary = open_workbook(reconciliation_workbook(DAY, ROWS, MATCHING))
    start = find(summary, "二、按机构（医疗费总额）")
    assert values(summary, start + 1) == ["机构", "收费笔数", "退费笔数", "收费", "退费", "净额"]
    assert [values(summary, start + n) for n in range(2, 5)] == [
        [COUNTY, 2, 1, D("209.57"), D("-180.00"), D("29.57")],
        [TOWN, 2, 0, D("129.07"), D("0"), D("129.07")],
        ["合计", 3, 1, D("338.64"), D("-180.00"), D("158.64")],
    ]


def test_the_cash_matches_the_provider() -> None:
    _detail, summary = open_workbook(reconciliation_workbook(DAY, ROWS, MATCHING))
    start = find(summary, "三、个人现金与支付渠道核对")
    assert values(summary, start + 1) == ["项目", "平台", "支付渠道", "差额", "结果"]
    assert [values(summary, start + n) for n in range(2, 5)] == [
        ["收费", CASH_PAID, CASH_PAID, D("0"), "一致"],
        ["退费", CASH_REFUNDED, CASH_REFUNDED, D("0"), "一致"],
        ["净额", D("68.64"), D("68.64"), D("0"), "一致"],
    ]
    assert values(summary, find(summary, "对账结果")) == ["对账结果", "平账"]


def test_a_difference_with_the_provider_is_shown() -> None:
    provider = ProviderTotals(payments=CASH_PAID + D("0.07"), refunds=CASH_REFUNDED)
    _detail, summary = open_workbook(reconciliation_workbook(DAY, ROWS, provider))
    start = find(summary, "三、个人现金与支付渠道核对")
    assert [values(summary, start + n) for n in range(2, 5)] == [
        ["收费", CASH_PAID, D("103.66"), D("-0.07"), "不一致"],
        ["退费", CASH_REFUNDED, CASH_REFUNDED, D("0"), "一致"],
        ["净额", D("68.64"), D("68.71"), D("-0.07"), "不一致"],
    ]
    verdict = summary.cell(row=find(summary, "对账结果"), column=2)
    assert verdict.value == "不平：差额见上表"
    assert verdict.font.color.rgb == "00C00000"


def test_a_payment_and_a_refund_of_the_same_amount_net_out_but_do_not_match() -> None:
    """Both sides net to the same amount, yet the provider saw neither the payment nor the
    refund: the parts are checked, not only the net."""
    provider = ProviderTotals(payments=CASH_PAID - D("34.95"), refunds=D("0.00"))
    _detail, summary = open_workbook(reconciliation_workbook(DAY, ROWS, provider))
    start = find(summary, "三、个人现金与支付渠道核对")
    assert values(summary, start + 4)[-1] == "一致"
    assert values(summary, find(summary, "对账结果"))[1] == "不平：差额见上表"


def test_an_empty_day() -> None:
    detail, summary = open_workbook(
        reconciliation_workbook(DAY, [], ProviderTotals(D("0"), D("0")))
    )
    assert values(detail, 2)[0] == "合计" and values(detail, 2)[6] == D("0")
    assert values(summary, 2) == ["收费 0 笔，退费 0 笔（退费金额以负数列示）"]
    assert values(summary, find(summary, "对账结果"))[1] == "平账"


def test_text_from_the_records_stays_text() -> None:
    hostile = [
        '=HYPERLINK("http://evil.example","点击")',
        "+1+2",
        "@SUM(A1)",
        "<b>张</b>&amp;",
        "吉\x00\x07祥\t",
    ]
    rows = [
        row(
            invoice=text,
            visit=text,
            patient=text,
            provider_reference=text,
            institutions=((text, D("293.50")),),
        )
        for text in hostile
    ]
    data = reconciliation_workbook(DAY, rows, ProviderTotals(D("442.25"), D("0")))
    detail, summary = open_workbook(data)
    shown = [detail.cell(row=line, column=4).value for line in range(2, 7)]
    assert sorted(shown) == sorted([*hostile[:4], "吉祥\t"])
    for line in range(2, 7):
        for column in (2, 3, 4, 5, 14):
            assert detail.cell(row=line, column=column).data_type == "s"
    with zipfile.ZipFile(BytesIO(data)) as archive:
        sheets = [archive.read(name) for name in archive.namelist() if "worksheets/" in name]
    assert not any(b"<f>" in sheet for sheet in sheets)  # no formula anywhere
    assert '=HYPERLINK("http://evil.example","点击")' in [
        summary.cell(row=line, column=1).value for line in range(1, summary.max_row + 1)
    ]


def test_the_same_rows_give_the_same_bytes() -> None:
    first = reconciliation_workbook(DAY, ROWS, MATCHING)
    assert reconciliation_workbook(DAY, list(reversed(ROWS)), MATCHING) == first
    # nothing in the file depends on when it was made
    with zipfile.ZipFile(BytesIO(first)) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    properties = load_workbook(BytesIO(first)).properties
    assert properties.title == "日对账单 2026-12-01"
    assert properties.creator == "CountyHealth"
    assert properties.created == properties.modified == datetime(2026, 12, 1)


def test_a_row_of_another_day_is_refused() -> None:
    late = row(time=datetime(2026, 12, 1, 16, 0, tzinfo=UTC))  # 00:00 on 2 December
    with pytest.raises(ValueError, match="'3301250000012345' was settled on another day"):
        reconciliation_workbook(DAY, [*ROWS[1:], late], MATCHING)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"kind": "charge"}, ValueError, "kind"),
        ({"cash": 88.45}, TypeError, "cash must be a Decimal, not float"),
        ({"total": D("293.499")}, ValueError, "whole fen"),
        ({"fund": D("NaN")}, ValueError, "finite"),
        ({"cash": D("88.46")}, ValueError, r"add up to 293\.51, not the total 293\.50"),
        ({"institutions": ()}, ValueError, "institutions of the visit"),
        ({"institutions": (("", D("293.50")),)}, ValueError, "needs a name"),
        ({"institutions": ((TOWN, D("293.00")),)}, ValueError, r"shares add up to 293\.00"),
        ({"kind": "refund"}, ValueError, "total of a refund must not be positive"),
    ],
)
def test_a_row_refuses_what_does_not_add_up(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        row(**changes)


def test_a_payment_has_no_negative_share() -> None:
    with pytest.raises(ValueError, match="fund of a payment must not be negative"):
        dataclasses.replace(ROWS[1], fund=D("-1.00"), cash=D("46.07"))


@pytest.mark.parametrize(
    ("payments", "refunds", "error", "message"),
    [
        (D("-1"), D("0"), ValueError, "counted positive"),
        (D("1"), D("1"), ValueError, "counted positive"),
        (1.0, D("0"), TypeError, "Decimal"),
    ],
)
def test_provider_totals_refuse_bad_values(
    payments: Any, refunds: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ProviderTotals(payments, refunds)


def test_the_headers_are_chinese_and_bold() -> None:
    detail, summary = open_workbook(reconciliation_workbook(DAY, ROWS, MATCHING))
    for cell in detail[1]:
        assert cell.font.bold and re.search(r"[\u4e00-\u9fff]", str(cell.value))
    assert summary.cell(row=1, column=1).font.bold
