"""Scoring every candidate pair of the Patient table with Splink and the trained model.

Splink makes the candidate pairs from the blocking rules (:data:`~.comparisons_sql.BLOCKING_RULES`),
computes each pair's comparison levels and match weight in DuckDB, and keeps the pairs at or
above a probability. Pairs that carry the same valid identity number are added whatever their
probability (the deterministic rule grades them certain).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from ..identity.matching.comparisons import LEVELS
from ..identity.matching.model import Grade, MatchModel, grade, probability
from .comparisons_sql import splink_settings
from .table import TABLE


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """A candidate pair as Splink scored it (``a`` < ``b``, both ``Patient/<id>``)."""

    a: str
    b: str
    match_weight: float
    probability: float
    levels: dict[str, str]
    same_valid_id: bool

    def grade(self, *, certain: float, probable: float, possible: float) -> Grade | None:
        return grade(
            self.probability,
            certain=certain,
            probable=probable,
            possible=possible,
            same_valid_id=self.same_valid_id,
        )


def predict(
    con: duckdb.DuckDBPyConnection, model: MatchModel, *, min_probability: float
) -> list[ScoredPair]:
    """Every pair with a probability of at least ``min_probability`` or the same valid
    identity number, each once."""
    return list(_pairs(con, model, min_probability))


def _pairs(
    con: duckdb.DuckDBPyConnection, model: MatchModel, min_probability: float
) -> Iterator[ScoredPair]:
    from splink import DuckDBAPI, Linker

    # Splink gets a cursor of its own: a result it leaves unread must not block our queries
    splink_con = con.cursor()
    db_api = DuckDBAPI(splink_con)
    linker = Linker(db_api.register(TABLE), splink_settings(model), log_level=logging.ERROR)
    result = linker.inference.predict(threshold_match_probability=min_probability)
    fields = list(LEVELS)
    gammas = ", ".join(f"p.gamma_{f}" for f in fields)
    rows = con.execute(
        f"""
        SELECT p.unique_id_l, p.unique_id_r, p.match_weight, {gammas},
               coalesce(l.id_valid AND r.id_valid AND l.id_number = r.id_number, false)
        FROM {result.physical_name} p
        JOIN {TABLE} l ON l.unique_id = p.unique_id_l
        JOIN {TABLE} r ON r.unique_id = p.unique_id_r
        """
    ).fetchall()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        a, b = sorted((str(row[0]), str(row[1])))
        seen.add((a, b))
        levels = {
            f: _label(f, int(g)) for f, g in zip(fields, row[3 : 3 + len(fields)], strict=True)
        }
        weight = float(row[2])
        yield ScoredPair(
            f"Patient/{a}",
            f"Patient/{b}",
            weight,
            probability(weight),
            {f: lv for f, lv in levels.items() if lv is not None},
            bool(row[-1]),
        )
    result.drop_table_from_database_and_remove_from_cache()
    splink_con.close()
    # the deterministic rule: an equal valid number is certain whatever the other fields say
    same_id = con.execute(
        f"""
        SELECT l.unique_id, r.unique_id FROM {TABLE} l JOIN {TABLE} r
          ON l.id_number = r.id_number AND l.unique_id < r.unique_id
        WHERE l.id_valid AND r.id_valid
        """
    ).fetchall()
    for x, y in same_id:
        if (str(x), str(y)) not in seen:
            yield _same_id_pair(con, model, str(x), str(y))


def _label(field: str, gamma: int) -> str | None:
    """The level name of a Splink comparison vector value (−1: null; the first level listed
    has the highest value)."""
    if gamma < 0:
        return None
    names = LEVELS[field]
    return names[len(names) - 1 - gamma]


def _same_id_pair(con: duckdb.DuckDBPyConnection, model: MatchModel, a: str, b: str) -> ScoredPair:
    # scored in Python: Splink left the pair out for its low probability
    from ..identity.matching.features import MatchFeatures

    cols = "name, pinyin, birth_date, sex, id_number, id_valid, phones, township, village, guardian"
    found = {}
    for uid in (a, b):
        row = con.execute(f"SELECT {cols} FROM {TABLE} WHERE unique_id = ?", [uid]).fetchone()
        assert row is not None
        found[uid] = MatchFeatures(
            id=f"Patient/{uid}",
            name=row[0],
            pinyin=row[1],
            birth_date=row[2],
            sex=row[3],
            id_number=row[4],
            id_valid=bool(row[5]),
            phones=tuple(row[6] or ()),
            township=row[7],
            village=row[8],
            guardian=row[9],
        )
    score = model.score(found[a], found[b])
    return ScoredPair(
        f"Patient/{a}", f"Patient/{b}", score.match_weight, score.probability, score.levels, True
    )
