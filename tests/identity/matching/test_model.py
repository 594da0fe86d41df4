"""The trained model: provenance, scoring, grading and speed."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

from countyhealth.identity.matching import (
    LEVELS,
    MatchFeatures,
    MatchModel,
    grade,
    grade_score,
    probability,
)

from .records import ZHANG

A = ZHANG
GRADES = {"certain": 0.999, "probable": 0.95, "possible": 0.5}


def test_model_file_is_dated_with_provenance_and_every_level() -> None:
    model = MatchModel.load()
    assert model.meta["effective"] and model.meta["sources"]
    assert model.meta["provenance"]["labels_used"] is False
    assert 0 < model.prior < 1
    for field, levels in LEVELS.items():
        for level in levels:
            assert 0 < model.m[field][level] <= 1 and 0 < model.u[field][level] <= 1
        # agreement is evidence for a match, disagreement against
        assert model.weights[field][levels[0]] > 0 > model.weights[field][levels[-1]]


def test_score_adds_the_level_weights_to_the_prior() -> None:
    model = MatchModel.load()
    other = replace(A, id="Patient/b", id_number=None, id_valid=False, phones=())
    score = model.score(A, other)
    assert "id_number" not in score.levels and "phone" not in score.levels
    expected = model.prior_weight + sum(
        math.log2(model.m[f][lv] / model.u[f][lv]) for f, lv in score.levels.items()
    )
    assert math.isclose(score.match_weight, expected)
    assert math.isclose(score.probability, probability(expected))
    assert score.weights["name"] > 0
    assert model.score(other, A) == replace(score)  # symmetric


def test_same_person_and_strangers() -> None:
    model = MatchModel.load()
    same = model.score(A, replace(A, id="Patient/b"))
    assert same.same_valid_id and same.probability > 0.999
    assert grade_score(same, **GRADES) == "certain"
    homophone_without_number = replace(
        A, id="Patient/b", name="张小明", id_number=None, id_valid=False
    )
    assert model.score(A, homophone_without_number).probability >= 0.95
    stranger = MatchFeatures(
        id="Patient/c",
        name="李华",
        pinyin="lihua",
        birth_date=date(1991, 8, 20),
        sex="female",
        township="石桥镇",
        village="白水村",
    )
    assert model.score(A, stranger).probability < 0.001
    assert grade_score(model.score(A, stranger), **GRADES) is None


def test_grades() -> None:
    assert grade(0.9995, **GRADES) == "certain"
    assert grade(0.96, **GRADES) == "probable"
    assert grade(0.6, **GRADES) == "possible"
    assert grade(0.1, **GRADES) is None
    assert grade(0.1, **GRADES, same_valid_id=True) == "certain"


def test_probability_does_not_overflow() -> None:
    assert probability(5000.0) == 1.0
    assert probability(-5000.0) == 0.0
    assert probability(0.0) == 0.5
