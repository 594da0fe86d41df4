"""The referral operations and plain Task writes over the FHIR API: the same state machine,
409 for illegal moves, OperationOutcomes with codes for bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from countyhealth.fhir import systems
from countyhealth.fhir.task_workflow import workflows
from countyhealth.security.roles import roles
from tests.referral.conftest import CARDIO, COUNTY, PATIENT, TEAM, VILLAGE, Network


def _staff(settings: Settings, role: str, org: str) -> dict[str, str]:
    token = issue_token(
        settings,
        f"{role}-{org}",
        roles()[role].scopes,
        kind="user",
        extra={
            "roles": [role],
            "org": f"Organization/{org}",
            "actors": [f"PractitionerRole/pr-{org}"],
        },
    )
    return {"Authorization": f"Bearer {token}"}


def _system(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, 'his-1', 'system/*.*')}"}


def _params(**values: Any) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for name, value in values.items():
        if isinstance(value, bool):
            out.append({"name": name, "valueBoolean": value})
        elif isinstance(value, list):
            out.extend({"name": name, "part": part} for part in value)
        elif "/" in str(value) and " " not in str(value):
            out.append({"name": name, "valueReference": {"reference": value}})
        else:
            out.append({"name": name, "valueString": value})
    return {"resourceType": "Parameters", "parameter": out}


def _code(answer: Any) -> str:
    return str(answer.json()["issue"][0]["details"]["coding"][0]["code"])


def _value(answer: Any, name: str) -> str:
    for p in answer.json()["parameter"]:
        if p["name"] == name:
            return str(p.get("valueReference", {}).get("reference") or p.get("valueCode"))
    raise AssertionError(name)


def _refer(client: TestClient, settings: Settings, **changes: Any) -> Any:
    body = {
        "patient": f"Patient/{PATIENT}",
        "target": f"Organization/{COUNTY}",
        "service": f"HealthcareService/{CARDIO}",
        "reason": "I10",
        "urgent": True,
    }
    body.update(changes)
    return client.post(
        "/fhir/ServiceRequest/$refer",
        json=_params(**body),
        headers=_staff(settings, "village-doctor", VILLAGE),
    )


def test_whole_loop_through_the_operations(
    network: Network, client: TestClient, settings: Settings
) -> None:
    made = _refer(client, settings)
    assert made.status_code == 201, made.text
    task = _value(made, "task")
    referral = _value(made, "referral")
    assert _value(made, "appointment").startswith("Appointment/")
    county = _staff(settings, "county-clinician", COUNTY)
    worked = client.post(f"/fhir/{task}/$accept", json=_params(), headers=county)
    assert worked.status_code == 200 and worked.json()["status"] == "accepted"
    again = client.post(f"/fhir/{task}/$accept", json=_params(), headers=county)
    assert again.status_code == 409 and _code(again) == "CH-9301"
    down = client.post(
        "/fhir/ServiceRequest/$refer",
        json=_params(
            direction="down",
            patient=f"Patient/{PATIENT}",
            reason="I10",
            summary="出院 discharge",
            team=f"CareTeam/{TEAM}",
            fromReferral=referral,
            activity=[
                [
                    {"name": "kind", "valueCode": "rehabilitation"},
                    {"name": "text", "valueString": "步行 30 分钟"},
                ]
            ],
        ),
        headers=county,
    )
    assert down.status_code == 201, down.text
    follow = client.post(
        f"/fhir/{_value(down, 'task')}/$follow-up",
        json=_params(note="平稳", systolic="128", diastolic="80"),
        headers=_staff(settings, "village-doctor", VILLAGE),
    )
    assert follow.status_code == 200, follow.text
    assert follow.json()["status"] == "completed"


def test_bad_referral_requests_answer_outcomes(
    network: Network, client: TestClient, settings: Settings
) -> None:
    outside = _refer(client, settings, target="Organization/org-private")
    assert outside.status_code == 422 and _code(outside) == "CH-9303"
    no_reason = _refer(client, settings, reason="")
    assert no_reason.status_code == 400 and _code(no_reason) == "CH-9302"
    wrong_direction = _refer(client, settings, direction="sideways")
    assert _code(wrong_direction) == "CH-9302"
    no_team = client.post(
        "/fhir/ServiceRequest/$refer",
        json=_params(direction="down", patient=f"Patient/{PATIENT}", reason="I10", summary="s"),
        headers=_staff(settings, "county-clinician", COUNTY),
    )
    assert no_team.status_code == 422 and _code(no_team) == "CH-9304"


def _task_body(status: str) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": systems.TASK_KIND, "code": "referral"}]},
        "for": {"reference": f"Patient/{PATIENT}"},
    }


REFERRAL_FLOW = workflows()[(systems.TASK_KIND, "referral")]
STATES = sorted(set(REFERRAL_FLOW.transitions))
PAIRS = [(a, b) for a in STATES for b in STATES if a != b]


@pytest.mark.parametrize(("before", "after"), PAIRS)
def test_every_transition_over_put(
    client: TestClient, settings: Settings, before: str, after: str
) -> None:
    """Every legal move of the referral machine is accepted and every illegal one answers
    409 CH-9301, for an integrator writing the Task with PUT."""
    headers = _system(settings)
    rid = f"t-{before}-{after}"
    path = [before] if before in REFERRAL_FLOW.initial else _path_to(before)
    for i, status in enumerate(path):
        put = client.put(
            f"/fhir/Task/{rid}", json={**_task_body(status), "id": rid}, headers=headers
        )
        assert put.status_code in (200, 201), (i, status, put.text)
    moved = client.put(f"/fhir/Task/{rid}", json={**_task_body(after), "id": rid}, headers=headers)
    if REFERRAL_FLOW.allows(before, after):
        assert moved.status_code == 200, moved.text
    else:
        assert moved.status_code == 409, moved.text
        assert _code(moved) == "CH-9301"
        current = client.get(f"/fhir/Task/{rid}", headers=headers).json()
        assert current["status"] == before  # nothing changed


def _path_to(state: str) -> list[str]:
    """A legal path from an initial state to ``state`` (breadth first)."""
    frontier = [[s] for s in sorted(REFERRAL_FLOW.initial)]
    seen: set[str] = set()
    while frontier:
        path = frontier.pop(0)
        if path[-1] == state:
            return path
        for nxt in REFERRAL_FLOW.next_states(path[-1]):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append([*path, nxt])
    raise AssertionError(state)


def test_creating_a_referral_task_in_a_late_state_is_refused(
    client: TestClient, settings: Settings
) -> None:
    made = client.post("/fhir/Task", json=_task_body("completed"), headers=_system(settings))
    assert made.status_code == 409 and _code(made) == "CH-9301"
    patched = client.post("/fhir/Task", json=_task_body("requested"), headers=_system(settings))
    tid = patched.json()["id"]
    jump = client.patch(
        f"/fhir/Task/{tid}",
        json=[{"op": "replace", "path": "/status", "value": "completed"}],
        headers={**_system(settings), "Content-Type": "application/json-patch+json"},
    )
    assert jump.status_code == 409 and _code(jump) == "CH-9301"
