"""The comparison levels of :mod:`countyhealth.identity.matching.comparisons` as Splink SQL.

Splink (https://moj-analytical-services.github.io/splink/) compares the two sides of a pair as
columns suffixed ``_l`` and ``_r``. Each field lists its null level first, then the same levels
in the same order and with the same names (``label_for_charts``) as the Python comparisons, so
a model trained here scores identically in ``Patient/$match``. The SQL is DuckDB's
(``damerau_levenshtein``, ``levenshtein``, ``list_has_any``); another backend (Spark for a
province) needs its own spelling of those three functions.
"""

from __future__ import annotations

from typing import Any

from ..identity.matching.comparisons import LEVELS, NEAR_DAYS
from ..identity.matching.model import MatchModel

_NULL: dict[str, str] = {
    "id_number": "id_number_l IS NULL OR id_number_r IS NULL",
    "name": "name_l IS NULL OR name_r IS NULL",
    "birth_date": "birth_date_l IS NULL OR birth_date_r IS NULL",
    "sex": "sex_l IS NULL OR sex_r IS NULL",
    "phone": "len(phones_l) = 0 OR len(phones_r) = 0",
    "address": "township_l IS NULL OR township_r IS NULL",
    "guardian": "guardian_l IS NULL OR guardian_r IS NULL",
}

#: The condition of every level but the last (``ELSE``), in the order of ``LEVELS``.
_CONDITIONS: dict[str, dict[str, str]] = {
    "id_number": {
        "exact": "id_number_l = id_number_r",
        "near": "damerau_levenshtein(id_number_l, id_number_r) <= 1",
        "conflict": "id_valid_l AND id_valid_r",
    },
    "name": {
        "exact": "name_l = name_r",
        "homophone": "pinyin_l = pinyin_r",
        "one_char": "levenshtein(name_l, name_r) <= 1",
    },
    "birth_date": {
        "exact": "birth_date_l = birth_date_r",
        "swapped": "year(birth_date_l) = year(birth_date_r)"
        " AND month(birth_date_l) = day(birth_date_r)"
        " AND day(birth_date_l) = month(birth_date_r)",
        "near": f"abs(date_diff('day', birth_date_l, birth_date_r)) <= {NEAR_DAYS}",
    },
    "sex": {"exact": "sex_l = sex_r"},
    "phone": {"shared": "list_has_any(phones_l, phones_r)"},
    "address": {
        "village": "township_l = township_r AND village_l = village_r",
        "township": "township_l = township_r",
    },
    "guardian": {"exact": "guardian_l = guardian_r"},
}


def comparison(field: str, model: MatchModel | None = None) -> dict[str, Any]:
    """The Splink comparison of one field, with the model's m and u when given."""
    levels: list[dict[str, Any]] = [
        {"sql_condition": _NULL[field], "label_for_charts": "null", "is_null_level": True}
    ]
    names = LEVELS[field]
    for level in names:
        entry: dict[str, Any] = {
            "sql_condition": _CONDITIONS[field].get(level, "ELSE"),
            "label_for_charts": level,
        }
        if model is not None:
            entry["m_probability"] = model.m[field][level]
            entry["u_probability"] = model.u[field][level]
        levels.append(entry)
    if levels[-1]["sql_condition"] != "ELSE":
        raise ValueError(f"{field}: the last level must be the ELSE level")
    return {"output_column_name": field, "comparison_levels": levels}


def splink_settings(
    model: MatchModel | None = None,
    *,
    fields: tuple[str, ...] | None = None,
    blocking_rules: list[str] | None = None,
) -> dict[str, Any]:
    """A Splink settings dictionary for deduplicating the Patient table.

    Args:
        model: trained parameters to use (None: untrained, for training).
        fields: the fields compared (default all).
        blocking_rules: the rules that make the candidate pairs (default :data:`BLOCKING_RULES`).
    """
    chosen = fields or tuple(LEVELS)
    settings: dict[str, Any] = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": [comparison(f, model) for f in chosen],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": r} for r in (blocking_rules or BLOCKING_RULES)
        ],
        "retain_matching_columns": True,  # with the gamma (level) columns
        "retain_intermediate_calculation_columns": False,
    }
    if model is not None:
        settings["probability_two_random_records_match"] = model.prior
    return settings


#: Candidate pairs: anything that agrees on one of these is compared. A planted duplicate
#: differs from its original in one or two of name, number and birth date, so every error
#: leaves at least one rule that still holds.
BLOCKING_RULES: list[str] = [
    "l.id_number = r.id_number",
    "l.phone = r.phone",
    "l.birth_date = r.birth_date AND l.sex = r.sex",
    "l.birth_swapped = r.birth_date AND l.sex = r.sex",
    "l.birth_date = r.birth_swapped AND l.sex = r.sex",
    "l.pinyin = r.pinyin AND l.birth_year = r.birth_year",
    "l.name = r.name AND l.township = r.township",
]
