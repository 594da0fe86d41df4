"""Merging two records of one person, undoing it, and the steward's decisions on reviews —
on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.identity.links import link_targets
from countyhealth.identity.merge import merge_patients, unmerge
from countyhealth.identity.review import open_review
from countyhealth.identity.review_decisions import decide
from countyhealth.store import Repository, Store

from .people import clinician, steward, stranger, wang, wang_again


def _encounter(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
        },
        "subject": {"reference": patient},
    }


def _observation(patient: str, encounter: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": patient},
        "encounter": {"reference": encounter},
        "valueQuantity": {"value": 150, "unit": "mm[Hg]"},
    }


def _code(exc: pytest.ExceptionInfo[OperationOutcomeError]) -> str:
    return exc.value.code


@pytest.fixture
def pair(repo: Repository) -> tuple[str, str, list[str]]:
    target = f"Patient/{repo.create(wang()).id}"
    source = f"Patient/{repo.create(wang_again()).id}"
    enc = repo.create(_encounter(source))
    obs = repo.create(_observation(source, f"Encounter/{enc.id}"))
    return source, target, [f"Encounter/{enc.id}", f"Observation/{obs.id}"]


def test_merge_repoints_marks_and_can_be_undone(
    store: Store, repo: Repository, pair: tuple[str, str, list[str]]
) -> None:
    source, target, records = pair
    done = merge_patients(steward(store), source, target, "同一人：身份证核实")
    assert done.repointed == 2
    for ref in records:
        rtype, rid = ref.split("/")
        assert repo.read(rtype, rid).resource["subject"]["reference"] == target
    src = repo.read("Patient", source.split("/")[1]).resource
    tgt = repo.read("Patient", target.split("/")[1]).resource
    assert src["active"] is False
    assert link_targets(src, "replaced-by") == [target]
    assert link_targets(tgt, "replaces") == [source]
    prov = repo.read("Provenance", done.provenance).resource
    assert prov["activity"]["coding"][0]["code"] == "merge"

    undone = unmerge(steward(store), done.provenance, "合并有误")
    assert undone.repointed == 2
    for ref in records:
        rtype, rid = ref.split("/")
        assert repo.read(rtype, rid).resource["subject"]["reference"] == source
    src = repo.read("Patient", source.split("/")[1]).resource
    assert src["active"] is True and not src.get("link")
    assert not repo.read("Patient", target.split("/")[1]).resource.get("link")


def test_merge_refusals(store: Store, repo: Repository, pair: tuple[str, str, list[str]]) -> None:
    source, target, _ = pair
    with pytest.raises(OperationOutcomeError) as exc:
        merge_patients(clinician(store), source, target, "x")
    assert _code(exc) == "CH-9504"
    with pytest.raises(OperationOutcomeError) as exc:
        merge_patients(steward(store), source, source, "x")
    assert _code(exc) == "CH-9503"
    with pytest.raises(OperationOutcomeError) as exc:
        merge_patients(steward(store), "Observation/1", target, "x")
    assert _code(exc) == "CH-9502"
    merge_patients(steward(store), source, target, "x")
    with pytest.raises(OperationOutcomeError) as exc:
        merge_patients(steward(store), source, target, "again")
    assert _code(exc) == "CH-9503"
    third = f"Patient/{repo.create(stranger()).id}"
    with pytest.raises(OperationOutcomeError) as exc:  # into a record that is itself merged away
        merge_patients(steward(store), third, source, "x")
    assert _code(exc) == "CH-9503"


def _review(repo: Repository, a: str, b: str) -> str:
    task = open_review(
        repo, a, b, probability=0.97, grade="probable", levels={"name": "pinyin"}, origin="dedupe"
    )
    assert task is not None
    return task


def test_decisions_close_the_review_once(
    store: Store, repo: Repository, pair: tuple[str, str, list[str]]
) -> None:
    source, target, records = pair
    task = _review(repo, source, target)
    assert (
        open_review(
            repo, target, source, probability=0.97, grade="probable", levels={}, origin="create"
        )
        is None
    )  # the pair is under review already, in either order
    with pytest.raises(OperationOutcomeError) as exc:
        decide(clinician(store), task, "merged", survivor=target)
    assert _code(exc) == "CH-9504"
    with pytest.raises(OperationOutcomeError) as exc:
        decide(steward(store), task, "merged", survivor="Patient/nobody")
    assert _code(exc) == "CH-9502"
    review = decide(steward(store), task, "merged", survivor=target, note="身份证核实")
    assert review.status == "completed" and review.decision == "merged"
    enc = records[0].split("/")[1]
    assert repo.read("Encounter", enc).resource["subject"]["reference"] == target
    with pytest.raises(OperationOutcomeError) as exc:
        decide(steward(store), task, "distinct")
    assert _code(exc) == "CH-9505"


def test_linked_and_distinct(store: Store, repo: Repository) -> None:
    a = f"Patient/{repo.create(wang()).id}"
    b = f"Patient/{repo.create(wang_again()).id}"
    c = f"Patient/{repo.create(stranger()).id}"
    decide(steward(store), _review(repo, a, b), "linked")
    assert link_targets(repo.read("Patient", a[8:]).resource, "seealso") == [b]
    assert link_targets(repo.read("Patient", b[8:]).resource, "seealso") == [a]
    assert open_review(repo, a, b, probability=0.9, grade="probable", levels={}, origin="x") is None
    decide(steward(store), _review(repo, a, c), "distinct")
    assert open_review(repo, c, a, probability=0.9, grade="probable", levels={}, origin="x") is None
