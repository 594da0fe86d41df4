"""Up-referral: consent, summary, the held slot, decisions and cancellation, on both backends."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError, error
from countyhealth.referral import (
    UpReferral,
    accept,
    cancel,
    complete,
    decline,
    incoming,
    load,
    outgoing,
    receive,
    refer_up,
    start,
)
from tests.referral.conftest import (
    CARDIO,
    CDC,
    COUNTY,
    LAB,
    PATIENT,
    PRIVATE,
    TOWN,
    VILLAGE,
    Network,
)


def _ask(**changes: object) -> UpReferral:
    values: dict[str, object] = {
        "patient": PATIENT,
        "target": f"Organization/{COUNTY}",
        "service": f"HealthcareService/{CARDIO}",
        "reason_code": "I10",
        "reason_display": "原发性高血压",
        "urgent": True,
        "note": "血压 184/112 mmHg，头痛",
    }
    values.update(changes)
    return UpReferral(**values)  # type: ignore[arg-type]


def _code(exc: pytest.ExceptionInfo[OperationOutcomeError]) -> str:
    return exc.value.code


def test_refer_up_files_consent_request_task_and_holds_a_slot(network: Network) -> None:
    county = network.county_doctor()
    # no consent yet: the county cannot read the village clinic's readings
    assert _observations(county) == 0

    made = refer_up(network.village_doctor(), _ask())

    request = made.request.resource
    assert made.direction == "up" and made.status == "requested"
    assert request["priority"] == "urgent"
    assert [p["reference"] for p in request["performer"]] == [
        f"Organization/{COUNTY}",
        f"HealthcareService/{CARDIO}",
    ]
    infos = [i["reference"] for i in request["supportingInfo"]]
    assert infos[0].startswith("Consent/")
    assert sum(i.startswith("Observation/") for i in infos) == 2  # the summary's readings
    assert made.owner == f"Organization/{COUNTY}"
    # urgent referrals are escalated at once
    urls = [e["url"] for e in made.task.resource.get("extension", [])]
    assert any(u.endswith("referral-escalated") for u in urls)
    # the held slot: a pending appointment on a busy-tentative slot of the department
    assert made.appointment is not None and made.appointment["status"] == "pending"
    slot_id = made.appointment["slot"][0]["reference"].removeprefix("Slot/")
    assert network.repo.read("Slot", slot_id).resource["status"] == "busy-tentative"
    # the consent lets the county read them now
    assert _observations(county) == 2
    # both sides see it in their worklists
    assert [i.request for i in incoming(county)] == [made.id]
    assert [i.request for i in outgoing(network.village_doctor())] == [made.id]
    assert incoming(network.town_doctor()) == []


def test_accept_books_the_held_slot_and_the_visit_completes(network: Network) -> None:
    made = refer_up(network.village_doctor(), _ask(urgent=False))
    assert made.appointment is not None
    held = network.repo.read("Slot", made.appointment["slot"][0]["reference"][5:]).resource
    # a routine referral takes a slot of the referral share, not a public one
    reservation = next(e for e in held["extension"] if e["url"].endswith("slot-reservation"))
    assert {"url": "pool", "valueCode": "referral"} in reservation["extension"]
    county = network.county_doctor()
    received = receive(county, made.task.id)
    assert received.status == "received"
    accepted = accept(county, made.task.id)
    assert accepted.status == "accepted"
    assert accepted.appointment is not None and accepted.appointment["status"] == "booked"
    slot_id = accepted.appointment["slot"][0]["reference"].removeprefix("Slot/")
    assert network.repo.read("Slot", slot_id).resource["status"] == "busy"
    urls = [e["url"] for e in accepted.task.resource.get("extension", [])]
    assert any(u.endswith("referral-accepted") for u in urls)
    # accepting twice is refused with a clear code, and nothing changes
    with pytest.raises(OperationOutcomeError) as twice:
        accept(county, made.task.id)
    assert _code(twice) == "CH-9301" and "already accepted" in str(twice.value)
    assert start(county, made.task.id).status == "in-progress"
    done = complete(county, made.task.id)
    assert done.status == "completed"
    assert done.request.resource["status"] == "completed"


def test_decline_frees_the_slot_and_keeps_the_reason(network: Network) -> None:
    made = refer_up(network.village_doctor(), _ask(urgent=False))
    assert made.appointment is not None
    slot_id = made.appointment["slot"][0]["reference"].removeprefix("Slot/")
    with pytest.raises(OperationOutcomeError) as no_reason:
        decline(network.county_doctor(), made.task.id, "  ")
    assert _code(no_reason) == "CH-9302"
    declined = decline(network.county_doctor(), made.task.id, "床位已满", f"Organization/{TOWN}")
    assert declined.status == "rejected"
    assert declined.task.resource["statusReason"]["text"] == "床位已满"
    assert (
        declined.task.resource["output"][0]["valueReference"]["reference"] == f"Organization/{TOWN}"
    )
    assert declined.request.resource["status"] == "revoked"
    assert network.repo.read("Slot", slot_id).resource["status"] == "free"
    with pytest.raises(OperationOutcomeError) as late:
        accept(network.county_doctor(), made.task.id)
    assert _code(late) == "CH-9301"


def test_accept_after_cancellation_is_refused(network: Network) -> None:
    village = network.village_doctor()
    made = refer_up(village, _ask(urgent=False))
    with pytest.raises(OperationOutcomeError) as not_theirs:
        cancel(network.county_doctor(), made.task.id, "不需要")
    assert _code(not_theirs) == "CH-9305"
    cancelled = cancel(village, made.task.id, "患者改变主意")
    assert cancelled.status == "cancelled"
    assert cancelled.appointment is not None and cancelled.appointment["status"] == "cancelled"
    with pytest.raises(OperationOutcomeError) as after:
        accept(network.county_doctor(), made.task.id)
    assert _code(after) == "CH-9301" and "cancelled" in str(after.value)


def test_only_the_receiving_institution_decides(network: Network) -> None:
    made = refer_up(network.village_doctor(), _ask(urgent=False))
    with pytest.raises(OperationOutcomeError) as other:
        accept(network.village_doctor(), made.task.id)
    assert _code(other) == "CH-9305"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"target": f"Organization/{PRIVATE}"}, "CH-9303"),  # outside the medical community
        ({"target": f"Organization/{CDC}"}, "CH-9303"),  # not a member institution
        ({"target": "Organization/nowhere"}, "CH-9303"),
        ({"service": f"HealthcareService/{LAB}"}, "CH-9303"),  # takes no referrals
        ({"target": f"Organization/{TOWN}"}, "CH-9303"),  # the department is not the town's
        ({"target": f"Organization/{VILLAGE}"}, "CH-9303"),  # to itself
        ({"target": "Patient/x"}, "CH-9302"),
        ({"reason_code": ""}, "CH-9302"),
        ({"reason_code": "high bp"}, "CH-9302"),
        ({"note": "x" * 2001}, "CH-9302"),
        ({"patient": ""}, "CH-9302"),
    ],
)
def test_bad_referrals_are_refused_and_nothing_is_written(
    network: Network, changes: dict[str, object], code: str
) -> None:
    village = network.village_doctor()
    before = {t: _count(network, t) for t in ("ServiceRequest", "Task", "Consent", "Appointment")}
    with pytest.raises(OperationOutcomeError) as refused:
        refer_up(village, _ask(**changes))
    assert _code(refused) == code
    after = {t: _count(network, t) for t in before}
    assert after == before


def test_a_failure_after_the_first_writes_rolls_everything_back(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    from countyhealth.referral import refer as module

    def broken(*args: object, **kwargs: object) -> None:
        raise error("CH-9101", "the pool failed")

    monkeypatch.setattr(module, "hold_first", broken)
    before = {t: _count(network, t) for t in ("ServiceRequest", "Task", "Consent")}
    with pytest.raises(OperationOutcomeError):
        refer_up(network.village_doctor(), _ask())
    assert {t: _count(network, t) for t in before} == before


def test_load_reads_the_referral_as_the_caller(network: Network) -> None:
    made = refer_up(network.village_doctor(), _ask())
    again = load(network.county_doctor(), made.id)
    assert again.task.id == made.task.id and again.appointment is not None


def _count(network: Network, rtype: str) -> int:
    from countyhealth.fhir.search_request import parse_search

    req = parse_search([rtype], [("_total", "accurate"), ("_count", "0")])
    return int(network.repo.search(req).total or 0)


def _observations(repo: object) -> int:
    from countyhealth.records.query import find

    return len(find(repo, "Observation", [("patient", f"Patient/{PATIENT}")]).resources)  # type: ignore[arg-type]


def test_the_consent_covers_exactly_that_patient_for_its_period(network: Network) -> None:
    from datetime import timedelta

    from countyhealth.records.query import find
    from countyhealth.scheduling.calendar import local_now
    from tests.referral.conftest import OTHER

    county = network.county_doctor()
    refer_up(network.village_doctor(), _ask(urgent=False))

    def readings(patient: str) -> int:
        return len(find(county, "Observation", [("patient", f"Patient/{patient}")]).resources)

    assert readings(PATIENT) == 2
    assert readings(OTHER) == 0  # the other patient of the same clinic stays hidden
    real = network.store.clock.now_us
    for days, expected in [(89, 2), (91, 0)]:  # the rules' consent period is 90 days
        moment = local_now(real()) + timedelta(days=days)
        network.store.clock.now_us = lambda m=moment: int(m.timestamp() * 1_000_000)  # type: ignore[method-assign]
        try:
            assert readings(PATIENT) == expected, days
        finally:
            network.store.clock.now_us = real  # type: ignore[method-assign]
