"""Row-level access: own organisation, Consent, break-glass, residents' compartments (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from countyhealth.consent import consent_resource, grant, revoke
from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir.consent_grants import custodian_of
from countyhealth.fhir.search_request import parse_search
from countyhealth.security.roles import caller_for
from countyhealth.store import ExportSelection, HistoryQuery, Repository, Store
from tests.conftest import make_settings


def clinician(org: str, user: str = "dr", role: str = "county-clinician") -> object:
    return caller_for(
        kind="user",
        id=f"{user}-{org}",
        role_codes=(role,),
        organization=f"Organization/{org}",
        actors=(f"PractitionerRole/pr-{user}-{org}",),
    )


def resident(*patients: str) -> object:
    return caller_for(
        kind="user", id=f"res-{patients[0]}", role_codes=("resident",), patients=patients
    )


def patient(pid: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1970-01-01"}


def observation(pid: str, value: float = 120) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "valueQuantity": {"value": value, "unit": "mmHg"},
    }


def condition(pid: str) -> dict:
    return {
        "resourceType": "Condition",
        "code": {"text": "高血压"},
        "subject": {"reference": f"Patient/{pid}"},
    }


def search(repo: Repository, rtype: str, *params: tuple[str, str]):
    return repo.search(parse_search([rtype], list(params)))


def code(exc: pytest.ExceptionInfo[OperationOutcomeError]) -> str:
    return exc.value.code


@pytest.fixture
def world(store: Store, repo: Repository) -> dict:
    for pid in ("p1", "p2", "c1"):
        repo.update("Patient", pid, patient(pid))
    a = store.repository(clinician("orgA"))  # type: ignore[arg-type]
    obs = a.create(observation("p1"))
    cond = a.create(condition("p1"))
    return {"a": a, "b": store.repository(clinician("orgB")), "obs": obs, "cond": cond}  # type: ignore[arg-type]


def test_writes_by_an_organisation_carry_its_custodian_tag(world: dict, repo: Repository) -> None:
    assert custodian_of(world["obs"].resource) == "Organization/orgA"
    # an update by another caller keeps the first recorder
    body = {**world["obs"].resource, "status": "amended"}
    stored, _ = repo.update("Observation", world["obs"].id, body)
    assert custodian_of(stored.resource) == "Organization/orgA"


def test_other_organisation_needs_consent_and_revocation_is_immediate(
    world: dict, store: Store
) -> None:
    a, b, obs = world["a"], world["b"], world["obs"]
    assert a.read("Observation", obs.id).id == obs.id
    with pytest.raises(OperationOutcomeError) as exc:
        b.read("Observation", obs.id)
    assert code(exc) == "CH-4004"
    page = search(b, "Observation", ("patient", "p1"))
    assert page.entries == [] and page.suppressed
    assert b.read("Patient", "p1").id == "p1"  # the master patient index is shared

    p1 = store.repository(resident("p1"))  # type: ignore[arg-type]
    consent = grant(p1, "p1", "Organization/orgB")
    assert b.read("Observation", obs.id).id == obs.id
    assert [e.id for e in search(b, "Observation", ("patient", "p1")).entries] == [obs.id]
    assert b.read("Consent", consent.id).id == consent.id  # grantees see what they were given

    revoke(p1, consent.id)
    with pytest.raises(OperationOutcomeError):
        b.read("Observation", obs.id)
    assert search(b, "Observation", ("patient", "p1")).entries == []


def test_consent_for_a_category_or_a_practitioner(world: dict, store: Store) -> None:
    b, obs, cond = world["b"], world["obs"], world["cond"]
    p1 = store.repository(resident("p1"))  # type: ignore[arg-type]
    grant(p1, "p1", "Organization/orgB", category_code="results")
    assert b.read("Observation", obs.id).id == obs.id
    with pytest.raises(OperationOutcomeError):
        b.read("Condition", cond.id)
    other = store.repository(clinician("orgC", user="li"))  # type: ignore[arg-type]
    grant(p1, "p1", "PractitionerRole/pr-li-orgC")
    assert other.read("Condition", cond.id).id == cond.id
    colleague = store.repository(clinician("orgC", user="wang"))  # type: ignore[arg-type]
    with pytest.raises(OperationOutcomeError):
        colleague.read("Condition", cond.id)


def test_expired_or_future_consent_grants_nothing(world: dict, repo: Repository) -> None:
    past = datetime.now(UTC) - timedelta(days=10)
    repo.create(consent_resource("p1", "Organization/orgB", days=2, now=past))
    future = datetime.now(UTC) + timedelta(days=10)
    repo.create(consent_resource("p1", "Organization/orgB", days=2, now=future))
    with pytest.raises(OperationOutcomeError):
        world["b"].read("Observation", world["obs"].id)


def test_break_glass_needs_privilege_and_reason_and_is_audited(world: dict, store: Store) -> None:
    b, obs = world["b"], world["obs"]
    with pytest.raises(OperationOutcomeError) as exc:
        b.break_glass("p1", " ")
    assert code(exc) == "CH-4005"
    nurse = store.repository(clinician("orgB", user="n", role="nurse"))  # type: ignore[arg-type]
    with pytest.raises(OperationOutcomeError) as exc:
        nurse.break_glass("p1", "unconscious patient in ED")
    assert code(exc) == "CH-4013"

    opening = b.break_glass("p1", "unconscious patient in ED, allergies unknown")
    assert opening.expires_us - opening.started_us == 180 * 60_000_000
    assert b.read("Observation", obs.id).id == obs.id
    assert [e.id for e in search(b, "Observation", ("patient", "p1")).entries] == [obs.id]
    # other patients stay closed
    store.repository(clinician("orgA")).create(observation("p2"))  # type: ignore[arg-type]
    assert search(b, "Observation", ("patient", "p2")).entries == []

    log = store.repository(resident("p1")).access_log("p1")  # type: ignore[arg-type]
    flagged = [line for line in log if line.break_glass]
    assert flagged and all(line.organization == "Organization/orgB" for line in flagged)
    assert any(line.reason == "unconscious patient in ED, allergies unknown" for line in flagged)
    bureau = store.repository(caller_for(kind="user", id="boss", role_codes=("bureau-admin",)))
    openings = bureau.break_glass_openings(0)
    assert [o.patient_id for o in openings] == ["p1"]
    with pytest.raises(OperationOutcomeError):
        b.break_glass_openings(0)


def test_break_glass_expires(world: dict, store: Store, settings) -> None:
    b = world["b"]
    b.break_glass("p1", "trauma call")
    later = store.clock.now_us() + 181 * 60_000_000
    store.clock.now_us = lambda: later  # type: ignore[method-assign]  # 3 h 1 min later
    with pytest.raises(OperationOutcomeError):
        b.read("Observation", world["obs"].id)


def test_resident_sees_own_and_wards_records_only(world: dict, store: Store) -> None:
    a = world["a"]
    child_obs = a.create(observation("c1"))
    other = a.create(observation("p2"))
    mother = store.repository(resident("p1", "c1"))  # type: ignore[arg-type]
    assert mother.read("Observation", child_obs.id).id == child_obs.id
    with pytest.raises(OperationOutcomeError):
        mother.read("Observation", other.id)
    with pytest.raises(OperationOutcomeError):
        mother.read("Patient", "p2")
    ids = {e.id for e in search(mother, "Observation").entries}
    assert ids == {world["obs"].id, child_obs.id}
    with pytest.raises(OperationOutcomeError) as exc:
        mother.create(consent_resource("p2", "Organization/orgB"))
    assert code(exc) == "CH-4003"
    grant(mother, "c1", "Organization/orgB", performer="Patient/p1")  # a guardian for a minor


def test_includes_history_and_export_leave_out_what_is_not_allowed(
    world: dict, store: Store
) -> None:
    b, obs = world["b"], world["obs"]
    page = search(b, "Patient", ("_id", "p1"), ("_revinclude", "Observation:subject"))
    assert [e.id for e in page.entries] == ["p1"] and page.included == [] and page.suppressed
    with pytest.raises(OperationOutcomeError):
        b.history(HistoryQuery(type="Observation", id=obs.id))
    assert b.history(HistoryQuery(type="Observation")).entries == []
    selection = ExportSelection("Observation", until_us=store.clock.now_us())
    assert [s for page in b.export_pages(selection, 100) for s in page] == []
    grant(store.repository(resident("p1")), "p1", "Organization/orgB")  # type: ignore[arg-type]
    assert [s.id for page in b.export_pages(selection, 100) for s in page] == [obs.id]
    page = search(b, "Patient", ("_id", "p1"), ("_revinclude", "Observation:subject"))
    assert [e.id for e in page.included] == [obs.id]


def test_audit_events_are_immutable(world: dict, repo: Repository, store: Store) -> None:
    store.audit.flush()
    event = search(repo, "AuditEvent", ("_count", "1")).entries[0]
    with pytest.raises(OperationOutcomeError) as exc:
        repo.update("AuditEvent", event.id, {**event.resource, "outcome": "8"})
    assert code(exc) == "CH-4009"
    with pytest.raises(OperationOutcomeError) as exc:
        repo.delete("AuditEvent", event.id)
    assert code(exc) == "CH-4009"


def test_denial_can_answer_404(tmp_path, request, backend: str) -> None:
    settings = make_settings(backend, tmp_path, request, consent_denial_status=404)
    store = Store.open(settings)
    try:
        a = store.repository(clinician("orgA"))  # type: ignore[arg-type]
        store.repository(clinician("orgA")).create(patient("p9") | {"id": "x"})  # type: ignore[arg-type]
        obs = a.create(observation("p9"))
        with pytest.raises(OperationOutcomeError) as exc:
            store.repository(clinician("orgB")).read("Observation", obs.id)  # type: ignore[arg-type]
        assert code(exc) == "CH-2001"
    finally:
        store.close()
