"""The Python scorer ($match) and the Splink SQL (batch dedupe) give the same levels and
weights for the same pairs."""

from __future__ import annotations

import math
import random

import duckdb
import pytest

from countyhealth.identity.matching import MatchModel, patient_features
from countyhealth.linkage.predict import predict
from countyhealth.linkage.table import load_resources
from countyhealth.synthetic import SeedOptions, generate_resources


@pytest.fixture(scope="module")
def patients() -> list[dict[str, object]]:
    options = SeedOptions(residents=1500, seed=5, years=1, duplicate_share=0.05, patients_only=True)
    resources, _ = generate_resources(options)
    return [r for r in resources if r["resourceType"] == "Patient"]


def test_python_and_splink_agree(patients: list[dict[str, object]]) -> None:
    model = MatchModel.load()
    con = duckdb.connect()
    load_resources(con, patients)
    pairs = predict(con, model, min_probability=1e-60)  # every blocked pair
    assert len(pairs) > 50
    features = {f"Patient/{p['id']}": patient_features(p) for p in patients}
    sample = random.Random(1).sample(pairs, min(len(pairs), 400))
    for pair in sample:
        score = model.score(features[pair.a], features[pair.b])
        assert score.levels == pair.levels, (pair.a, pair.b)
        assert math.isclose(score.match_weight, pair.match_weight, abs_tol=1e-6)
        assert score.same_valid_id == pair.same_valid_id
