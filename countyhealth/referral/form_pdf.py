"""The printable two-way referral form (双向转诊单): one A4 PDF in Chinese, with a QR code.

The patient carries the printed form to the receiving institution. Its QR code holds the
absolute URL of the referral's page in the web UI (``http://<host>/app/referrals/<id>``), not
the referral itself: the page asks the reader to sign in and shows the referral only to staff
whose Repository grants access, so a lost or photographed form discloses no more than what is
printed on it, and the QR "resolves to the referral for authorised staff" and for no one else.

The caller resolves everything first (names, labels, the masked ID number, the summary lines)
and passes a :class:`ReferralForm`; this module only lays it out. The text is set in
``STSong-Light``, one of the Adobe standard CJK fonts every PDF reader knows: the file names
the font and the reader supplies the glyphs (Adobe Reader and browsers from their own font
packs, other readers from the system's CJK font, e.g. SimSun on Chinese Windows), so the
server needs no font file. The output is byte-for-byte deterministic for the same form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any, Literal

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from ..printing import (
    QrCode,
    a4_document,
    clip,
    day_text,
    draw_footer,
    moment_text,
    para,
    register_font,
    style,
)

TITLE = "双向转诊单"
DIRECTIONS = {"up": "上转", "down": "下转"}
URGENCIES = {"routine": "普通", "urgent": "紧急"}
#: A table row holds at most this many characters of the note (about a dozen lines).
_BLOCK = 400
_SENTENCE_END = re.compile("(?<=[。！？；.!?;])")
_MARGIN = 15 * mm
_WIDTH = A4[0] - 2 * _MARGIN
_QR_SIZE = 32 * mm
_RED = colors.HexColor("#c00000")
_SHADE = colors.HexColor("#eeeeee")


@dataclass(frozen=True, slots=True)
class ReferralForm:
    """What the form shows, already resolved to display text.

    ``url`` is the absolute URL of the referral's page in the web UI; the QR code encodes it
    and the page itself enforces sign-in and access, which is how the QR resolves to the
    referral for authorised staff only. ``id_number`` must already be masked by the caller.
    Summary sections are lines as they should read, e.g. ``"血压 182/112 mmHg 2026-12-01"``.
    """

    referral_id: str
    direction: Literal["up", "down"]
    urgency: Literal["routine", "urgent"]
    status: str  # the business state in Chinese, e.g. 待接收
    patient_name: str
    sex: str
    id_number: str  # masked, e.g. 3426**********1234
    from_organization: str
    requesting_doctor: str
    to_organization: str
    to_department: str  # department, or the family-doctor team of a down-referral
    authored: datetime
    reason_code: str  # ICD-10
    reason_display: str
    url: str
    age: int | None = None
    birth_date: date | None = None
    diagnoses: tuple[str, ...] = ()
    observations: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    note: str = ""
    consent_from: date | None = None
    consent_to: date | None = None
    appointment: datetime | None = None
    queue_number: int | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'up' or 'down', not {self.direction!r}")
        if self.urgency not in URGENCIES:
            raise ValueError(f"urgency must be 'routine' or 'urgent', not {self.urgency!r}")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an absolute http(s) URL, not {self.url!r}")

    @property
    def title(self) -> str:
        """The form's title, e.g. ``双向转诊单（上转）``."""
        return f"{TITLE}（{DIRECTIONS[self.direction]}）"


def render_referral_pdf(form: ReferralForm) -> bytes:
    """The referral form as an A4 PDF (Chinese), with a QR code of ``form.url``.

    Long text wraps and flows onto further pages; every value is escaped, so patient data
    cannot inject Paragraph markup. The PDF's title is the form title and the referral id.

    Args:
        form: the resolved display data.

    Returns:
        The PDF file; the same form gives the same bytes.
    """
    register_font()
    buffer = BytesIO()
    document = a4_document(
        buffer, f"{form.title} {form.referral_id}", TITLE, form.from_organization
    )

    def footer(canvas: Canvas, _document: Any) -> None:
        draw_footer(
            canvas, f"转诊编号 {clip(form.referral_id, 40)}", "本单含个人健康信息，请妥善保管"
        )

    document.build(
        [_header(form), Spacer(1, 4 * mm), _body(form)], onFirstPage=footer, onLaterPages=footer
    )
    return buffer.getvalue()


def _header(form: ReferralForm) -> Table:
    urgent = form.urgency == "urgent"
    stamp = para(
        URGENCIES[form.urgency], 22 if urgent else 12, "#c00000" if urgent else "#666666", TA_CENTER
    )
    title = [
        para(form.title, 20, align=TA_CENTER),
        Spacer(1, 3 * mm),
        para(f"转诊编号：{clip(form.referral_id)}", 9, align=TA_CENTER),
        para(f"开单时间：{moment_text(form.authored)}", 9, align=TA_CENTER),
        para(f"状态：{clip(form.status)}", 9, align=TA_CENTER),
    ]
    qr = [QrCode(form.url, _QR_SIZE), para("扫码查看（需登录授权）", 7, "#444444", TA_CENTER)]
    table = Table([[stamp, title, qr]], colWidths=[28 * mm, _WIDTH - 28 * mm - 36 * mm, 36 * mm])
    style = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (2, 0), (2, 0), "CENTER"),
        ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.black),
    ]
    if urgent:
        style += [("BOX", (0, 0), (0, 0), 2, _RED), ("BACKGROUND", (0, 0), (0, 0), "#fff0f0")]
    table.setStyle(TableStyle(style))
    return table


