"""The shared reports viewer on the patient overview page, signed in as clinicians of three
institutions (both backends): what consent shows, what it hides, and a broken report text."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from countyhealth.app import create_app
from countyhealth.config import Settings
from countyhealth.security.enrolment import add_user
from countyhealth.security.services import AuthServices
from countyhealth.store import Store
from countyhealth.web.i18n import messages
from tests.conftest import make_settings
from tests.records.report_world import (
    CONCLUSION,
    NAMES,
    ORG_A,
    ORG_B,
    ORG_C,
    PATIENT,
    REPORT_TEXT,
    seed_reports,
)
from tests.support.accounts import FAST_PASSWORDS, sign_in

PASSWORD = "青山 county 2026 reports"
JSON = {"Accept": "application/json"}
ZH = messages("zh_CN")
PAGE = f"/app/patients/{PATIENT}"


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(backend, tmp_path, request, **FAST_PASSWORDS)


@pytest.fixture
def app(settings: Settings, store: Store) -> FastAPI:
    seed_reports(store)
    app = create_app(settings, store)
    services: AuthServices = app.state.auth
    for user, org, role in (
        ("dr.a", ORG_A, "county-clinician"),
        ("dr.c", ORG_C, "township-clinician"),
    ):
        add_user(
            services.accounts,
            services.passwords,
            services.settings,
            username=user,
            roles=[role],
            organization=f"Organization/{org}",
            password=PASSWORD,
        )
    return app


@pytest.fixture
def web_as(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    opened: list[TestClient] = []

    def open_as(user: str) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        assert sign_in(client, user, PASSWORD).status_code == 303
        return client

    yield open_as
    for client in opened:
        client.__exit__(None, None, None)


def report_block(page: str, rid: str) -> str:
    """The <details> of one report on the page."""
    start = page.index(f'id="report-{rid}"')
    return page[start : page.index("</details>", start)]


def test_a_consented_clinician_sees_the_shared_report_in_full(
    web_as: Callable[[str], TestClient],
) -> None:
    web = web_as("dr.a")
    answer = web.get(PAGE)
    assert answer.status_code == 200
    liver = html.unescape(report_block(answer.text, "dr-rpt-liver"))
    assert "肝功能检查" in liver and NAMES[ORG_B] in liver
    assert '<span class="badge hr" title="互认结果">浙HR</span>' in liver
    assert ZH("patients.reports.foreign") in liver
    assert "2026年3月2日 10:30" in liver and ZH("patients.reports.status.final") in liver
    assert CONCLUSION in liver and REPORT_TEXT in liver
    assert '<tr class="flag-high">' in liver
    assert '<td data-label="结果">82</td>' in liver and "U/L" in liver and "9–50" in liver
    assert '<span class="flag high" title="偏高">H↑</span>' in liver
    assert "3.9–6.1" in liver and '<span class="flag normal" title="正常">N</span>' in liver
    assert ZH("patients.reports.images") in liver and "肝脏超声关键图像" in liver
    assert '<img src="data:image/png;base64,iVBORw0KGgo' in liver
    assert 'href="/app/attachments/Media/media-rpt-liver/0"' in liver
    image = web.get("/app/attachments/Media/media-rpt-liver/0")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert ZH("patients.reports.abnormal", count=1) in liver
    own = report_block(answer.text, "dr-rpt-lipids")
    assert "血脂四项" in own and "badge hr" not in own
    assert ZH("patients.reports.foreign") not in own

    twin = web.get(PAGE, headers=JSON).json()
    shown = {r["id"]: r for r in twin["reports"]}
    assert shown["dr-rpt-liver"]["recognitionMark"] == "浙HR"
    assert shown["dr-rpt-liver"]["foreign"] is True

    web.cookies.set("ch_lang", "en")
    english = html.unescape(report_block(web.get(PAGE).text, "dr-rpt-liver"))
    assert "From another institution" in english and "Reference range" in english
    assert 'title="High">H↑' in english


def test_a_third_institution_without_consent_sees_no_report(
    web_as: Callable[[str], TestClient],
) -> None:
    web = web_as("dr.c")
    answer = web.get(PAGE)
    assert answer.status_code == 200 and "王芳" in answer.text
    for text in ("肝功能检查", "血常规", "血脂四项", CONCLUSION, "浙HR", "media-rpt-liver"):
        assert text not in answer.text
    reports = answer.text[answer.text.index('id="reports"') :]
    assert ZH("records.hidden") in reports
    twin = web.get(PAGE, headers=JSON).json()
    assert twin["reports"] == [] and "reports" in twin["hidden"]
    # nor the key image, asked for directly
    assert web.get("/app/attachments/Media/media-rpt-liver/0").status_code in (403, 404)
    assert web.get("/app/attachments/Patient/x/0").status_code == 400


def test_a_broken_report_text_is_a_readable_note(web_as: Callable[[str], TestClient]) -> None:
    web = web_as("dr.a")
    answer = web.get(PAGE)
    assert answer.status_code == 200
    blood = report_block(answer.text, "dr-rpt-blood")
    assert f'<p class="message warn">{ZH("patients.reports.note.unreadable")}</p>' in blood
    assert "血红蛋白" in blood and "131" in blood
    fragment = web.get(PAGE, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert ZH("patients.reports.note.unreadable") in fragment.text
