"""The medical e-invoice (医疗收费电子票据): one A4 PDF in Chinese, with a QR code.

The layout follows the national medical-fee e-invoice (财政电子票据, 医疗收费类): title, number
and check code, payer, the lines, the total in figures and in Chinese capital numerals (大写),
and the medical-insurance settlement in the split of the national interface (医疗费总额 down to
个人现金, see DOMAIN.md §1.3). The QR code holds the absolute URL of the invoice's page on the
platform, not the invoice: the page asks the reader to sign in and shows the invoice only to
those whose Repository grants access, so a photographed invoice discloses no more than what
is printed on it.

A refund appears in two ways. Refunded lines are negative lines (negative quantity and amount,
printed in red) and the split is then the one of what remains; a red-letter invoice (红字票据,
``reverses`` set) reverses a whole earlier invoice, with every amount negative. An invoice
whose payment went through the simulated payment provider says 演示系统 in its header, its
footer and across every page, so it cannot pass for a real receipt.

The caller resolves everything first (names, the masked ID number, the settlement) and passes
an :class:`InvoiceDocument` of plain values; this module only checks that the figures add up
and lays them out, in the font and manner of the referral form (``STSong-Light``, named, not
embedded; every value escaped; the same document gives the same bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any, Literal

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ..printing import (
    FONT,
    QrCode,
    a4_document,
    clip,
    day_text,
    draw_footer,
    moment_text,
    para,
    register_font,
)

TITLE = "医疗收费电子票据"
DEMO = "演示系统"
ITEM_CLASSES = {"A": "甲类", "B": "乙类", "C": "丙类"}
#: The settlement split of the national interface (2207/2304 ``setlinfo``), in print order:
#: first what the total is made of, then who pays it.
SPLIT_LABELS = {
    "total": "医疗费总额",
    "full_self_pay": "全自费",
    "over_limit_self_pay": "超限价自费",
    "pre_self_pay": "先行自付",
    "in_scope": "符合政策范围",
    "deductible": "起付线",
    "fund": "统筹基金",
    "catastrophic": "大病保险",
    "assistance": "医疗救助",
    "commercial": "商业保险",
    "account": "个人账户",
    "cash": "个人现金",
}
#: The payers; their shares add up to the total.
PAYERS = ("fund", "catastrophic", "assistance", "commercial", "account", "cash")

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")
_LARGEST = Decimal(10) ** (4 * len(_GROUPS))  # 壹亿亿 has no name in the sequence
_CENT = Decimal("0.01")
#: An unmasked resident ID number (GB 11643: 18 characters, or the old 15 digits).
_FULL_ID = re.compile(r"\d{17}[\dXx]|\d{15}")
_UNPRINTABLE = "〓"
#: Latin-1 signs some readers' CJK fonts lack, in their CJK forms (as on the referral form).
_GLYPHS = str.maketrans({"·": "・", "•": "・", "µ": "μ", "|": "｜", "¥": "￥"})
_MARGIN = 15 * mm
_WIDTH = A4[0] - 2 * _MARGIN
_QR_SIZE = 30 * mm
_RED = "#c00000"
_SHADE = colors.HexColor("#eeeeee")


def capital_amount(amount: Decimal) -> str:
    """An amount of yuan in Chinese capital numerals (大写金额), as written on invoices.

    The rules of the People's Bank of China for filling in bills (《支付结算办法》附件一,
    正确填写票据和结算凭证的基本规定): 整 after 元 and after 角 when nothing follows; no 整
    after 分; one 零 for a run of zeros inside the number; 零 between 元 and 分 when the 角
    is zero. Where the rules allow a 零 or none (a zero in the 元 place before a 角), none is
    written; a leading ten is 壹拾, as banks and invoice systems print it, so nothing can be
    put in front of it.

    Args:
        amount: yuan, at most two decimal places; a negative amount (a red-letter invoice)
            reads 负….

    Returns:
        e.g. ``壹仟贰佰叁拾肆元伍角整`` for 1234.50, ``伍分`` for 0.05, ``壹佰元整`` for 100.

    Raises:
        TypeError: ``amount`` is not a Decimal (a float is not money).
        ValueError: it is not finite, has fractions of a cent, or is 1 亿亿 or more.
    """
    _check_money("amount", amount)
    cents = int((abs(amount) * 100).to_integral_value())
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = ""
    if yuan:
        words = _capital_integer(yuan) + "元"
        if jiao == 0 and fen:
            words += "零"
    if jiao:
        words += _DIGITS[jiao] + "角"
    if fen:
        words += _DIGITS[fen] + "分"
    elif words:
        words += "整"
    else:
        words = "零元整"
    return "负" + words if amount < 0 else words


def _capital_integer(number: int) -> str:
    """A positive whole number in capital numerals, grouped by 万 and 亿."""
    digits = str(number)
    words = ""
    zero = False  # zeros were skipped since the last digit written
    for index, char in enumerate(digits):
        power = len(digits) - 1 - index
        if char == "0":
            zero = True
        else:
            if zero:
                words += "零"
                zero = False
            words += _DIGITS[int(char)] + _PLACES[power % 4]
        if power % 4 == 0 and power:
            group = digits[max(0, index - 3) : index + 1]
            if group.strip("0"):
                words += _GROUPS[power // 4]
    return words


def _check_money(name: str, value: object, cents: bool = True) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite amount, not {value}")
    if cents and abs(value) >= _LARGEST:
        raise ValueError(f"{name} {value} is beyond what capital numerals can write")
    if cents and value != value.quantize(_CENT):
        raise ValueError(f"{name} must be in whole fen (0.01 yuan), not {value}")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One charged item. A refunded item is a line with negative quantity and amount.

    ``item_class`` is the insurance class of the item: ``"A"`` 甲类, ``"B"`` 乙类, ``"C"``
    丙类 (or self-pay). ``amount`` is the line's charge in yuan as settled (``unit_price`` may
    carry more places, as drug prices per tablet do).
    """

    item: str
    item_class: Literal["A", "B", "C"]
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    institution: str

    def __post_init__(self) -> None:
        if self.item_class not in ITEM_CLASSES:
            raise ValueError(f"item_class must be 'A', 'B' or 'C', not {self.item_class!r}")
        _check_money("quantity", self.quantity, cents=False)
        _check_money("unit_price", self.unit_price, cents=False)
        _check_money("amount", self.amount)
        if self.unit_price < 0:
            raise ValueError(f"unit_price must not be negative, not {self.unit_price}")
        if self.amount * self.quantity < 0:
            raise ValueError(f"amount {self.amount} and quantity {self.quantity} differ in sign")