def _body(form: ReferralForm) -> Table:
    """The form's grid: label, value, label, value; section rows across.

    A table row cannot break across pages, so long text comes as several rows of one group
    (a row per summary line, the note in blocks of sentences) with no rule between them: the
    table then breaks between any two rows, and nothing is taller than a page.
    """
    rows: list[list[Any]] = []
    sections: list[int] = []
    wide: list[int] = []
    continued: set[int] = set()  # rows that carry on the group above them

    def section(text: str) -> None:
        sections.append(len(rows))
        rows.append([para(text, 11), "", "", ""])

    def pair(label: str, value: str, label2: str, value2: str | Paragraph) -> None:
        if not isinstance(value2, Paragraph):
            value2 = para(clip(value2))
        rows.append([para(label), para(clip(value)), para(label2), value2])

    def across(label: str, blocks: Sequence[Paragraph]) -> None:
        for n, block in enumerate(blocks):
            if n:
                continued.add(len(rows))
            wide.append(len(rows))
            rows.append([para(label) if n == 0 else "", block, "", ""])

    def listed(label: str, lines: Sequence[str]) -> None:
        numbered = [
            para(block)
            for n, line in enumerate(lines, start=1)
            for block in _blocks(f"{n}. {line}")
        ]
        across(label, numbered or [para("无", colour="#666666")])

    age = f"{form.age}岁" if form.age is not None else ""
    if form.birth_date:
        age = f"{age}（{day_text(form.birth_date)}生）" if age else day_text(form.birth_date)
    urgent = form.urgency == "urgent"
    urgency = para(
        URGENCIES[form.urgency], 12 if urgent else 10, "#c00000" if urgent else "#000000"
    )
    consent = (
        f"{day_text(form.consent_from)} 至 {day_text(form.consent_to)}"
        if form.consent_from or form.consent_to
        else "未授权"
    )
    booked = "未预约"
    if form.appointment:
        booked = moment_text(form.appointment)
        if form.queue_number is not None:
            booked += f"，第 {form.queue_number} 号"

    section("一、患者信息")
    pair("姓名", form.patient_name, "性别", form.sex)
    pair("年龄", age, "身份证号", form.id_number)
    section("二、转诊信息")
    pair("转出机构", form.from_organization, "申请医生", form.requesting_doctor)
    pair("转入机构", form.to_organization, "转入科室/团队", form.to_department)
    pair("转诊类型", DIRECTIONS[form.direction], "紧急程度", urgency)
    reason = clip(f"{form.reason_code} {form.reason_display}")
    across("转诊原因", [para(f"{reason}（ICD-10）")])
    section("三、病情摘要")
    listed("近期诊断", form.diagnoses)
    listed("近期检查", form.observations)
    listed("当前用药", form.medications)
    note = [para(block) for block in _blocks(form.note)]
    across("备注", note or [para("无", colour="#666666")])
    section("四、知情同意与预约")
    pair("授权查阅期限", consent, "预约就诊", booked)
    signatures = len(rows)
    rows.append([para("转出医生签名"), _signed_on(), para("接诊医生签名"), _signed_on()])

    style: list[tuple[Any, ...]] = [
        ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
        # where the table breaks across pages, each part is closed by a rule
        ("LINEBELOW", (0, "splitlast"), (-1, "splitlast"), 1.2, colors.black),
        ("LINEABOVE", (0, "splitfirst"), (-1, "splitfirst"), 1.2, colors.black),
        ("LINEAFTER", (0, 0), (-2, -1), 0.6, colors.black),  # not drawn inside spans
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (0, -1), _SHADE),
        ("BACKGROUND", (2, 0), (2, -1), _SHADE),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    for row in range(len(rows) - 1):
        if row + 1 not in continued:
            style.append(("LINEBELOW", (0, row), (-1, row), 0.6, colors.black))
        else:
            style += [("TOPPADDING", (0, row + 1), (-1, row + 1), 0)]
            style += [("BOTTOMPADDING", (0, row), (-1, row), 0)]
    for row in sections:
        style += [("SPAN", (0, row), (-1, row)), ("BACKGROUND", (0, row), (-1, row), "#d9d9d9")]
    for row in wide:
        style += [("SPAN", (1, row), (-1, row)), ("BACKGROUND", (2, row), (2, row), colors.white)]
    style.append(("VALIGN", (0, signatures), (-1, signatures), "BOTTOM"))
    label = 28 * mm
    return Table(
        rows,
        colWidths=[label, _WIDTH / 2 - label, label, _WIDTH / 2 - label],
        style=TableStyle(style),
    )


def _blocks(text: str, limit: int = _BLOCK) -> list[str]:
    """``text`` in blocks of at most ``limit`` characters: its paragraphs, long ones cut after
    a sentence (or, for a sentence longer than ``limit``, anywhere)."""
    blocks: list[str] = []
    for paragraph in text.splitlines():
        current = ""
        for sentence in _SENTENCE_END.split(paragraph.strip()):
            while len(sentence) > limit:
                if current:
                    blocks.append(current)
                    current = ""
                blocks.append(sentence[:limit])
                sentence = sentence[limit:]
            if len(current) + len(sentence) > limit:
                blocks.append(current)
                current = ""
            current += sentence
        if current.strip():
            blocks.append(current)
    return blocks


def _signed_on() -> list[Any]:
    """A signature cell: room to sign, then 年 月 日 (ideographic spaces as character
    references, which Paragraph keeps; typed ones it collapses like any white space)."""
    gap = "&#x3000;" * 3
    return [Spacer(1, 12 * mm), Paragraph(f"{gap}年{gap}月{gap}日", style(10, align=TA_RIGHT))]
