"""Same options, same county; another seed, another county (generator only, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from countyhealth.synthetic import SeedOptions, content_hash, generate_resources


def test_same_seed_same_content_other_seed_other_county() -> None:
    a, _ = generate_resources(SeedOptions(residents=120, seed=3, years=1))
    b, _ = generate_resources(SeedOptions(residents=120, seed=3, years=1))
    c, _ = generate_resources(SeedOptions(residents=120, seed=4, years=1))
    assert content_hash(a) == content_hash(b)
    assert a == b
    hashes_c = content_hash(c)
    assert all(
        hashes_c[t] != h
        for t, h in content_hash(a).items()
        if t in ("Patient", "Location", "Encounter")
    )
    names_a = {
        r["name"] for r in a if r["resourceType"] == "Location" and r["id"].startswith("loc-t")
    }
    names_c = {
        r["name"] for r in c if r["resourceType"] == "Location" and r["id"].startswith("loc-t")
    }
    assert names_a != names_c


def test_county_name_and_period_are_options() -> None:
    resources, truth = generate_resources(
        SeedOptions(residents=50, seed=1, years=1, start=date(2021, 3, 1), county_name="白水县")
    )
    county = next(r for r in resources if r["id"] == "loc-county")
    assert county["name"] == "白水县"
    dates = [r["period"]["start"][:10] for r in resources if r["resourceType"] == "Encounter"]
    assert dates and min(dates) >= "2021-03-01" and max(dates) < "2022-03-01"
    assert truth.options.end == date(2022, 3, 1)


@pytest.mark.parametrize(
    "bad", [{"residents": 0}, {"years": 0}, {"duplicate_share": 0.9}, {"county_code": "12"}]
)
def test_options_are_checked(bad: dict) -> None:
    with pytest.raises(ValueError):
        SeedOptions(**bad)


def test_a_failing_generator_process_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from countyhealth.synthetic import pipeline

    monkeypatch.setattr(pipeline, "_options_json", lambda options: b"not json")
    with pytest.raises(RuntimeError, match="generator process failed"):
        list(pipeline.chunks_from_child(SeedOptions(residents=5)))
