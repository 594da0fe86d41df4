"""Batch deduplication on a seeded county: precision and recall against the planted duplicates,
links and review Tasks written once (a second run changes nothing)."""

from __future__ import annotations

from pathlib import Path

import orjson

from countyhealth.config import Settings
from countyhealth.fhir import systems
from countyhealth.identity.links import link_targets
from countyhealth.identity.review import reviews_of_pair
from countyhealth.linkage.dedupe import Thresholds, dedupe
from countyhealth.linkage.evaluate import confusion, planted_pairs
from countyhealth.store import Repository
from countyhealth.synthetic import SeedOptions, seed_county


def test_dedupe_finds_the_planted_duplicates_and_acts_once(
    repo: Repository, settings: Settings, tmp_path: Path
) -> None:
    residents = 300 if settings.database_url.startswith("postgresql") else 1200
    options = SeedOptions(
        residents=residents, seed=7, years=1, duplicate_share=0.05, patients_only=True
    )
    report = seed_county(repo, options, ground_truth=tmp_path / "truth.json")
    truth = orjson.loads((tmp_path / "truth.json").read_bytes())
    planted = planted_pairs(truth["duplicates"])
    assert len(planted) >= 10
    thresholds = Thresholds(
        certain=settings.mpi_certain_probability,
        probable=settings.mpi_probable_probability,
        possible=settings.mpi_possible_probability,
    )

    first, pairs = dedupe(repo, thresholds)

    assert first.patients == report.by_type["Patient"]
    result = confusion(((p.a, p.b) for p in pairs), planted, first.patients)
    assert result.precision >= 0.99, result
    assert result.recall >= 0.99, result
    assert first.pairs == first.certain + first.probable == len(pairs)
    assert first.linked + first.reviews == first.pairs and first.failed == 0
    certain = [p for p in pairs if p.grade(**vars_of(thresholds)) == "certain"]
    a, b = certain[0].a, certain[0].b
    assert b in link_targets(repo.read("Patient", a.split("/")[1]).resource, "seealso")
    assert a in link_targets(repo.read("Patient", b.split("/")[1]).resource, "seealso")
    for p in pairs:
        if p.grade(**vars_of(thresholds)) == "probable":
            (review,) = reviews_of_pair(repo, p.a, p.b)
            assert review.origin == "dedupe" and review.grade == "probable"

    again, _ = dedupe(repo, thresholds)
    assert (again.linked, again.reviews) == (0, 0)
    assert again.unchanged == again.pairs == first.pairs


def test_dry_run_writes_nothing(repo: Repository, settings: Settings) -> None:
    seed_county(repo, SeedOptions(residents=150, seed=3, years=1, patients_only=True))
    thresholds = Thresholds(certain=0.999, probable=0.95, possible=0.5)
    report, pairs = dedupe(repo, thresholds, dry_run=True, threshold="possible")
    assert report.linked == report.reviews == 0 and report.steps == ("read", "predict")
    for p in pairs:
        assert link_targets(repo.read("Patient", p.a.split("/")[1]).resource) == []


def test_a_shared_number_on_two_different_people_goes_to_review(repo: Repository) -> None:
    def patient(name: str, family: str, birth: str, sex: str, village: str) -> str:
        body = {
            "resourceType": "Patient",
            "identifier": [{"system": systems.ID_CARD, "value": "11010519491231002X"}],
            "name": [{"use": "official", "family": family, "given": [name]}],
            "gender": sex,
            "birthDate": birth,
            "address": [{"use": "home", "line": [village], "city": "石桥镇"}],
        }
        return f"Patient/{repo.create(body).id}"

    a = patient("晓明", "张", "1949-12-31", "female", "青山村")
    b = patient("秀英", "刘", "1988-05-02", "female", "白水村")
    thresholds = Thresholds(certain=0.999, probable=0.95, possible=0.5)
    report, pairs = dedupe(repo, thresholds)
    assert [(p.a, p.b) for p in pairs] == [tuple(sorted((a, b)))]
    assert pairs[0].same_valid_id and pairs[0].probability < 0.5
    assert (report.certain, report.linked, report.reviews) == (1, 0, 1)
    (review,) = reviews_of_pair(repo, a, b)
    assert review.grade == "certain"


def vars_of(t: Thresholds) -> dict[str, float]:
    return {"certain": t.certain, "probable": t.probable, "possible": t.possible}
