"""The printable referral form: a well-formed A4 PDF whose text (read back from the file with a
small PDF reader below, so the checks always run), title, QR code and page flow are what the
form promises, whatever the patient data holds."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import segno

from countyhealth.referral.form_pdf import ReferralForm, render_referral_pdf

URL = "http://county.example/app/referrals/sr-0001234"
CST = timezone(timedelta(hours=8))


def sample(**changes: Any) -> ReferralForm:
    form = ReferralForm(
        referral_id="sr-0001234",
        direction="up",
        urgency="routine",
        status="待接收",
        patient_name="张秀英",
        sex="女",
        age=67,
        birth_date=date(1959, 3, 2),
        id_number="3426**********1234",
        from_organization="城关镇卫生院",
        requesting_doctor="李明",
        to_organization="县人民医院",
        to_department="心血管内科",
        authored=datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
        reason_code="I10",
        reason_display="原发性高血压",
        url=URL,
        diagnoses=("I10 原发性高血压 2019-05-12", "E11.9 2型糖尿病 2021-03-08"),
        observations=("血压 182/112 mmHg 2026-12-01", "空腹血糖 9.8 mmol/L 2026-11-28"),
        medications=("苯磺酸氨氯地平片 5 mg 每日一次",),
        note="自测血压多次超过 180/110 mmHg。",
        consent_from=date(2026, 12, 1),
        consent_to=date(2027, 2, 28),
        appointment=datetime(2026, 12, 3, 9, 30, tzinfo=CST),
        queue_number=12,
    )
    return dataclasses.replace(form, **changes)


# --- a small PDF reader: enough for ReportLab's output, and strict about the file's structure


def objects(pdf: bytes) -> dict[int, bytes]:
    """The file's objects by number, read through its cross-reference table (every offset
    must point at its object)."""
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf)[1])  # type: ignore[index]
    table = re.match(rb"xref\s+0 (\d+)\s+", pdf[start:])
    assert table, "no cross-reference table at startxref"
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", pdf[start : start + 40 + 20 * int(table[1])])
    assert len(entries) == int(table[1])
    found = {}
    for number, (offset, _generation, kind) in enumerate(entries):
        if kind == b"n":
            body = re.match(rb"%d 0 obj\s(.*?)endobj" % number, pdf[int(offset) :], re.S)
            assert body, f"object {number} is not at offset {int(offset)}"
            found[number] = body[1]
    return found


def stream(body: bytes) -> bytes:
    """An object's stream, decoded through its filters."""
    data = re.search(rb"stream\r?\n(.*?)endstream", body, re.S)[1]  # type: ignore[index]
    filters = re.search(rb"/Filter \[?([^\]>]*)", body)
    for name in filters[1].split() if filters else []:
        if name == b"/ASCII85Decode":
            data = base64.a85decode(data.strip(), adobe=True)
        elif name == b"/FlateDecode":
            data = zlib.decompress(data)
        else:
            raise AssertionError(f"unexpected filter {name!r}")
    return data


def literal(raw: bytes) -> bytes:
    """A PDF literal string's bytes (PDF 1.7 §7.3.4.2)."""
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match[bytes]) -> bytes:
        token = match[1]
        if token[:1].isdigit():
            return bytes([int(token, 8) & 0xFF])
        return escapes.get(token, token)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, raw, flags=re.S)


def text_string(raw: bytes) -> str:
    """A text string (the document information): UTF-16 with a byte order mark, or Latin-1."""
    data = literal(raw)
    return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


