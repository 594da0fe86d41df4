"""Ordering with the check, accepting a result, re-testing for a national reason, and the bad
inputs each refused with its code (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.recognition.order_record import OrderRecognition
from countyhealth.recognition.orders import check_order, place_order, recognise, retest

from .conftest import HBA1C, PATIENT, TOWN, TOWN2, County


def _code(exc: pytest.ExceptionInfo[OperationOutcomeError]) -> str:
    return exc.value.issues[0].code


def _ordered(county: County, org: str = TOWN, code: str = HBA1C) -> tuple[str, list[str]]:
    doctor = county.clinician(org)
    order = place_order(doctor, PATIENT, code)
    _, result = check_order(doctor, order.id)
    return order.id, [s.report for s in result.suggestions]


def test_the_order_keeps_what_the_check_found(county: County) -> None:
    order_id, found = _ordered(county)
    order = county.repo.read("ServiceRequest", order_id).resource
    assert order["status"] == "active"
    assert order["requester"] == {"reference": f"PractitionerRole/pr-{TOWN}"}
    codes = {(c["system"], c["code"]) for c in order["code"]["coding"]}
    assert codes == {("http://loinc.org", HBA1C), (systems.RECOGNITION_ITEM, "ZJHR-HBA1C")}
    record = OrderRecognition.of(order)
    assert record is not None
    assert (record.outcome, record.item, list(record.candidates)) == (
        "recognisable",
        "ZJHR-HBA1C",
        found,
    )


def test_accepting_completes_the_order_by_reference(county: County) -> None:
    order_id, found = _ordered(county)
    stored = recognise(county.clinician(TOWN), order_id, found[0])
    assert stored.resource["status"] == "completed"
    assert stored.resource["supportingInfo"][0]["reference"] == found[0]
    record = OrderRecognition.of(stored.resource)
    assert record is not None
    assert (record.outcome, record.result) == ("recognised", found[0])
    assert record.avoided is not None and record.avoided > Decimal("0")
    # decided once
    with pytest.raises(OperationOutcomeError) as twice:
        recognise(county.clinician(TOWN), order_id, found[0])
    assert _code(twice) == "CH-9204"


def test_accepting_by_observation_names_its_report(county: County) -> None:
    order_id, _ = _ordered(county)
    observation = f"Observation/{county.observations['county-3w']}"
    stored = recognise(county.clinician(TOWN), order_id, observation)
    assert stored.resource["supportingInfo"][0]["reference"] == (
        f"DiagnosticReport/{county.reports['county-3w']}"
    )


def test_a_retest_keeps_the_order_active_with_its_reason(county: County) -> None:
    order_id, _ = _ordered(county)
    stored = retest(county.clinician(TOWN), order_id, "disease-change")
    assert stored.resource["status"] == "active"
    record = OrderRecognition.of(stored.resource)
    assert record is not None
    assert (record.outcome, record.reason, record.note) == ("retest", "disease-change", None)
    other_id, _ = _ordered(county)
    stored = retest(county.clinician(TOWN), other_id, "other", "患者要求复查")
    record = OrderRecognition.of(stored.resource)
    assert record is not None and (record.reason, record.note) == ("other", "患者要求复查")


@pytest.mark.parametrize(
    ("reason", "note", "code"),
    [
        (None, None, "CH-9202"),  # no reason
        ("", None, "CH-9202"),
        ("patient-wish", None, "CH-9202"),  # not one of the six national codes
        ("other", "  ", "CH-9202"),  # other without text
    ],
)
def test_a_retest_needs_a_national_reason(
    county: County, reason: str | None, note: str | None, code: str
) -> None:
    order_id, _ = _ordered(county)
    with pytest.raises(OperationOutcomeError) as refused:
        retest(county.clinician(TOWN), order_id, reason, note)
    assert _code(refused) == code
    record = OrderRecognition.of(county.repo.read("ServiceRequest", order_id).resource)
    assert record is not None and record.outcome == "recognisable"


def test_a_result_the_orderer_may_not_read_is_refused(county: County) -> None:
    # the second centre holds no Consent: the county's result is not theirs to read
    order_id, found = _ordered(county, TOWN2)
    assert found == []
    with pytest.raises(OperationOutcomeError) as hidden:
        recognise(
            county.clinician(TOWN2), order_id, f"DiagnosticReport/{county.reports['county-3w']}"
        )
    assert _code(hidden) == "CH-9205"
    assert county.repo.read("ServiceRequest", order_id).resource["status"] == "active"


@pytest.mark.parametrize(
    "report", ["county-70d", "town-own-3d", "village-5d", "county-k-2d"], ids=str
)
def test_a_result_that_does_not_qualify_is_refused(county: County, report: str) -> None:
    # out of the window, the orderer's own, an issuer outside the scheme, another item
    order_id, _ = _ordered(county)
    with pytest.raises(OperationOutcomeError) as refused:
        recognise(county.clinician(TOWN), order_id, f"DiagnosticReport/{county.reports[report]}")
    assert _code(refused) == "CH-9203"


def test_an_item_outside_the_catalogue_cannot_be_ordered_here(county: County) -> None:
    with pytest.raises(OperationOutcomeError) as unknown:
        place_order(county.clinician(TOWN), PATIENT, "718-7")
    assert _code(unknown) == "CH-9201"