@dataclass(frozen=True, slots=True)
class InvoiceSplit:
    """The settlement in the split of the national interface, in yuan.

    The payers (统筹基金, 大病保险, 医疗救助, 商业保险, 个人账户, 个人现金) add up to
    ``total``; the other fields say what the total is made of (全自费, 超限价自费, 先行自付,
    符合政策范围) and how much of the deductible (起付线) this settlement used.
    """

    total: Decimal
    full_self_pay: Decimal
    over_limit_self_pay: Decimal
    pre_self_pay: Decimal
    in_scope: Decimal
    deductible: Decimal
    fund: Decimal
    catastrophic: Decimal
    assistance: Decimal
    commercial: Decimal
    account: Decimal
    cash: Decimal

    def __post_init__(self) -> None:
        for field in fields(self):
            _check_money(field.name, getattr(self, field.name))
        signs = {value > 0 for value in self.amounts().values() if value}
        if len(signs) > 1:
            raise ValueError("the split mixes positive and negative amounts")
        paid = sum((getattr(self, name) for name in PAYERS), Decimal(0))
        if paid != self.total:
            raise ValueError(f"the payers' shares add up to {paid}, not the total {self.total}")

    @classmethod
    def from_settlement(cls, settlement: object) -> InvoiceSplit:
        """The split read from any object with the same attribute names (a settlement)."""
        return cls(**{name: getattr(settlement, name) for name in SPLIT_LABELS})

    def amounts(self) -> dict[str, Decimal]:
        """The fields by name, in print order."""
        return {name: getattr(self, name) for name in SPLIT_LABELS}


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """What the invoice shows, already resolved to display values.

    ``institutions`` are those of the visit (one visit may span several); every line names
    one of them. The lines add up to ``split.total``. ``url`` is the absolute URL of the
    invoice's page on the platform; the QR code encodes it and the page enforces sign-in.
    ``id_number`` must already be masked. ``simulated`` marks an invoice whose payment went
    through the simulated payment provider (演示系统). ``reverses`` is the number of the
    invoice a red-letter invoice (红字票据) reverses; its amounts are then negative.
    """

    number: str
    issued: datetime
    payer_name: str
    id_number: str  # masked, e.g. 3307**********1234
    visit_date: date
    institutions: tuple[str, ...]
    lines: tuple[InvoiceLine, ...]
    split: InvoiceSplit
    url: str
    check_code: str
    simulated: bool = False
    insurance: str = ""  # e.g. 城乡居民医保, 职工医保, 自费
    visit_number: str = ""
    reverses: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an absolute http(s) URL, not {self.url!r}")
        if _FULL_ID.fullmatch(self.id_number.strip()):
            raise ValueError("id_number must be masked before it is printed")
        if not self.lines:
            raise ValueError("an invoice needs at least one line")
        if not self.institutions:
            raise ValueError("an invoice needs the institutions of the visit")
        unknown = {line.institution for line in self.lines} - set(self.institutions)
        if unknown:
            raise ValueError(f"lines name institutions not in the invoice: {sorted(unknown)}")
        charged = sum((line.amount for line in self.lines), Decimal(0))
        if charged != self.split.total:
            raise ValueError(f"the lines add up to {charged}, not the total {self.split.total}")
        if self.reverses and self.split.total >= 0:
            raise ValueError("a red-letter invoice (reverses set) has a negative total")
        if not self.reverses and self.split.total < 0:
            raise ValueError("a negative total is a red-letter invoice: set reverses")

    @property
    def title(self) -> str:
        """The invoice's title, ``医疗收费电子票据`` or ``医疗收费电子票据（红字）``."""
        return f"{TITLE}（红字）" if self.reverses else TITLE


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as an A4 PDF (Chinese), with a QR code of ``doc.url``.

    Many lines flow onto further pages under a repeated header row; every value is escaped,
    so patient data cannot inject Paragraph markup. The PDF's title is the invoice title and
    number.

    Args:
        doc: the resolved display data.

    Returns:
        The PDF file; the same document gives the same bytes.
    """
    register_font()
    buffer = BytesIO()
    document = a4_document(
        buffer,
        f"{doc.title} {clip(doc.number, 40)}",
        TITLE,
        clip("、".join(doc.institutions)),
    )

    def page(canvas: Canvas, _document: Any) -> None:
        if doc.simulated:  # drawn first, so the content lies over it
            canvas.saveState()
            canvas.setFont(FONT, 72)
            canvas.setFillColor(colors.HexColor("#f2dcdc"))
            canvas.translate(A4[0] / 2, A4[1] / 2)
            canvas.rotate(35)
            canvas.drawCentredString(0, 0, DEMO)
            canvas.restoreState()
        middle = f"{DEMO}：模拟支付，非真实票据" if doc.simulated else "扫码登录平台可查验本票据"
        draw_footer(canvas, f"票据号码 {clip(doc.number, 40)}", middle)

    story = [
        _header(doc),
        Spacer(1, 3 * mm),
        _particulars(doc),
        Spacer(1, 3 * mm),
        _lines(doc),
        KeepTogether([Spacer(1, 3 * mm), _settlement(doc)]),  # the box is never split
    ]
    document.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()


def _yuan(value: Decimal) -> str:
    """An amount in figures, ``1234.50`` (never ``-0.00``)."""
    return f"{value.copy_abs() if value.is_zero() else value:.2f}"


def _number(value: Decimal) -> str:
    """A quantity or unit price as written: ``2``, ``1.5``, ``0.035``, never ``1E+2``."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _price(value: Decimal) -> str:
    """A unit price: two places, or as many as the catalogue gives (``0.9650``)."""
    return _yuan(value) if value == value.quantize(_CENT) else format(value, "f")


