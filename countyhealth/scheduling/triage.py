"""Smart triage (智能导诊): suggested departments and level of care from the symptoms a resident
types (Chinese free text) or ticks, by the dated rules table ``data/triage_rules.json``.

Pure functions: no storage. The pages record each triage and the accepted suggestion as a
QuestionnaireResponse (:mod:`.triage_record`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import error
from .rules import DATA_DIR

MAX_TEXT = 500
LEVELS = ("village", "township", "county")
URGENCIES = ("routine", "urgent", "emergency")
DEPARTMENTS = frozenset(
    [
        "01",
        "02",
        "03",
        "03.01",
        "03.02",
        "03.03",
        "03.04",
        "03.07",
        "03.10",
        "04",
        "04.02",
        "04.03",
        "05",
        "05.02",
        "06",
        "07",
        "08",
        "09",
        "10",
        "11",
        "12",
        "15",
        "16",
        "20",
        "21",
        "50",
        "50.10",
        "50.13",
        "50.14",
    ]
)
_NEGATIONS = ("不", "没有", "没", "无", "未")
#: general practice at the township centre: the suggestion when nothing matches
_DEFAULT = ("02", "township")


@dataclass(frozen=True, slots=True)
class TriageSuggestion:
    department: str
    fallbacks: tuple[str, ...]
    level: str
    urgency: str
    score: float
    matched: tuple[str, ...]
    rule: str


@dataclass(frozen=True, slots=True)
class TriageResult:
    text: str
    picks: tuple[str, ...]
    suggestions: tuple[TriageSuggestion, ...]
    emergency: bool
    rules_effective: str


@cache
def _rules() -> dict[str, Any]:
    import orjson

    data: dict[str, Any] = orjson.loads((DATA_DIR / "triage_rules.json").read_bytes())
    for rule in data["rules"]:
        for code in [rule["department"], *rule.get("fallbacks", [])]:
            if code not in DEPARTMENTS:
                raise ValueError(f"triage rule {rule['id']}: unknown department {code}")
        if rule["level"] not in LEVELS or rule["urgency"] not in URGENCIES:
            raise ValueError(f"triage rule {rule['id']}: unknown level or urgency")
    return data


def picklist() -> list[dict[str, str]]:
    """The common symptoms a resident can tick: code, zh, en."""
    return [{"code": p["code"], "zh": p["zh"], "en": p["en"]} for p in _rules()["picklist"]]


def rules_effective() -> str:
    return str(_rules()["effective"])


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def _mentions(text: str, keyword: str) -> bool:
    """``keyword`` occurs in ``text`` other than right after a negation (不发烧)."""
    start = 0
    while (at := text.find(keyword, start)) >= 0:
        before = text[max(0, at - 2) : at]
        if not any(before.endswith(n) for n in _NEGATIONS):
            return True
        start = at + 1
    return False


def triage(
    text: str, picks: Sequence[str] = (), age_years: int | None = None, limit: int = 3
) -> TriageResult:
    """Departments for the symptoms, emergencies first, then by score.

    Raises:
        OperationOutcomeError: CH-1006 for no input, too long a text or an unknown pick.
    """
    data = _rules()
    clean = _normalise(text or "")
    if len(clean) > MAX_TEXT:
        raise error("CH-1006", f"describe the symptoms in at most {MAX_TEXT} characters", "text")
    known = {p["code"]: p for p in data["picklist"]}
    for code in picks:
        if code not in known:
            raise error("CH-1006", f"unknown symptom {code[:40]!r}", "picks")
    if not clean and not picks:
        raise error("CH-1006", "describe the symptoms or tick at least one", "text")
    haystack = " ".join([clean, *(kw for c in picks for kw in known[c]["keywords"])])
    merged: dict[str, TriageSuggestion] = {}
    for rule in data["rules"]:
        if age_years is not None and age_years > rule.get("age_max", 200):
            continue
        if age_years is None and "age_max" in rule and rule["id"] != "child":
            continue
        matched = tuple(k for k in rule["keywords"] if _mentions(haystack, k))
        if not matched:
            continue
        score = float(rule["weight"]) * len(matched)
        previous = merged.get(rule["department"])
        if previous is not None:
            score += previous.score
            matched = tuple(dict.fromkeys([*previous.matched, *matched]))
        merged[rule["department"]] = TriageSuggestion(
            department=rule["department"],
            fallbacks=tuple(rule.get("fallbacks", [])),
            level=rule["level"],
            urgency=_stronger(rule["urgency"], previous.urgency if previous else "routine"),
            score=score,
            matched=matched,
            rule=rule["id"] if previous is None else previous.rule,
        )
    ranked = sorted(
        merged.values(),
        key=lambda s: (s.urgency != "emergency", -s.score, s.department),
    )[:limit]
    if not ranked:
        ranked = [TriageSuggestion(_DEFAULT[0], (), _DEFAULT[1], "routine", 0.0, (), "default")]
    return TriageResult(
        text=clean,
        picks=tuple(picks),
        suggestions=tuple(ranked),
        emergency=any(s.urgency == "emergency" for s in ranked),
        rules_effective=str(data["effective"]),
    )


def _stronger(a: str, b: str) -> str:
    return a if URGENCIES.index(a) >= URGENCIES.index(b) else b