class Pdf:
    def __init__(self, pdf: bytes) -> None:
        assert pdf.startswith(b"%PDF-1.")
        self.objects = objects(pdf)
        trailer = pdf[pdf.rindex(b"trailer") :]
        self.info = self.objects[int(re.search(rb"/Info (\d+) 0 R", trailer)[1])]  # type: ignore[index]
        root = self.objects[int(re.search(rb"/Root (\d+) 0 R", trailer)[1])]  # type: ignore[index]
        pages = self.objects[int(re.search(rb"/Pages (\d+) 0 R", root)[1])]  # type: ignore[index]
        kids = re.search(rb"/Kids \[([^\]]*)\]", pages)[1]  # type: ignore[index]
        self.pages = [int(n) for n in re.findall(rb"(\d+) 0 R", kids)]
        assert int(re.search(rb"/Count (\d+)", pages)[1]) == len(self.pages)  # type: ignore[index]
        self.catalog = root
        # Type0 (CID) fonts carry two-byte codes: UTF-16 in the UniGB-UCS2-H encoding
        self.cid_fonts = {
            re.search(rb"/Name /(\w+)", body)[1]  # type: ignore[index]
            for body in self.objects.values()
            if b"/Subtype /Type0" in body and b"UCS2-H" in body
        }

    def info_value(self, key: str) -> str:
        match = re.search(rb"/%s \(((?:\\.|[^\\)])*)\)" % key.encode(), self.info, re.S)
        assert match, f"no /{key} in the document information"
        return text_string(match[1])

    def content(self, page: int) -> bytes:
        body = self.objects[self.pages[page]]
        return stream(self.objects[int(re.search(rb"/Contents (\d+) 0 R", body)[1])])  # type: ignore[index]

    def runs(self, page: int | None = None) -> list[str]:
        """The strings shown (one per Tj), in order, decoded by their font."""
        return [text for text, _colour in self.coloured_runs(page)]

    def coloured_runs(self, page: int | None = None) -> list[tuple[str, bytes]]:
        """The strings shown, each with the fill colour (``r g b rg``) it is drawn in."""
        found: list[tuple[str, bytes]] = []
        for number in range(len(self.pages)) if page is None else [page]:
            font, colour = b"", b"0 0 0"
            for match in re.finditer(
                rb"/(\w+) [\d.]+ Tf|([\d.]+ [\d.]+ [\d.]+) rg|\(((?:\\.|[^\\)])*)\) Tj",
                self.content(number),
                re.S,
            ):
                if match[1]:
                    font = match[1]
                elif match[2]:
                    colour = match[2]
                else:
                    data = literal(match[3])
                    cid = font in self.cid_fonts
                    found.append((data.decode("utf-16-be" if cid else "latin-1"), colour))
        return found

    def text(self) -> str:
        return "".join(self.runs())


def qr_modules(content: bytes) -> set[tuple[int, int]]:
    """The dark modules of the QR code: the longest run of rectangles filled as one path (in
    module units, as the form draws it), as (column, row)."""
    runs = re.findall(rb"((?:\d+ \d+ \d+ 1 re\s+)+)f\*?\s", content)
    assert runs, "no QR code path on the page"
    dark: set[tuple[int, int]] = set()
    for x, y, width in re.findall(rb"(\d+) (\d+) (\d+) 1 re\b", max(runs, key=len)):
        dark.update((int(x) + i, int(y)) for i in range(int(width)))
    return dark


# --- the tests


def test_a_well_formed_a4_pdf_with_one_page() -> None:
    pdf = Pdf(render_referral_pdf(sample()))
    assert len(pdf.pages) == 1
    page = pdf.objects[pdf.pages[0]]
    assert re.search(rb"/MediaBox \[ 0 0 595\.27\d* 841\.889\d* \]", page)  # A4 in points
    assert b"/Lang (zh-CN)" in pdf.catalog


def test_the_title_is_the_form_and_the_referral() -> None:
    pdf = Pdf(render_referral_pdf(sample(direction="down")))
    assert pdf.info_value("Title") == "双向转诊单（下转） sr-0001234"
    assert pdf.info_value("Author") == "城关镇卫生院"


def test_the_text_reads_back_in_chinese() -> None:
    pdf = Pdf(render_referral_pdf(sample()))
    runs = pdf.runs()
    text = pdf.text()
    assert "双向转诊单（上转）" in runs
    for shown in (
        "张秀英",
        "3426**********1234",
        "67岁（1959年3月2日生）",
        "城关镇卫生院",
        "县人民医院",
        "心血管内科",
        "I10 原发性高血压（ICD-10）",
        "1. 血压 182/112 mmHg 2026-12-01",
        "2. 空腹血糖 9.8 mmol/L 2026-11-28",
        "1. 苯磺酸氨氯地平片 5 mg 每日一次",
        "自测血压多次超过 180/110 mmHg。",
        "开单时间：2026年12月1日 09:30",  # 01:30 UTC in county time
        "状态：待接收",
        "2026年12月1日 至 2027年2月28日",
        "2026年12月3日 09:30，第 12 号",
    ):
        assert shown in text, shown
    assert "普通" in runs and "紧急" not in runs


