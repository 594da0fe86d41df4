"""The e-invoice PDF: its text read back from the file (with the referral form's small PDF
reader, so the checks always run), the amounts in figures and in capital numerals, the split,
refunds, the demo marking and the QR code, whatever the data holds."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from countyhealth.billing.invoice_pdf import (
    InvoiceDocument,
    InvoiceLine,
    InvoiceSplit,
    capital_amount,
    render_invoice_pdf,
)
from tests.referral.test_form_pdf import Pdf, qr_modules

URL = "http://county.example/app/invoices/inv-0001"
RED = b".752941 0 0"  # #c00000
D = Decimal
TOWN = "城关镇卫生院"
COUNTY = "县人民医院"
LINES = (
    InvoiceLine("普通门诊诊察费", "A", D("1"), D("10.00"), D("10.00"), TOWN),
    InvoiceLine("血常规（五分类）", "A", D("1"), D("25.00"), D("25.00"), COUNTY),
    InvoiceLine("胸部CT平扫", "B", D("1"), D("180.00"), D("180.00"), COUNTY),
    InvoiceLine("苯磺酸氨氯地平片 5mg×28片", "B", D("2"), D("0.9650"), D("1.93"), COUNTY),
    InvoiceLine("阿托伐他汀钙片 20mg×7片", "B", D("4"), D("18.50"), D("74.00"), TOWN),
    InvoiceLine("一次性静脉采血针", "C", D("1"), D("2.57"), D("2.57"), COUNTY),
)


def split(total: Decimal, fund: Decimal = D("0"), **shares: Decimal) -> InvoiceSplit:
    """A split of ``total``: the given shares, and what is left in cash."""
    values = dict.fromkeys(
        ["full_self_pay", "over_limit_self_pay", "pre_self_pay", "in_scope", "deductible"],
        D("0"),
    )
    values |= dict.fromkeys(["catastrophic", "assistance", "commercial", "account"], D("0"))
    values |= shares
    paid = fund + sum(values[name] for name in ("catastrophic", "assistance", "commercial"))
    cash = total - paid - values["account"]
    return InvoiceSplit(total=total, fund=fund, cash=cash, **values)


SPLIT = split(
    D("293.50"),
    fund=D("159.20"),
    full_self_pay=D("2.57"),
    over_limit_self_pay=D("1.00"),
    pre_self_pay=D("25.59"),
    in_scope=D("264.34"),
    deductible=D("50.00"),
    catastrophic=D("12.30"),
    assistance=D("8.00"),
    commercial=D("5.55"),
    account=D("20.00"),
)


def sample(**changes: Any) -> InvoiceDocument:
    document = InvoiceDocument(
        number="3301250000012345",
        issued=datetime(2026, 12, 1, 2, 5, 9, tzinfo=UTC),
        payer_name="张秀英",
        id_number="3307**********1234",
        visit_date=date(2026, 12, 1),
        institutions=(TOWN, COUNTY),
        lines=LINES,
        split=SPLIT,
        url=URL,
        check_code="8a3f2c",
        insurance="城乡居民医保",
        visit_number="V20261201-0007",
    )
    return dataclasses.replace(document, **changes)


def follows(runs: list[str], label: str) -> str:
    """The string shown right after ``label`` (the next cell of a label/value table)."""
    return runs[runs.index(label) + 1]


# --- capital numerals


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1234.50", "壹仟贰佰叁拾肆元伍角整"),
        ("0.05", "伍分"),
        ("100", "壹佰元整"),
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("0.50", "伍角整"),
        ("0.55", "伍角伍分"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("110", "壹佰壹拾元整"),
        ("1010", "壹仟零壹拾元整"),
        ("12.5", "壹拾贰元伍角整"),
        ("1.500", "壹元伍角整"),
        ("3E+2", "叁佰元整"),
        # the examples of 《支付结算办法》附件一
        ("1409.50", "壹仟肆佰零玖元伍角整"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万零柒仟元伍角叁分"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        # zeros across 万 and 亿
        ("10000", "壹万元整"),
        ("100500", "壹拾万零伍佰元整"),
        ("105000", "壹拾万零伍仟元整"),
        ("1000100", "壹佰万零壹佰元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("123456789012.34", "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
        ("1000000000000", "壹万亿元整"),
        (
            "9999999999999999.99",
            "玖仟玖佰玖拾玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
        ),
        # a red-letter invoice
        ("-100", "负壹佰元整"),
        ("-0.05", "负伍分"),
        ("-0", "零元整"),
    ],
)
def test_capital_numerals(amount: str, words: str) -> None:
    assert capital_amount(Decimal(amount)) == words


def parse_capital(words: str) -> Decimal:
    """Capital numerals back to an amount: the reverse of what is tested, written the other
    way round (by place value, not by digit position)."""
    digits = "零壹贰叁肆伍陆柒捌玖"
    places = {"拾": 10, "佰": 100, "仟": 1000}
    groups = {"兆": 10**12, "亿": 10**8, "万": 10**4}  # 兆 stands for 万亿 here
    negative = words.startswith("负")
    words = words.removeprefix("负").removesuffix("整")
    yuan_words, _, fraction = words.rpartition("元")
    total = group = digit = 0
    for char in yuan_words.replace("万亿", "兆"):
        if char in digits:
            digit = digits.index(char)
        elif char in places:
            group, digit = group + digit * places[char], 0
        else:
            total, group, digit = total + (group + digit) * groups[char], 0, 0
    match = re.fullmatch("零?(?:(.)角)?(?:(.)分)?", fraction)
    assert match, words
    jiao, fen = (digits.index(part) if part else 0 for part in match.groups())
    amount = Decimal(total + group + digit) + Decimal(jiao) / 10 + Decimal(fen) / 100
    return -amount if negative else amount


@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1))
def test_capital_numerals_read_back(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    words = capital_amount(amount)
    assert parse_capital(words) == amount
    if cents:  # one 零 at most in a row, never first, never before a unit
        assert not re.search("零零|^负?零|零[拾佰仟万亿元角分整]", words), words


@pytest.mark.parametrize(
    ("amount", "error", "message"),
    [
        (1234.5, TypeError, "Decimal, not float"),
        (100, TypeError, "Decimal, not int"),
        ("100", TypeError, "Decimal, not str"),
        (Decimal("0.001"), ValueError, "whole fen"),
        (Decimal("NaN"), ValueError, "finite"),
        (Decimal("-Infinity"), ValueError, "finite"),
        (Decimal("1E+16"), ValueError, "beyond"),
    ],
)
def test_capital_numerals_refuse(amount: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        capital_amount(amount)


# --- the PDF


def test_a_well_formed_a4_pdf_with_one_page() -> None:
    pdf = Pdf(render_invoice_pdf(sample()))
    assert len(pdf.pages) == 1
    page = pdf.objects[pdf.pages[0]]
    assert re.search(rb"/MediaBox \[ 0 0 595\.27\d* 841\.889\d* \]", page)
    assert b"/Lang (zh-CN)" in pdf.catalog
    assert pdf.info_value("Title") == "医疗收费电子票据 3301250000012345"
    assert pdf.info_value("Author") == "城关镇卫生院、县人民医院"


def test_the_text_reads_back_in_chinese() -> None:
    pdf = Pdf(render_invoice_pdf(sample()))
    runs = pdf.runs()
    assert "医疗收费电子票据" in runs
    assert "票据号码：3301250000012345" in runs
    assert "开票时间：2026年12月1日 10:05:09" in runs  # 02:05 UTC in county time
    for label, value in [
        ("交款人", "张秀英"),
        ("身份证号", "3307**********1234"),
        ("就诊日期", "2026年12月1日"),
        ("就诊流水号", "V20261201-0007"),
        ("医保类型", "城乡居民医保"),
        ("校验码", "8a3f2c"),
        ("就诊机构", "城关镇卫生院、县人民医院"),
    ]:
        assert follows(runs, label) == value, label


def test_each_line_is_printed() -> None:
    runs = Pdf(render_invoice_pdf(sample())).runs()
    start = runs.index("执行机构") + 1
    rows = [runs[start + 7 * n : start + 7 * n + 7] for n in range(len(LINES))]
    assert rows == [
        ["1", "普通门诊诊察费", "甲类", "1", "10.00", "10.00", TOWN],
        ["2", "血常规（五分类）", "甲类", "1", "25.00", "25.00", COUNTY],
        ["3", "胸部CT平扫", "乙类", "1", "180.00", "180.00", COUNTY],
        ["4", "苯磺酸氨氯地平片 5mg×28片", "乙类", "2", "0.9650", "1.93", COUNTY],
        ["5", "阿托伐他汀钙片 20mg×7片", "乙类", "4", "18.50", "74.00", TOWN],
        ["6", "一次性静脉采血针", "丙类", "1", "2.57", "2.57", COUNTY],
    ]


def test_the_total_in_figures_and_in_capitals() -> None:
    runs = Pdf(render_invoice_pdf(sample())).runs()
    assert follows(runs, "合计（大写）") == "贰佰玖拾叁元伍角整"
    assert "（小写）￥293.50" in runs


def test_several_institutions_get_a_subtotal_each() -> None:
    runs = Pdf(render_invoice_pdf(sample())).runs()
    assert follows(runs, f"小计：{TOWN}") == "84.00"
    assert follows(runs, f"小计：{COUNTY}") == "209.50"
    town = tuple(dataclasses.replace(line, institution=TOWN) for line in LINES)
    runs = Pdf(render_invoice_pdf(sample(institutions=(TOWN,), lines=town))).runs()
    assert not [text for text in runs if text.startswith("小计")]


def test_the_split_box_shows_every_field() -> None:
    runs = Pdf(render_invoice_pdf(sample())).runs()
    assert "医保结算信息（单位：元）" in runs
    expected = {
        "医疗费总额": "293.50",
        "全自费": "2.57",
        "超限价自费": "1.00",
        "先行自付": "25.59",
        "符合政策范围": "264.34",
        "起付线": "50.00",
        "统筹基金": "159.20",
        "大病保险": "12.30",
        "医疗救助": "8.00",
        "商业保险": "5.55",
        "个人账户": "20.00",
        "个人现金": "88.45",
    }
    assert {label: follows(runs, label) for label in expected} == expected
    assert follows(runs, "备注") == "无"


def test_the_split_is_read_from_a_settlement() -> None:
    settlement = SimpleNamespace(**SPLIT.amounts(), explain=["…"], lines=[])
    assert InvoiceSplit.from_settlement(settlement) == SPLIT


def test_an_invoice_from_the_simulated_provider_says_so() -> None:
    pdf = Pdf(render_invoice_pdf(sample(simulated=True)))
    runs = pdf.runs()
    assert runs.count("演示系统") == 2  # the stamp beside the title, the watermark
    assert "演示系统：模拟支付，非真实票据" in runs  # the footer
    assert "演示系统：经模拟支付渠道收费，非真实收费票据，不能用于报销。" in runs
    assert not [text for text in Pdf(render_invoice_pdf(sample())).runs() if "演示" in text]


def test_refunded_lines_are_negative_and_red() -> None:
    refunded = InvoiceLine("胸部CT平扫（退）", "B", D("-1"), D("180.00"), D("-180.00"), COUNTY)
    document = sample(lines=(*LINES, refunded), split=split(D("113.50"), fund=D("60.00")))
    pdf = Pdf(render_invoice_pdf(document))
    red = [text for text, colour in pdf.coloured_runs() if colour == RED]
    assert red == ["7", "胸部CT平扫（退）", "乙类", "-1", "180.00", "-180.00", COUNTY]
    runs = pdf.runs()
    assert follows(runs, "合计（大写）") == "壹佰壹拾叁元伍角整"
    assert follows(runs, f"小计：{COUNTY}") == "29.50"
    assert follows(runs, "统筹基金") == "60.00" and follows(runs, "个人现金") == "53.50"
    assert "负数行为退费项目；医保结算信息为退费后重新结算的金额。" in runs


def test_a_red_letter_invoice_reverses_another() -> None:
    reversed_lines = tuple(
        dataclasses.replace(line, quantity=-line.quantity, amount=-line.amount) for line in LINES
    )
    negative = InvoiceSplit(**{name: -value for name, value in SPLIT.amounts().items()})
    document = sample(
        number="3301250000012399",
        lines=reversed_lines,
        split=negative,
        reverses="3301250000012345",
        note="患者申请全额退费",
    )
    pdf = Pdf(render_invoice_pdf(document))
    runs = pdf.runs()
    assert pdf.info_value("Title") == "医疗收费电子票据（红字） 3301250000012399"
    assert "医疗收费电子票据（红字）" in runs and "红冲" in runs
    assert follows(runs, "合计（大写）") == "负贰佰玖拾叁元伍角整"
    assert "（小写）￥-293.50" in runs
    assert follows(runs, "个人现金") == "-88.45"
    assert "红冲：本票据冲红原票据 3301250000012345，金额以负数列示。" in runs
    assert "患者申请全额退费" in runs
    assert len([1 for _text, colour in pdf.coloured_runs() if colour == RED]) == 7 * 6 + 1


def test_the_qr_code_holds_the_invoice_url() -> None:
    pdf = Pdf(render_invoice_pdf(sample()))
    expected = segno.make_qr(URL, error="m").matrix
    dark = {(x, y) for y, row in enumerate(expected) for x, bit in enumerate(row) if bit}
    assert qr_modules(pdf.content(0)) == dark
    assert "扫码查验（需登录）" in pdf.runs()


@pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="decoding the printed QR code needs pdftoppm (poppler-utils) and zbarimg (zbar-tools)",
)
def test_the_printed_qr_code_scans(tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(render_invoice_pdf(sample(simulated=True)))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", "invoice.pdf", "invoice"],
        cwd=tmp_path,
        check=True,
    )
    scanned = subprocess.run(
        ["zbarimg", "--raw", "-q", "invoice.png"], cwd=tmp_path, capture_output=True, check=True
    )
    assert scanned.stdout.decode().strip() == URL


def test_markup_and_odd_characters_in_the_data_are_printed_as_text() -> None:
    hostile = "<script>alert(1)</script> </para> <b>粗</b> &amp; &nbsp; <font size=99>x"
    lines = (
        InvoiceLine(hostile, "C", D("1"), D("1.00"), D("1.00"), "</para><para>"),
        InvoiceLine("吉\x00\x07\t祥 𠮷 ¥5", "C", D("1"), D("2.00"), D("2.00"), "</para><para>"),
    )
    document = sample(
        payer_name="<i>阿依古丽·买买提</i>",
        institutions=("</para><para>",),
        lines=lines,
        split=split(D("3.00")),
        note='=HYPERLINK("http://evil") <br/> ]]>',
    )
    pdf = Pdf(render_invoice_pdf(document))
    text = pdf.text()
    runs = pdf.runs()
    assert hostile in text
    assert follows(runs, "交款人") == "<i>阿依古丽・买买提</i>"
    assert "吉 祥 〓 ￥5" in runs
    assert runs.count("</para><para>") == 3  # the institutions row and two lines
    assert '=HYPERLINK("http://evil") <br/> ]]>' in runs


def test_many_lines_flow_onto_more_pages_under_the_header_row() -> None:
    lines = tuple(
        InvoiceLine(
            f"检验项目{n:03d}" + "（长名称）" * (n % 5), "B", D("1"), D("3.10"), D("3.10"), TOWN
        )
        for n in range(120)
    )
    document = sample(institutions=(TOWN,), lines=lines, split=split(D("372.00")))
    pdf = Pdf(render_invoice_pdf(document))
    assert len(pdf.pages) >= 3
    for page in range(len(pdf.pages)):
        runs = pdf.runs(page)
        assert "项目名称" in runs and f"第 {page + 1} 页" in runs
    text = pdf.text()
    assert all(f"检验项目{n:03d}" in text for n in range(120))
    last = pdf.runs(len(pdf.pages) - 1)
    assert follows(last, "合计（大写）") == "叁佰柒拾贰元整"
    assert "医保结算信息（单位：元）" in last


def test_the_same_invoice_gives_the_same_bytes() -> None:
    assert render_invoice_pdf(sample(simulated=True)) == render_invoice_pdf(sample(simulated=True))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "/app/invoices/inv-0001"}, "absolute"),
        ({"id_number": "330782199001011234"}, "masked"),
        ({"id_number": "33078219900101123X"}, "masked"),
        ({"lines": ()}, "at least one line"),
        ({"institutions": ()}, "institutions"),
        ({"institutions": (TOWN,)}, "not in the invoice"),
        ({"lines": LINES[:-1]}, r"lines add up to 290\.93, not the total 293\.50"),
        ({"reverses": "3301250000012300"}, "negative total"),
    ],
)
def test_an_invoice_refuses_what_does_not_add_up(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample(**changes)


def test_a_negative_total_needs_reverses() -> None:
    lines = (InvoiceLine("退费", "A", D("-1"), D("5.00"), D("-5.00"), TOWN),)
    with pytest.raises(ValueError, match="set reverses"):
        sample(lines=lines, split=split(D("-5.00")))


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"item_class": "D"}, ValueError, "item_class"),
        ({"amount": 10.0}, TypeError, "amount must be a Decimal"),
        ({"quantity": 1}, TypeError, "quantity must be a Decimal"),
        ({"amount": D("10.001")}, ValueError, "whole fen"),
        ({"unit_price": D("-10")}, ValueError, "negative"),
        ({"quantity": D("-1")}, ValueError, "differ in sign"),
        ({"quantity": D("NaN")}, ValueError, "finite"),
    ],
)
def test_a_line_refuses_bad_values(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        dataclasses.replace(LINES[0], **changes)


def test_a_split_refuses_what_does_not_add_up() -> None:
    with pytest.raises(ValueError, match=r"add up to 293\.49, not the total 293\.50"):
        dataclasses.replace(SPLIT, cash=SPLIT.cash - D("0.01"))
    with pytest.raises(ValueError, match="mixes positive and negative"):
        dataclasses.replace(SPLIT, fund=D("-10"), cash=SPLIT.cash + SPLIT.fund + D("10"))
    binary: Any = 159.2
    with pytest.raises(TypeError, match="fund must be a Decimal, not float"):
        dataclasses.replace(SPLIT, fund=binary)
