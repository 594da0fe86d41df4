"""What the platform's printed documents share (the referral form, the e-invoice): Chinese text
set in ``STSong-Light`` — one of the Adobe standard CJK fonts, which the PDF names and the
reader supplies, so the server needs no font file — escaped paragraphs with CJK line
breaking, dates in Chinese, and QR codes drawn as vector paths (segno encodes them, as it does
the web UI's)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from io import BytesIO
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

from .scheduling.calendar import COUNTY_TZ

FONT = "STSong-Light"
#: Shown for a character the font's UCS-2 encoding cannot carry (outside the BMP, e.g. a rare
#: name character of CJK Extension B): the customary 〓 rather than a broken glyph.
UNPRINTABLE = "〓"
#: Readers that stand a system CJK font in for STSong-Light (poppler's, among others) draw a
#: box for a few Latin-1 code points; these are written with the CJK forms instead (the middle
#: dot of a name such as 阿依古丽·买买提, the micro sign, the vertical bar, the yen sign).
_GLYPHS = str.maketrans({"·": "・", "•": "・", "µ": "μ", "|": "｜", "¥": "￥"})
_SUPERSCRIPTS = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


@cache
def register_font() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@cache
def style(size: float = 10, colour: str = "#000000", align: int = 0) -> ParagraphStyle:
    return ParagraphStyle(
        f"ch-{size}-{colour}-{align}",
        fontName=FONT,
        fontSize=size,
        leading=size * 1.4,
        textColor=colors.HexColor(colour),
        alignment=align,
        wordWrap="CJK",
    )


def printable(text: str) -> str:
    """``text`` as a document can print it: no control characters, 〓 for what UCS-2 cannot
    encode, CJK forms for the Latin-1 signs some readers miss, ``10^9`` for ``10⁹``."""
    kept = []
    for char in text.translate(_GLYPHS):
        if char == "\t":
            kept.append(" ")
        elif char == "\n" or unicodedata.category(char) not in ("Cc", "Cs"):
            kept.append(char if ord(char) <= 0xFFFF else UNPRINTABLE)
    return _SUPERSCRIPTS.sub(lambda run: "^" + run[0].translate(_DIGITS), "".join(kept))


def para(text: str, size: float = 10, colour: str = "#000000", align: int = 0) -> Paragraph:
    """Plain text as a Paragraph: escaped (markup in the data stays text), newlines kept."""
    markup = escape(printable(text)).replace("\n", "<br/>")
    return Paragraph(markup, style(size, colour, align))


def clip(text: str, limit: int = 120) -> str:
    """A one-line field at most ``limit`` characters (a longer one is not a name or a label,
    and a cell taller than the page could not be laid out)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def day_text(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def moment_text(value: datetime, seconds: bool = False) -> str:
    local = value.astimezone(COUNTY_TZ) if value.tzinfo else value
    return (
        f"{day_text(local.date())} {local:%H:%M:%S}"
        if seconds
        else f"{day_text(local.date())} {local:%H:%M}"
    )


class QrCode(Flowable):
    """A QR code (ISO/IEC 18004, error correction M, 4-module quiet zone) ``size`` points
    square, drawn as one filled path so no hairlines show between modules."""

    def __init__(self, value: str, size: float) -> None:
        super().__init__()
        self.value = value
        self.size = size
        self.matrix: Sequence[Sequence[int]] = segno.make_qr(value, error="m").matrix

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        count = len(self.matrix)
        module = self.size / (count + 8)
        canvas = self.canv
        canvas.saveState()
        canvas.translate(4 * module, self.size - 4 * module)
        canvas.scale(module, -module)  # module units, rows downwards
        path = canvas.beginPath()
        for y, row in enumerate(self.matrix):
            x = 0
            while x < count:
                if row[x]:
                    start = x
                    while x < count and row[x]:
                        x += 1
                    path.rect(start, y, x - start, 1)
                else:
                    x += 1
        canvas.setFillColor(colors.black)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


#: the margin of every printed page
MARGIN = 15 * mm


def a4_document(buffer: BytesIO, title: str, subject: str, author: str) -> SimpleDocTemplate:
    """An A4 document in Chinese with the platform's margins (room for the footer) whose
    output is the same bytes for the same content (``invariant``)."""
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=title,
        subject=subject,
        author=author,
        creator="CountyHealth",
        lang="zh-CN",
        invariant=1,
    )


def draw_footer(canvas: Canvas, left: str, middle: str) -> None:
    """The footer line of a page: ``left``, ``middle`` and the page number, in grey."""
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.setFillColor(colors.grey)
    canvas.drawString(MARGIN, MARGIN, printable(left))
    canvas.drawCentredString(A4[0] / 2, MARGIN, middle)
    canvas.drawRightString(A4[0] - MARGIN, MARGIN, f"第 {canvas.getPageNumber()} 页")
    canvas.restoreState()
