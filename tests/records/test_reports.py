"""The shared reports viewer through the Repository: what each clinician sees (both backends)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from countyhealth.fhir.consent_grants import with_custodian
from countyhealth.records import patient_overview
from countyhealth.records.reports import (
    flag,
    issuer,
    recognition_mark,
    reference_range,
    result_value,
    shape_report,
    shared_reports,
)
from countyhealth.store import Repository, Store
from tests.records.report_world import (
    CONCLUSION,
    NAMES,
    ORG_A,
    ORG_B,
    ORG_C,
    PATIENT,
    PNG,
    REPORT_TEXT,
    clinician,
    observation,
    report,
    seed_reports,
)


@pytest.fixture
def seeded(store: Store) -> Store:
    seed_reports(store)
    return store


def reports_of(repo: Repository) -> tuple[dict[str, dict[str, Any]], bool]:
    found = shared_reports(repo, PATIENT)
    assert found is not None
    return {r["id"]: r for r in found[0]}, found[1]


def test_a_consented_clinician_sees_the_report_of_another_institution(seeded: Store) -> None:
    shown, _ = reports_of(seeded.repository(clinician(ORG_A)))
    assert set(shown) == {"dr-rpt-liver", "dr-rpt-blood", "dr-rpt-lipids"}
    liver = shown["dr-rpt-liver"]
    assert liver["text"] == "肝功能检查" and liver["status"] == "final"
    assert liver["issuer"] == {"reference": f"Organization/{ORG_B}", "name": NAMES[ORG_B]}
    assert liver["issued"] == "2026-03-02T10:30:00+08:00"
    assert liver["foreign"] is True and liver["recognitionMark"] == "浙HR"
    assert liver["conclusion"] == CONCLUSION
    assert liver["texts"] == [
        {"title": "检验报告", "text": REPORT_TEXT, "truncated": False, "note": None}
    ]
    alt, glucose = liver["results"]
    assert alt == {
        "id": "obs-rpt-alt",
        "text": "丙氨酸氨基转移酶",
        "value": "82",
        "unit": "U/L",
        "range": "9–50",
        "flag": "H",
        "flagKind": "high",
    }
    assert (glucose["value"], glucose["range"], glucose["flagKind"]) == ("5.1", "3.9–6.1", "normal")
    assert liver["abnormal"] == 1 and liver["withheld"] == 0
    (image,) = liver["images"]
    assert image["title"] == "肝脏超声关键图像" and image["contentType"] == "image/png"
    assert image["size"] == len(base64.b64decode(PNG))
    assert image["href"] == "/app/attachments/Media/media-rpt-liver/0"
    assert image["thumbnail"].startswith("data:image/png;base64,iVBORw0KGgo")
    own = shown["dr-rpt-lipids"]
    assert own["foreign"] is False and own["recognitionMark"] is None
    assert own["issuer"]["name"] == NAMES[ORG_A]


def test_a_third_institution_without_consent_sees_no_report(seeded: Store) -> None:
    shown, hidden = reports_of(seeded.repository(clinician(ORG_C, "township-clinician")))
    assert shown == {} and hidden is True
    overview = patient_overview(seeded.repository(clinician(ORG_C)), PATIENT)
    assert overview["reports"] == [] and "reports" in overview["hidden"]


def test_broken_base64_is_a_note_and_the_values_still_show(seeded: Store) -> None:
    shown, _ = reports_of(seeded.repository(clinician(ORG_A)))
    blood = shown["dr-rpt-blood"]
    assert blood["texts"] == [
        {"title": "检验报告", "text": None, "truncated": False, "note": "unreadable"}
    ]
    assert [(v["text"], v["value"]) for v in blood["results"]] == [("血红蛋白", "131")]


def test_the_overview_reads_reports_with_their_values_in_one_search(seeded: Store) -> None:
    repo = seeded.repository(clinician(ORG_A))
    searches: list[str] = []
    search = repo.search

    def counted(req: Any, *args: Any, **kwargs: Any) -> Any:
        searches.append(req.resource_types[0])
        return search(req, *args, **kwargs)

    repo.search = counted  # type: ignore[method-assign]
    overview = patient_overview(repo, PATIENT)
    assert searches.count("DiagnosticReport") == 1
    assert "Observation" not in searches[: searches.index("DiagnosticReport") + 1]
    assert len(searches) == 5  # encounters, conditions, medications, reports, observations
    assert sum(len(r["results"]) for r in overview["reports"]) == 4


def test_the_issuer_name_is_read_when_the_report_does_not_carry_it(
    seeded: Store, repo: Repository
) -> None:
    body = report("dr-rpt-nameless", "尿常规", ORG_B, issued="2026-03-03T09:00:00+08:00")
    body["performer"] = [{"reference": f"Organization/{ORG_B}"}]
    with_custodian(body, f"Organization/{ORG_B}")
    repo.update("DiagnosticReport", body["id"], body)
    shown, _ = reports_of(seeded.repository(clinician(ORG_A)))
    assert shown["dr-rpt-nameless"]["issuer"]["name"] == NAMES[ORG_B]


def test_shaping_parts_of_a_report() -> None:
    obs = observation("o1", "血钾", 3.1, "mmol/L", 3.5, 5.3, "L")
    assert reference_range(obs) == "3.5–5.3" and flag(obs) == ("L", "low")
    assert reference_range({"referenceRange": [{"high": {"value": 5.2}}]}) == "≤5.2"
    assert reference_range({"referenceRange": [{"text": "阴性"}]}) == "阴性"
    assert flag({"interpretation": [{"coding": [{"code": "POS"}]}]}) == ("POS", "other")
    coded = {"id": "o2", "code": {"text": "尿蛋白"}, "valueCodeableConcept": {"text": "阴性"}}
    assert result_value(coded)["value"] == "阴性" and result_value(coded)["flag"] is None
    other = {"extension": [{"url": "http://example.org/mark", "valueCoding": {"display": "X"}}]}
    assert recognition_mark(other) is None
    tagged: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": "r"}
    with_custodian(tagged, "Organization/org-x", "某卫生院")
    assert issuer(tagged) == ("Organization/org-x", "某卫生院")


def test_values_and_images_the_caller_may_not_read_are_counted_not_shown() -> None:
    body = report(
        "r1",
        "肝功能",
        ORG_B,
        result=[{"reference": "Observation/a"}, {"reference": "Observation/b"}],
        media=[{"link": {"reference": "Media/m"}}],
    )
    linked = {"Observation/a": observation("a", "ALT", 20, "U/L", 9, 50, "N")}
    shaped = shape_report(body, linked, {}, f"Organization/{ORG_B}", "https://x/fhir")
    assert [v["id"] for v in shaped["results"]] == ["a"] and shaped["withheld"] == 2
    assert shaped["foreign"] is False and shaped["images"] == []
    assert shape_report(body, linked, {}, None, "https://x/fhir")["foreign"] is False