def test_an_urgent_form_says_so() -> None:
    pdf = Pdf(render_referral_pdf(sample(urgency="urgent")))
    red = b".752941 0 0"  # #c00000
    urgent = [colour for text, colour in pdf.coloured_runs() if text == "紧急"]
    assert urgent == [red, red]  # the stamp beside the title, and the grid
    assert "普通" not in pdf.runs()


def test_missing_parts_are_marked() -> None:
    pdf = Pdf(
        render_referral_pdf(
            sample(diagnoses=(), note="", consent_from=None, consent_to=None, appointment=None)
        )
    )
    runs = pdf.runs()
    assert runs.count("无") == 2
    assert "未授权" in runs and "未预约" in runs


def test_the_qr_code_holds_the_referral_url() -> None:
    pdf = Pdf(render_referral_pdf(sample()))
    expected = segno.make_qr(URL, error="m").matrix
    dark = {(x, y) for y, row in enumerate(expected) for x, bit in enumerate(row) if bit}
    assert qr_modules(pdf.content(0)) == dark
    assert "扫码查看（需登录授权）" in pdf.runs()


@pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="decoding the printed QR code needs pdftoppm (poppler-utils) and zbarimg (zbar-tools)",
)
def test_the_printed_qr_code_scans(tmp_path: Path) -> None:
    (tmp_path / "form.pdf").write_bytes(render_referral_pdf(sample()))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", "form.pdf", "form"],
        cwd=tmp_path,
        check=True,
    )
    scanned = subprocess.run(
        ["zbarimg", "--raw", "-q", "form.png"], cwd=tmp_path, capture_output=True, check=True
    )
    assert scanned.stdout.decode().strip() == URL


def test_markup_in_the_data_is_printed_as_text() -> None:
    hostile = "<script>alert(1)</script> </para> <b>粗</b> &amp; &nbsp; <font size=99>x"
    pdf = Pdf(
        render_referral_pdf(
            sample(note=hostile, patient_name="<i>王</i>", to_department="</para><para>")
        )
    )
    text = pdf.text()
    assert hostile in text
    assert "<i>王</i>" in text and "</para><para>" in text


def test_characters_the_font_cannot_carry() -> None:
    form = sample(
        patient_name="阿依古丽·买买提",
        note="吉\x00\x07\t祥 𠮷 10⁹/L kg/m² 5 µmol/L a|b",
    )
    text = Pdf(render_referral_pdf(form)).text()
    assert "阿依古丽・买买提" in text
    assert "吉 祥 〓 10^9/L kg/m^2 5 μmol/L a｜b" in text


def test_long_text_wraps_and_flows_onto_more_pages() -> None:
    sentence = "患者近一周反复头晕、头痛，自测血压多次超过 180/110 mmHg，加服药物后无明显下降。"
    form = sample(
        note=sentence * 150 + "\n最后一段。",
        observations=tuple(f"血压 {140 + n}/{90 + n} mmHg" for n in range(60)),
        to_department="心血管内科" * 40,  # clipped, not a cell taller than the page
        reason_display="原发性高血压" * 10,
    )
    pdf = Pdf(render_referral_pdf(form))
    assert len(pdf.pages) >= 3
    text = pdf.text()
    assert "60. 血压 199/149 mmHg" in text and "最后一段。" in text
    assert text.count("加服药物后无明显下降。") == 150
    assert all(f"第 {n + 1} 页" in pdf.runs(n) for n in range(len(pdf.pages)))
    assert "转出医生签名" in pdf.runs(len(pdf.pages) - 1)


def test_the_same_form_gives_the_same_bytes() -> None:
    assert render_referral_pdf(sample()) == render_referral_pdf(sample())


@pytest.mark.parametrize(
    ("field", "value"),
    [("direction", "sideways"), ("urgency", "stat"), ("url", "/app/referrals/sr-0001234")],
)
def test_a_form_refuses_values_it_cannot_print(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        sample(**{field: value})