def _header(doc: InvoiceDocument) -> Table:
    stamps: list[Any] = []
    if doc.simulated:
        stamps.append(_Stamp(DEMO, 13))
    if doc.reverses:
        stamps += [Spacer(1, 2 * mm)] if stamps else []
        stamps.append(_Stamp("红冲", 13))
    title = [
        para(doc.title, 20, align=TA_CENTER),
        Spacer(1, 3 * mm),
        para(f"票据号码：{clip(doc.number, 40)}", 10, align=TA_CENTER),
        para(f"开票时间：{moment_text(doc.issued, seconds=True)}", 9, align=TA_CENTER),
    ]
    qr = [QrCode(doc.url, _QR_SIZE), para("扫码查验（需登录）", 7, "#444444", TA_CENTER)]
    side = 34 * mm
    table = Table([[stamps, title, qr]], colWidths=[side, _WIDTH - 2 * side, side])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (0, 0), (0, 0), "CENTER"),
                ("ALIGN", (2, 0), (2, 0), "CENTER"),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.black),
            ]
        )
    )
    return table


def _particulars(doc: InvoiceDocument) -> Table:
    """Who paid for which visit: label, value, label, value."""

    def cell(text: str) -> Paragraph:
        return para(clip(text) if text else "—")

    rows = [
        [cell("交款人"), cell(doc.payer_name), cell("身份证号"), cell(doc.id_number)],
        [
            cell("就诊日期"),
            cell(day_text(doc.visit_date)),
            cell("就诊流水号"),
            cell(doc.visit_number),
        ],
        [cell("医保类型"), cell(doc.insurance), cell("校验码"), cell(doc.check_code)],
        [cell("就诊机构"), para(clip("、".join(doc.institutions), 400)), "", ""],
    ]
    label = 24 * mm
    return Table(
        rows,
        colWidths=[label, _WIDTH / 2 - label, label, _WIDTH / 2 - label],
        style=TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("INNERGRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), _SHADE),
                ("BACKGROUND", (2, 0), (2, -2), _SHADE),
                ("SPAN", (1, 3), (3, 3)),
            ]
        ),
    )


