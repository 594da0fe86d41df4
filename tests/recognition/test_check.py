"""The recognition check: marked results of the item from another institution, within the
window, that the orderer may read (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from countyhealth.consent import grant
from countyhealth.recognition.check import LOINC, parse_code, recognition_check

from .conftest import COUNTY, HBA1C, PATIENT, POTASSIUM, TOWN, TOWN2, County


def _reports(county: County, repo_org: str, code: str) -> list[str]:
    result = recognition_check(county.clinician(repo_org), PATIENT, [(LOINC, code)])
    return [s.report for s in result.suggestions]


def test_the_township_doctor_sees_only_the_qualifying_county_result(county: County) -> None:
    result = recognition_check(county.clinician(TOWN), PATIENT, [(LOINC, HBA1C)])
    assert result.item is not None and result.item.code == "ZJHR-HBA1C"
    assert result.item.window_days == 60
    # not the 70-day-old one (window), not its own (3 days), not the village's (issuer kind),
    # not the unmarked one at the other centre
    assert [s.report for s in result.suggestions] == [
        f"DiagnosticReport/{county.reports['county-3w']}"
    ]
    found = result.suggestions[0]
    assert found.organization == f"Organization/{COUNTY}"
    assert found.organization_name == "县人民医院"
    assert found.age_days == 21
    assert found.mark == "浙HR"
    assert found.value == "7.2 %"


def test_the_window_is_per_item(county: County) -> None:
    # potassium: 7 days — the 2-day-old county result counts, the 10-day-old one does not
    assert _reports(county, TOWN, POTASSIUM) == [
        f"DiagnosticReport/{county.reports['county-k-2d']}"
    ]


def test_without_consent_nothing_is_suggested(county: County) -> None:
    assert _reports(county, TOWN2, HBA1C) == []
    grant(county.repo, PATIENT, f"Organization/{TOWN2}", category_code="results")
    # for the other centre, the first centre's 3-day-old result is another institution's too
    assert _reports(county, TOWN2, HBA1C) == [
        f"DiagnosticReport/{county.reports['town-own-3d']}",
        f"DiagnosticReport/{county.reports['county-3w']}",
    ]


def test_a_provincial_code_finds_the_same_item(county: County) -> None:
    result = recognition_check(county.clinician(TOWN), PATIENT, parse_code("ZJHR-HBA1C"))
    assert [s.age_days for s in result.suggestions] == [21]


def test_as_of_an_earlier_moment(county: County) -> None:
    # 30 days ago the 70-day-old result was 40 days old: inside the window; the 21-day-old
    # result did not exist yet
    earlier = county.now - timedelta(days=30)
    result = recognition_check(county.clinician(TOWN), PATIENT, [(LOINC, HBA1C)], at=earlier)
    assert [s.report for s in result.suggestions] == [
        f"DiagnosticReport/{county.reports['county-70d']}"
    ]
    assert result.suggestions[0].age_days == 40


def test_an_item_outside_the_catalogue_is_not_recognisable(county: County) -> None:
    result = recognition_check(county.clinician(TOWN), PATIENT, [(LOINC, "718-7")])
    assert result.item is None and not result.recognisable and result.suggestions == ()
