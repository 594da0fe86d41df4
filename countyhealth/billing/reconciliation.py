"""The daily reconciliation report (日对账单): one Excel workbook per county day.

Two sheets. 对账明细 lists every payment and refund settled that day, one row each, with the
settlement's payers (统筹基金, 大病保险, 医疗救助, 商业保险, 个人账户, 个人现金) and the payment
provider's reference, and a 合计 row. 汇总 sums them per payer and per institution, and checks
the cash the platform took against the payment provider's statement for the day: payments,
refunds and the net each 一致 (matched) or 不一致 with the difference, and one verdict, 平账
or 不平. Only the cash part goes through the payment provider; the other payers settle with
the insurance fund and the insurers, so they are summed but not checked here.

Amounts move as seen from the platform: a payment's are positive, a refund's negative, so
every column adds up to the day's net. A refund row carries the refunded amounts, not the
re-settled remainder. The sums are computed in Decimal; every amount is written as a number
with a two-place format (Excel holds numbers as binary doubles, so a cell keeps the double
nearest the exact amount and reads back to the same cents). Texts from the records are
written as text cells, never as formulas, whatever they start with. The same rows give the
same bytes.

The caller resolves the rows (masked patient names, institution names and each
institution's share of the row's total) and the provider's totals; this module only checks
that they add up and lays them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from io import BytesIO
from typing import Any, Literal
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from ..scheduling.calendar import COUNTY_TZ

KINDS = {"payment": "收费", "refund": "退费"}
#: The payers of a settlement, whose shares add up to the total.
PAYERS = {
    "fund": "统筹基金",
    "catastrophic": "大病保险",
    "assistance": "医疗救助",
    "commercial": "商业保险",
    "account": "个人账户",
    "cash": "个人现金",
}
DETAIL_SHEET = "对账明细"
SUMMARY_SHEET = "汇总"
MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"
MATCHED = "一致"
MISMATCHED = "不一致"
_CENT = Decimal("0.01")
_LARGEST = Decimal(10) ** 13  # 10 万亿 yuan: nothing a county settles in a day
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_BOLD = Font(bold=True)
_HEADING = PatternFill("solid", fgColor="D9D9D9")
_TOTAL = PatternFill("solid", fgColor="EEEEEE")
_RULE = Border(top=Side(style="thin"))


def _check_money(name: str, value: object) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite() or abs(value) >= _LARGEST:
        raise ValueError(f"{name} must be a finite amount of yuan, not {value}")
    if value != value.quantize(_CENT):
        raise ValueError(f"{name} must be in whole fen (0.01 yuan), not {value}")


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    """One settled payment or refund, as it moved money (a refund's amounts are negative).

    ``institutions`` pairs each institution of the visit with its share of ``total`` (one
    visit may span several); the shares add up to ``total``. ``patient`` must already be
    masked. ``time`` is when the money moved (a naive time is county time).
    """

    time: datetime
    invoice: str
    visit: str
    patient: str  # masked, e.g. 张*英
    institutions: tuple[tuple[str, Decimal], ...]
    total: Decimal
    fund: Decimal
    catastrophic: Decimal
    assistance: Decimal
    commercial: Decimal
    account: Decimal
    cash: Decimal
    provider_reference: str
    kind: Literal["payment", "refund"]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be 'payment' or 'refund', not {self.kind!r}")
        for name in ("total", *PAYERS):
            _check_money(name, getattr(self, name))
            value = getattr(self, name)
            if (value < 0) if self.kind == "payment" else (value > 0):
                sign = "negative" if self.kind == "payment" else "positive"
                raise ValueError(f"{name} of a {self.kind} must not be {sign}, not {value}")
        paid = sum((getattr(self, name) for name in PAYERS), Decimal(0))
        if paid != self.total:
            raise ValueError(f"the payers' shares add up to {paid}, not the total {self.total}")
        if not self.institutions:
            raise ValueError("a row needs the institutions of the visit")
        for name, share in self.institutions:
            if not name.strip():
                raise ValueError("an institution needs a name")
            _check_money(f"the share of {name}", share)
        shares = sum((share for _name, share in self.institutions), Decimal(0))
        if shares != self.total:
            raise ValueError(f"the institutions' shares add up to {shares}, not {self.total}")

    @property
    def local_time(self) -> datetime:
        """``time`` in county time, without a zone (Excel has none)."""
        moment = self.time.astimezone(COUNTY_TZ) if self.time.tzinfo else self.time
        return moment.replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class ProviderTotals:
    """What the payment provider's statement for the day says it moved: ``payments`` taken
    (not negative) and ``refunds`` paid back (not positive), as the rows count them."""

    payments: Decimal
    refunds: Decimal

    def __post_init__(self) -> None:
        _check_money("payments", self.payments)
        _check_money("refunds", self.refunds)
        if self.payments < 0 or self.refunds > 0:
            raise ValueError("payments are counted positive and refunds negative")

    @property
    def net(self) -> Decimal:
        """What stayed with the platform: payments plus (negative) refunds."""
        return self.payments + self.refunds


def reconciliation_workbook(
    day: date, rows: Iterable[ReconciliationRow], provider_totals: ProviderTotals
) -> bytes:
    """The reconciliation report of one county day as an .xlsx file.

    Args:
        day: the county day; every row's time falls on it.
        rows: the day's payments and refunds, in any order (they are listed by time).
        provider_totals: the payment provider's totals for the day.

    Returns:
        The workbook; the same day, rows and totals give the same bytes.

    Raises:
        ValueError: a row's time is on another day.
    """
    listed = sorted(rows, key=lambda row: (row.local_time, row.invoice, row.kind))
    for row in listed:
        if row.local_time.date() != day:
            raise ValueError(f"invoice {row.invoice!r} was settled on another day than {day}")
    workbook = Workbook()
    detail = workbook.active
    assert isinstance(detail, Worksheet)
    detail.title = DETAIL_SHEET
    _details(detail, listed)
    _summary(workbook.create_sheet(SUMMARY_SHEET), day, listed, provider_totals)
    properties = workbook.properties
    properties.title = f"日对账单 {day.isoformat()}"
    properties.creator = "CountyHealth"
    properties.created = properties.modified = datetime.combine(day, time())
    buffer = BytesIO()
    ExcelWriter(workbook, _SteadyZip(buffer, "w", ZIP_DEFLATED)).save()
    return buffer.getvalue()


class _SteadyZip(ZipFile):
    """A zip archive whose entries carry a fixed time, so equal workbooks are equal files."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = ZipInfo(zinfo_or_arcname, date_time=_ZIP_TIME)
            zinfo_or_arcname.compress_type = ZIP_DEFLATED
            zinfo_or_arcname.external_attr = 0o600 << 16
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        # openpyxl writes each worksheet to a temporary file first, then adds that file
        with open(filename, "rb") as source:
            self.writestr(arcname or str(filename), source.read())


def _text(cell: Cell, value: str) -> None:
    """``value`` as a text cell: characters XML cannot carry dropped, and never a formula
    (openpyxl takes a string starting with ``=`` for one)."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.data_type = "s"


def _money(cell: Cell, value: Decimal) -> None:
    cell.value = value.copy_abs() if value.is_zero() else value
    cell.number_format = MONEY_FORMAT


def _put(sheet: Worksheet, row: int, column: int, value: str | Decimal | int) -> Cell:
    cell = sheet.cell(row=row, column=column)
    assert isinstance(cell, Cell)
    if isinstance(value, Decimal):
        _money(cell, value)
    elif isinstance(value, int):
        cell.value = value
        cell.number_format = "0"
    else:
        _text(cell, value)
    return cell


def _put_row(sheet: Worksheet, row: int, values: Sequence[str | Decimal | int]) -> None:
    for column, value in enumerate(values, start=1):
        _put(sheet, row, column, value)


def _heading(sheet: Worksheet, row: int, labels: list[str]) -> None:
    for column, label in enumerate(labels, start=1):
        cell = _put(sheet, row, column, label)
        cell.font = _BOLD
        cell.fill = _HEADING
        cell.alignment = Alignment(horizontal="center", vertical="center")


def _emphasise(sheet: Worksheet, row: int, columns: int) -> None:
    for column in range(1, columns + 1):
        cell = sheet.cell(row=row, column=column)
        cell.font = _BOLD
        cell.fill = _TOTAL
        cell.border = _RULE


def _details(sheet: Worksheet, rows: list[ReconciliationRow]) -> None:
    """The rows, by time, and their sums; the header stays in view and carries filters."""
    labels = ["时间", "票据号码", "就诊号", "患者", "就诊机构", "类型", "医疗费总额"]
    labels += [*PAYERS.values(), "支付渠道流水号"]
    _heading(sheet, 1, labels)
    for number, row in enumerate(rows, start=2):
        when = sheet.cell(row=number, column=1, value=row.local_time)
        when.number_format = "yyyy-mm-dd hh:mm:ss"
        for column, text in enumerate(
            [row.invoice, row.visit, row.patient, _institutions(row), KINDS[row.kind]], start=2
        ):
            _put(sheet, number, column, text)
        amounts = [row.total, *(getattr(row, name) for name in PAYERS)]
        for column, amount in enumerate(amounts, start=7):
            _put(sheet, number, column, amount)
        _put(sheet, number, 14, row.provider_reference)
    total = len(rows) + 2
    _put(sheet, total, 1, "合计")
    _put(sheet, total, 6, f"{len(rows)} 笔")
    for column, name in enumerate(["total", *PAYERS], start=7):
        _put(sheet, total, column, sum((getattr(row, name) for row in rows), Decimal(0)))
    _emphasise(sheet, total, len(labels))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:N{max(total - 1, 1)}"
    widths = [20, 20, 18, 12, 30, 8] + [13] * 7 + [26]
    for letter, width in zip("ABCDEFGHIJKLMN", widths, strict=True):
        sheet.column_dimensions[letter].width = width


def _institutions(row: ReconciliationRow) -> str:
    """The institutions of a row; with their shares when there are several."""
    if len(row.institutions) == 1:
        return row.institutions[0][0]
    return "；".join(f"{name} {share:.2f}" for name, share in row.institutions)


def _summary(
    sheet: Worksheet, day: date, rows: list[ReconciliationRow], provider: ProviderTotals
) -> None:
    """The sums per payer and per institution, and the check against the provider."""
    payments = [row for row in rows if row.kind == "payment"]
    refunds = [row for row in rows if row.kind == "refund"]

    def total(of: list[ReconciliationRow], name: str) -> Decimal:
        return sum((getattr(row, name) for row in of), Decimal(0))

    title = _put(sheet, 1, 1, f"日对账汇总  {day.year}年{day.month}月{day.day}日")
    title.font = Font(bold=True, size=14)
    _put(sheet, 2, 1, f"收费 {len(payments)} 笔，退费 {len(refunds)} 笔（退费金额以负数列示）")

    line = 4
    _put(sheet, line, 1, "一、按支付方式").font = _BOLD
    _heading(sheet, line + 1, ["支付方式", "收费", "退费", "净额"])
    line += 2
    for name, label in [*PAYERS.items(), ("total", "医疗费总额")]:
        paid, refunded = total(payments, name), total(refunds, name)
        _put_row(sheet, line, [label, paid, refunded, paid + refunded])
        line += 1
    _emphasise(sheet, line - 1, 4)

    line += 1
    _put(sheet, line, 1, "二、按机构（医疗费总额）").font = _BOLD
    _heading(sheet, line + 1, ["机构", "收费笔数", "退费笔数", "收费", "退费", "净额"])
    line += 2
    for name in sorted({name for row in rows for name, _share in row.institutions}):
        counts = [sum(name in dict(row.institutions) for row in of) for of in (payments, refunds)]
        paid, refunded = (
            sum((dict(row.institutions).get(name, Decimal(0)) for row in of), Decimal(0))
            for of in (payments, refunds)
        )
        _put_row(sheet, line, [name, *counts, paid, refunded, paid + refunded])
        line += 1
    paid, refunded = total(payments, "total"), total(refunds, "total")
    _put_row(sheet, line, ["合计", len(payments), len(refunds), paid, refunded, paid + refunded])
    _emphasise(sheet, line, 6)

    line += 2
    _put(sheet, line, 1, "三、个人现金与支付渠道核对").font = _BOLD
    _heading(sheet, line + 1, ["项目", "平台", "支付渠道", "差额", "结果"])
    line += 2
    ours = {"收费": total(payments, "cash"), "退费": total(refunds, "cash")}
    ours["净额"] = ours["收费"] + ours["退费"]
    theirs = {"收费": provider.payments, "退费": provider.refunds, "净额": provider.net}
    for label in ours:
        difference = ours[label] - theirs[label]
        verdict = MATCHED if difference == 0 else MISMATCHED
        _put_row(sheet, line, [label, ours[label], theirs[label], difference, verdict])
        line += 1
    _emphasise(sheet, line - 1, 5)
    balanced = all(ours[label] == theirs[label] for label in ours)
    verdict = "平账" if balanced else "不平：差额见上表"
    _put(sheet, line + 1, 1, "对账结果")
    _put(sheet, line + 1, 2, verdict).font = Font(
        bold=True, color="000000" if balanced else "C00000"
    )
    for letter, width in zip("ABCDEF", [24, 14, 14, 14, 14, 14], strict=True):
        sheet.column_dimensions[letter].width = width
