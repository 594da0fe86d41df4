"""The trained Fellegi–Sunter model: load its parameters, score a pair, grade a probability.

For each field the pair falls into one level (:mod:`.comparisons`); the level has an m
probability (the share of true matches at that level) and a u probability (the share of
non-matches). The match weight is log2 of the prior odds plus the sum of log2(m/u) over the
non-null levels; the probability is 2^w / (1 + 2^w). The parameters are data
(``countyhealth/identity/data/match_model.json``): trained with Splink on a synthetic county
(``countyhealth linkage train``, docs/linkage.md), u by random sampling, m by expectation
maximisation, never from the ground-truth labels.

Patient/$match reports the probability as the search score and the grade as the match-grade
extension (https://hl7.org/fhir/R4/patient-operation-match.html,
http://hl7.org/fhir/StructureDefinition/match-grade): an equal valid identity number is always
``certain`` (deterministic rule), otherwise the probability against the thresholds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from .comparisons import COMPARE, LEVELS
from .features import MatchFeatures

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "match_model.json"

Grade = Literal["certain", "probable", "possible"]


@dataclass(frozen=True, slots=True)
class PairScore:
    """The score of one pair.

    Attributes:
        match_weight: log2 Bayes factor of the pair, prior included.
        probability: the match probability.
        levels: the level of each field that had values on both sides.
        weights: log2(m/u) of each of those levels (what each field added to the weight).
        same_valid_id: both records carry the same valid identity number.
    """

    match_weight: float
    probability: float
    levels: dict[str, str] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    same_valid_id: bool = False


@dataclass(frozen=True, slots=True)
class MatchModel:
    """Trained parameters: prior, and m and u of each level of each field."""

    prior: float
    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    meta: dict[str, Any]
    #: log2(m/u) of every level of every field (computed once, see :meth:`from_dict`)
    weights: dict[str, dict[str, float]]

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds λ / (1 − λ)."""
        return math.log2(self.prior / (1 - self.prior))

    @staticmethod
    def load(path: Path | None = None) -> MatchModel:
        """The model of ``path`` (default: the shipped ``match_model.json``), cached."""
        return _load(path or MODEL_PATH)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> MatchModel:
        m: dict[str, dict[str, float]] = {}
        u: dict[str, dict[str, float]] = {}
        for name, levels in LEVELS.items():
            given = data["fields"][name]
            missing = [lv for lv in levels if lv not in given]
            if missing:
                raise ValueError(f"match model: field {name} lacks levels {missing}")
            m[name] = {lv: float(given[lv]["m"]) for lv in levels}
            u[name] = {lv: float(given[lv]["u"]) for lv in levels}
        meta = {k: v for k, v in data.items() if k != "fields"}
        weights = {
            name: {lv: math.log2(m[name][lv] / u[name][lv]) for lv in levels}
            for name, levels in LEVELS.items()
        }
        prior = float(data["probability_two_random_records_match"])
        return MatchModel(prior, m, u, meta, weights)

    def score(self, a: MatchFeatures, b: MatchFeatures) -> PairScore:
        """Score the pair (a and b in either order give the same score)."""
        table = self.weights
        total = self.prior_weight
        levels: dict[str, str] = {}
        weights: dict[str, float] = {}
        for name, fn in COMPARE.items():
            level = fn(a, b)
            if level is None:
                continue
            w = table[name][level]
            levels[name] = level
            weights[name] = w
            total += w
        same = a.id_valid and b.id_valid and a.id_number == b.id_number
        return PairScore(total, probability(total), levels, weights, same)


def probability(match_weight: float) -> float:
    """The probability of a match weight: 2^w / (1 + 2^w), computed without overflow."""
    if match_weight >= 0:
        return 1.0 / (1.0 + 2.0 ** (-match_weight))
    odds = 2.0**match_weight
    return odds / (1.0 + odds)


def grade(
    probability: float,
    *,
    certain: float,
    probable: float,
    possible: float,
    same_valid_id: bool = False,
) -> Grade | None:
    """The match grade of a probability (None: below ``possible``, not a candidate).

    ``same_valid_id`` (an equal valid identity number on both sides) is always certain.
    """
    if same_valid_id or probability >= certain:
        return "certain"
    if probability >= probable:
        return "probable"
    if probability >= possible:
        return "possible"
    return None


def grade_score(
    score: PairScore, *, certain: float, probable: float, possible: float
) -> Grade | None:
    """:func:`grade` of a :class:`PairScore`, the deterministic identity-number rule included."""
    return grade(
        score.probability,
        certain=certain,
        probable=probable,
        possible=possible,
        same_valid_id=score.same_valid_id,
    )


@cache
def _load(path: Path) -> MatchModel:
    return MatchModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
