"""Report attachments for reading: text decoded safely, images described with a link."""

from __future__ import annotations

import base64

from countyhealth.records.attachments import TEXT_LIMIT, described, text_of
from tests.records.report_world import PNG


def plain(data: str, content_type: str = "text/plain") -> dict[str, str]:
    return {"contentType": content_type, "data": data}


def encoded(text: str, charset: str = "utf-8") -> str:
    return base64.b64encode(text.encode(charset)).decode()


def test_text_in_utf8_and_in_the_charset_it_names() -> None:
    assert text_of(plain(encoded("肝脏形态正常。\r\n")))["text"] == "肝脏形态正常。"
    gb = plain(encoded("双肺纹理清晰", "gb18030"), "text/plain; charset=GB18030")
    assert text_of(gb)["text"] == "双肺纹理清晰"


def test_unreadable_text_becomes_a_note() -> None:
    assert text_of(plain("A==="))["note"] == "unreadable"  # right alphabet, does not decode
    assert text_of(plain("not base64 at all!"))["note"] == "unreadable"
    assert text_of(plain("////"))["note"] == "encoding"  # bytes ff ff ff are not UTF-8
    assert text_of(plain(encoded("x"), "text/plain; charset=klingon"))["note"] == "charset"
    assert text_of({"contentType": "text/plain", "url": "Binary/1"})["note"] == "missing"
    assert text_of(plain("A==="))["text"] is None


def test_long_text_is_cut_and_said_to_be_cut() -> None:
    shaped = text_of(plain(encoded("检" * (TEXT_LIMIT + 5))))
    assert len(shaped["text"]) == TEXT_LIMIT and shaped["truncated"] is True


def test_an_inline_image_links_to_the_attachment_page_and_has_a_thumbnail() -> None:
    shown = described(
        {"contentType": "image/png", "data": PNG, "title": "胸片"}, "https://h/fhir", "Media/m1"
    )
    assert shown["title"] == "胸片" and shown["size"] == len(base64.b64decode(PNG))
    assert shown["href"] == "/app/attachments/Media/m1/0" and shown["image"] is True
    assert shown["thumbnail"] == f"data:image/png;base64,{PNG}"


def test_links_go_only_to_the_web_or_to_this_server() -> None:
    base = "https://h/fhir"
    assert described({"url": "Binary/b-1"}, base, "Media/m")["href"] == f"{base}/Binary/b-1"
    assert described({"url": "https://pacs/wado?x=1"}, base, "Media/m")["href"].startswith(
        "https://pacs/"
    )
    sneaky = described({"url": "javascript:alert(1)"}, base, "DiagnosticReport/r")
    assert sneaky["href"] == f"{base}/DiagnosticReport/r"


def test_no_thumbnail_for_svg_broken_or_large_images() -> None:
    svg = {"contentType": "image/svg+xml", "data": encoded("<svg/>")}
    assert described(svg, "b", "Media/m")["thumbnail"] is None
    assert (
        described({"contentType": "image/png", "data": "A==="}, "b", "Media/m")["thumbnail"] is None
    )
    big = {"contentType": "image/jpeg", "data": base64.b64encode(b"\0" * 200_000).decode()}
    shown = described(big, "b", "Media/m")
    assert shown["thumbnail"] is None and shown["size"] == 200_000
    assert (
        described({"contentType": "application/pdf", "size": 12}, "b", "Media/m")["image"] is False
    )
