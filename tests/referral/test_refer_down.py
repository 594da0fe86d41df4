"""Down-referral at discharge and the follow-up that closes the loop, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.records.query import find
from countyhealth.referral import (
    DownReferral,
    FollowUp,
    UpReferral,
    accept,
    escalate_overdue,
    incoming,
    load,
    record_follow_up,
    refer_down,
    refer_up,
)
from countyhealth.scheduling.calendar import local_now
from tests.referral.conftest import CARDIO, CDC, COUNTY, PATIENT, TEAM, TOWN, VILLAGE, Network


def _up(network: Network, urgent: bool = False) -> str:
    made = refer_up(
        network.village_doctor(),
        UpReferral(
            patient=PATIENT,
            target=f"Organization/{COUNTY}",
            service=f"HealthcareService/{CARDIO}",
            reason_code="I10",
            urgent=urgent,
        ),
    )
    return made.task.id


def _down(**changes: object) -> DownReferral:
    values: dict[str, object] = {
        "patient": PATIENT,
        "reason_code": "I10",
        "reason_display": "原发性高血压",
        "summary": "住院7天，血压控制于 132/84 mmHg，出院。",
        "team": f"CareTeam/{TEAM}",
        "activities": (
            ("medication", "氨氯地平 5 mg 每日一次"),
            ("rehabilitation", "低盐饮食，步行"),
        ),
    }
    values.update(changes)
    return DownReferral(**values)  # type: ignore[arg-type]


def test_discharge_down_referral_closes_the_up_referral_and_the_loop(network: Network) -> None:
    task_id = _up(network)
    county = network.county_doctor()
    accepted = accept(county, task_id)
    down = refer_down(county, _down(from_referral=accepted.id))

    assert load(county, accepted.id).status == "completed"  # the up-referral is closed
    assert down.direction == "down" and down.status == "requested"
    assert down.owner == f"CareTeam/{TEAM}"
    assert down.request.resource["note"][0]["text"].startswith("住院7天")
    plans = find(network.repo, "CarePlan", [("patient", f"Patient/{PATIENT}")]).resources
    assert len(plans) == 1 and len(plans[0]["activity"]) == 3  # plus the follow-up
    follow = find(
        network.repo,
        "Task",
        [("code", f"{systems.TASK_KIND}|follow-up"), ("based-on", f"ServiceRequest/{down.id}")],
    ).resources
    assert len(follow) == 1 and follow[0]["status"] == "requested"
    assert follow[0]["restriction"]["period"]["end"] > follow[0]["authoredOn"]

    # the family doctor (a member of the team) sees it and records the first follow-up
    village = network.village_doctor()
    assert [i.request for i in incoming(village)] == [down.id]
    assert find(village, "Observation", [("patient", f"Patient/{PATIENT}")]).resources
    closed = record_follow_up(village, down.task.id, FollowUp("血压平稳", 128, 82))
    assert closed.status == "completed"
    assert closed.request.resource["status"] == "completed"
    visits = find(network.repo, "Encounter", [("based-on", f"ServiceRequest/{down.id}")]).resources
    assert len(visits) == 1
    done = network.repo.read("Task", str(follow[0]["id"])).resource
    assert done["status"] == "completed"
    with pytest.raises(OperationOutcomeError) as twice:
        record_follow_up(village, down.task.id, FollowUp("again"))
    assert twice.value.code == "CH-9301"


def test_down_referral_to_a_township_centre(network: Network) -> None:
    down = refer_down(
        network.county_doctor(), _down(team=None, organization=f"Organization/{TOWN}")
    )
    assert down.owner == f"Organization/{TOWN}"
    with pytest.raises(OperationOutcomeError) as outsider:
        record_follow_up(network.village_doctor(), down.task.id, FollowUp())
    assert (
        outsider.value.code == "CH-4004"
    )  # no consent covers the village clinic: not even readable
    assert record_follow_up(network.town_doctor(), down.task.id, FollowUp()).status == "completed"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"team": None}, "CH-9304"),  # no receiving team or centre
        ({"team": "", "organization": ""}, "CH-9304"),
        ({"team": "CareTeam/none"}, "CH-9303"),
        (
            {"team": None, "organization": f"Organization/{COUNTY}"},
            "CH-9303",
        ),  # itself, not primary care
        ({"team": None, "organization": f"Organization/{CDC}"}, "CH-9303"),
        ({"summary": " "}, "CH-9302"),
        ({"activities": (("surgery", "x"),)}, "CH-9302"),
    ],
)
def test_bad_down_referrals_write_nothing(
    network: Network, changes: dict[str, object], code: str
) -> None:
    before = _counts(network)
    with pytest.raises(OperationOutcomeError) as refused:
        refer_down(network.county_doctor(), _down(**changes))
    assert refused.value.code == code
    assert _counts(network) == before


def test_down_referral_answering_an_unaccepted_referral_is_refused(network: Network) -> None:
    task_id = _up(network)
    up = load(
        network.county_doctor(),
        find(network.repo, "Task", [("_id", task_id)])
        .resources[0]["focus"]["reference"]
        .removeprefix("ServiceRequest/"),
    )
    before = _counts(network)
    with pytest.raises(OperationOutcomeError) as refused:
        refer_down(network.county_doctor(), _down(from_referral=up.id))
    assert refused.value.code == "CH-9301"
    assert _counts(network) == before


def test_follow_up_blood_pressure_is_checked(network: Network) -> None:
    down = refer_down(network.county_doctor(), _down())
    for bad in (FollowUp("", 400, 80), FollowUp("", 120, None)):
        with pytest.raises(OperationOutcomeError) as refused:
            record_follow_up(network.village_doctor(), down.task.id, bad)
        assert refused.value.code == "CH-9302"


def test_routine_referrals_escalate_after_the_rules_hours(network: Network) -> None:
    task_id = _up(network)
    real = network.store.clock.now_us
    assert escalate_overdue(network.repo) == []
    later = local_now(real()) + timedelta(hours=25)
    network.store.clock.now_us = lambda: int(later.timestamp() * 1_000_000)  # type: ignore[method-assign]
    try:
        assert escalate_overdue(network.repo) == [task_id]
        task = network.repo.read("Task", task_id).resource
        assert task["priority"] == "asap"
        assert escalate_overdue(network.repo) == []  # once only
        [item] = incoming(network.county_doctor())
        assert item.escalated and item.overdue
    finally:
        network.store.clock.now_us = real  # type: ignore[method-assign]


def _counts(network: Network) -> dict[str, int]:
    from countyhealth.fhir.search_request import parse_search

    out = {}
    for rtype in ("ServiceRequest", "Task", "Consent", "CarePlan", "Encounter"):
        req = parse_search([rtype], [("_total", "accurate"), ("_count", "0")])
        out[rtype] = int(network.repo.search(req).total or 0)
    return out


_ = VILLAGE
