"""Training the match model with Splink on a Patient table, without labels.

The u probabilities come from random sampling (two random patients are almost never the same
person); the m probabilities from expectation maximisation over pairs that agree on a blocking
rule, each rule leaving out the fields it uses; the prior λ from the pairs an equal valid
identity number links, scaled by the share of duplicates such a rule finds. The ground truth
of the synthetic county is not used: it is kept for the evaluation (:mod:`.evaluate`).

The guardian field is not trained when no patient has a guardian contact (the synthetic county
has none); its parameters are then taken from :data:`GUARDIAN_PRIOR` and the model file says so.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import Any

import duckdb

from ..identity.matching.comparisons import LEVELS
from .comparisons_sql import splink_settings
from .table import TABLE

#: Rules whose pairs are mostly the same person; EM estimates m for the other fields.
EM_RULES: tuple[str, ...] = (
    "l.id_number = r.id_number",
    "l.pinyin = r.pinyin AND l.birth_year = r.birth_year",
    "l.birth_date = r.birth_date AND l.township = r.township AND l.village = r.village",
)

#: The pairs the deterministic rule finds, and the share of duplicates assumed to carry the same
#: valid number on both records (a recall estimate; the rest lack it or slipped a digit).
PRIOR_RULE = "l.id_number = r.id_number AND l.id_valid AND r.id_valid"
PRIOR_RULE_RECALL = 0.7

#: Hand-set m and u of the guardian levels, used when the data has no guardians (UNVERIFIED:
#: a duplicate child record nearly always names the same parent; two unrelated children
#: rarely do).
GUARDIAN_PRIOR: dict[str, dict[str, float]] = {
    "exact": {"m": 0.9, "u": 0.001},
    "different": {"m": 0.1, "u": 0.999},
}

#: m probabilities held fixed during EM (domain knowledge, not data): a person holds one
#: citizen number for life, so two different numbers that are both valid are nearly never one
#: person (re-issued numbers are the rare exception, UNVERIFIED rate). Unsupervised EM cannot
#: learn this from pairs that look alike otherwise (namesakes born the same day in one
#: village) and would count them as matches.
FIXED_M: dict[str, dict[str, float]] = {"id_number": {"conflict": 0.001}}

#: Floor of an m that EM drove to (nearly) nothing: a few hundred duplicates that never
#: differ in sex or township do not make such a difference impossible, so one field that
#: disagrees costs about ten bits (log2(0.001)) rather than vetoing the pair.
FLOOR_M = 1e-3
#: Floor of a u no sampled pair was seen at (keeps log2(m/u) finite).
FLOOR_U = 1e-6


def train(
    con: duckdb.DuckDBPyConnection,
    *,
    seed: int,
    max_pairs: float = 2e7,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on the table :data:`~.table.TABLE` of ``con``; returns the model file's content.

    Args:
        con: a DuckDB connection holding the Patient table.
        seed: the random seed of the u sampling (same data and seed, same model).
        max_pairs: pairs sampled for u.
        source: what the table was made of, recorded as provenance.
    """
    import splink
    from splink import DuckDBAPI, Linker

    with_guardian = _count(con, "guardian IS NOT NULL") > 0
    fields = tuple(f for f in LEVELS if with_guardian or f != "guardian")
    db_api = DuckDBAPI(con.cursor())  # a cursor of its own, closed with the connection
    table = db_api.register(TABLE)
    settings = splink_settings(None, fields=fields)
    _fix_m(settings)
    linker = Linker(table, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [PRIOR_RULE], recall=PRIOR_RULE_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in EM_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    trained = linker.misc.save_model_to_json()
    out_fields, floored = _fields(trained)
    if not with_guardian:
        out_fields["guardian"] = GUARDIAN_PRIOR
    patients = _count(con, "true")
    return {
        "title": "Patient match model (Fellegi–Sunter), trained on a synthetic county",
        "effective": date.today().isoformat(),
        "sources": [
            "Fellegi, I. P. and Sunter, A. B. (1969), A Theory for Record Linkage, JASA 64(328)",
            f"Splink {splink.__version__} (DuckDB backend): u by random sampling, m by EM",
        ],
        "provenance": {
            **(source or {}),
            "patients": patients,
            "u_random_sampling": {"max_pairs": max_pairs, "seed": seed},
            "em_blocking_rules": list(EM_RULES),
            "prior": {"deterministic_rule": PRIOR_RULE, "assumed_recall": PRIOR_RULE_RECALL},
            "labels_used": False,
            "fixed_m": FIXED_M,
            "floored": {"m_floor": FLOOR_M, "u_floor": FLOOR_U, "levels": floored},
            "guardian": "trained"
            if with_guardian
            else "hand-set (no guardian contacts in the data)",
        },
        "probability_two_random_records_match": trained["probability_two_random_records_match"],
        "fields": out_fields,
    }


def _fix_m(settings: dict[str, Any]) -> None:
    for comp in settings["comparisons"]:
        fixed = FIXED_M.get(comp["output_column_name"], {})
        for level in comp["comparison_levels"]:
            if level["label_for_charts"] in fixed:
                level["m_probability"] = fixed[level["label_for_charts"]]
                level["fix_m_probability"] = True


def _count(con: duckdb.DuckDBPyConnection, where: str) -> int:
    rows = con.execute(f"SELECT count(*) FROM {TABLE} WHERE {where}").fetchall()
    return int(rows[0][0])


def _fields(trained: dict[str, Any]) -> tuple[dict[str, dict[str, dict[str, float]]], list[str]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    floored: list[str] = []
    for comp in trained["comparisons"]:
        name = comp["output_column_name"]
        levels: dict[str, dict[str, float]] = {}
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            label = level["label_for_charts"]
            values: dict[str, float] = {}
            for key, floor in (("m", FLOOR_M), ("u", FLOOR_U)):
                value = level.get(f"{key}_probability")
                if value is None or not math.isfinite(value) or value < floor:
                    floored.append(f"{name}.{label}.{key}")
                    value = floor
                values[key] = round(float(value), 10)
            levels[label] = values
        out[name] = levels
    return out, floored