def _lines(doc: InvoiceDocument) -> Table:
    """The charged items, a subtotal per institution when there are several, the total in
    figures and in capitals. The header row repeats on every page the table runs onto."""
    heading = ["序号", "项目名称", "类别", "数量", "单价（元）", "金额（元）", "执行机构"]
    rows: list[list[Any]] = [[para(text, 9, align=TA_CENTER) for text in heading]]
    red: list[int] = []
    for n, line in enumerate(doc.lines, start=1):
        colour = _RED if line.amount < 0 else "#000000"
        if line.amount < 0:
            red.append(len(rows))
        rows.append(
            [
                para(str(n), 9, colour, TA_CENTER),
                para(clip(line.item), 9, colour),
                para(ITEM_CLASSES[line.item_class], 9, colour, TA_CENTER),
                para(_number(line.quantity), 9, colour, TA_RIGHT),
                para(_price(line.unit_price), 9, colour, TA_RIGHT),
                para(_yuan(line.amount), 9, colour, TA_RIGHT),
                para(clip(line.institution, 60), 9, colour),
            ]
        )
    spans: list[int] = []
    if len(doc.institutions) > 1:
        for institution in doc.institutions:
            subtotal = sum(
                (line.amount for line in doc.lines if line.institution == institution),
                Decimal(0),
            )
            spans.append(len(rows))
            rows.append(
                [
                    "",
                    para(f"小计：{clip(institution, 60)}", 9),
                    "",
                    "",
                    "",
                    para(_yuan(subtotal), 9, align=TA_RIGHT),
                    "",
                ]
            )
    total = doc.split.total
    capitals = len(rows)
    rows.append(
        [
            para("合计（大写）", 10),
            "",
            para(capital_amount(total), 11),
            "",
            "",
            para(f"（小写）￥{_yuan(total)}", 11, align=TA_RIGHT),
            "",
        ]
    )
    widths = [12, 50, 13, 15, 22, 24, 44]
    style: list[tuple[Any, ...]] = [
        ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
        ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEABOVE", (0, capitals), (-1, capitals), 0.8, colors.black),
        ("LINEBELOW", (0, "splitlast"), (-1, "splitlast"), 1.2, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
        ("BACKGROUND", (0, capitals), (1, capitals), _SHADE),
        ("SPAN", (0, capitals), (1, capitals)),
        ("SPAN", (2, capitals), (4, capitals)),
        ("SPAN", (5, capitals), (6, capitals)),
    ]
    for row in spans:
        style += [("SPAN", (1, row), (4, row)), ("BACKGROUND", (0, row), (-1, row), "#f7f7f7")]
    return Table(rows, colWidths=[w * mm for w in widths], repeatRows=1, style=TableStyle(style))


def _settlement(doc: InvoiceDocument) -> Table:
    """The split box: what the total is made of, who paid it, and the notes."""
    amounts = list(doc.split.amounts().items())
    rows: list[list[Any]] = [[para("医保结算信息（单位：元）", 11), "", "", "", "", ""]]
    for start in range(0, len(amounts), 3):
        row: list[Any] = []
        for name, value in amounts[start : start + 3]:
            bold = name in ("total", "cash")
            row += [
                para(SPLIT_LABELS[name], 10),
                para(_yuan(value), 11 if bold else 10, align=TA_RIGHT),
            ]
        rows.append(row)
    notes = _notes(doc)
    rows.append([para("备注"), para("\n".join(notes) if notes else "无"), "", "", "", ""])
    label = 26 * mm
    value = _WIDTH / 3 - label
    shaded = [("BACKGROUND", (col, 1), (col, -2), _SHADE) for col in (0, 2, 4)]
    return Table(
        rows,
        colWidths=[label, value] * 3,
        style=TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("INNERGRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("SPAN", (0, 0), (-1, 0)),
                ("BACKGROUND", (0, 0), (-1, 0), "#d9d9d9"),
                ("LINEBELOW", (0, 2), (-1, 2), 1.2, colors.black),  # made of | paid by
                ("SPAN", (1, -1), (-1, -1)),
                ("BACKGROUND", (0, -1), (0, -1), _SHADE),
                *shaded,
            ]
        ),
    )


def _notes(doc: InvoiceDocument) -> list[str]:
    notes = []
    if doc.reverses:
        notes.append(f"红冲：本票据冲红原票据 {clip(doc.reverses, 40)}，金额以负数列示。")
    elif any(line.amount < 0 for line in doc.lines):
        notes.append("负数行为退费项目；医保结算信息为退费后重新结算的金额。")
    if doc.simulated:
        notes.append(f"{DEMO}：经模拟支付渠道收费，非真实收费票据，不能用于报销。")
    if doc.note:
        notes.append(clip(doc.note, 400))
    return notes


class _Stamp(Flowable):
    """A red boxed word beside the title (演示系统, 红冲)."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.text = text
        self.size = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = pdfmetrics.stringWidth(self.text, FONT, self.size) + self.size
        self.height = self.size * 1.8
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setStrokeColor(colors.HexColor(_RED))
        canvas.setFillColor(colors.HexColor(_RED))
        canvas.setLineWidth(1.5)
        canvas.rect(0, 0, self.width, self.height, stroke=1, fill=0)
        canvas.setFont(FONT, self.size)
        canvas.drawCentredString(self.width / 2, self.height / 2 - self.size * 0.35, self.text)
        canvas.restoreState()
