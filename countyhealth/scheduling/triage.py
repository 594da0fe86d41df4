"""Smart triage (智能导诊): suggested departments and level of care from the symptoms a resident
types (Chinese free text) or ticks, by the dated rules table ``data/triage_rules.json``.

Pure functions: no storage. The pages record each triage and the accepted suggestion as a
QuestionnaireResponse (:mod:`.triage_record`). How a rule matches, scores and treats age is
written in the table's ``notes`` so that the clinicians who review the table read it there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from ..errors import error
from .rules import DATA_DIR

MAX_TEXT = 500
LEVELS = ("village", "township", "county")
URGENCIES = ("routine", "urgent", "emergency")
#: The 诊疗科目 codes the county's facilities book under; a rule naming another code is an error.
DEPARTMENTS = frozenset(
    {"01", "02", "03", "03.01", "03.02", "03.03", "03.04", "03.07", "03.10", "04", "04.02", "04.03"}
    | {"05", "05.02", "06", "07", "08", "09", "10", "11", "12", "15", "16", "20", "21"}
    | {"50", "50.10", "50.13"}
)
EMERGENCY_DEPARTMENT = "20"

_Span = tuple[int, int, int]  # which text, start, end


@dataclass(frozen=True, slots=True)
class TriageSuggestion:
    """One suggested department; ``fallbacks`` where the facility lacks it."""

    department: str
    fallbacks: tuple[str, ...]
    level: str
    urgency: str
    score: float
    matched: tuple[str, ...]
    rule: str


@dataclass(frozen=True, slots=True)
class TriageResult:
    """The normalised input, the suggestions (emergencies first) and the rules version."""

    text: str
    picks: tuple[str, ...]
    suggestions: tuple[TriageSuggestion, ...]
    emergency: bool
    rules_effective: str


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    keywords: tuple[str, ...]
    together_with: tuple[str, ...]
    age: tuple[int, int]
    department: str
    fallbacks: tuple[str, ...]
    level: str
    urgency: str
    weight: float
    advice: dict[str, str] | None


@dataclass(frozen=True, slots=True)
class _Table:
    effective: str
    negations: tuple[str, ...]
    child_words: tuple[str, ...]
    child_ages: tuple[int, int]
    adult_ages: tuple[int, int]
    picks: dict[str, dict[str, Any]]
    rules: tuple[_Rule, ...]
    default: _Rule


def _normalise(text: str) -> str:
    """NFKC (full-width letters and punctuation to their plain forms), trimmed, Latin lower-case."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def _rule(raw: dict[str, Any]) -> _Rule:
    rid = str(raw.get("id") or "?")
    try:
        age = raw.get("age") or {}
        rule = _Rule(
            id=rid,
            keywords=tuple(_normalise(k) for k in raw.get("keywords", ())),
            together_with=tuple(_normalise(k) for k in raw.get("together_with", ())),
            age=(int(age.get("min", 0)), int(age.get("max", 200))),
            department=str(raw["department"]),
            fallbacks=tuple(str(c) for c in raw.get("fallback_departments", ())),
            level=str(raw["level"]),
            urgency=str(raw.get("urgency", "routine")),
            weight=float(raw.get("weight", 0)),
            advice=raw.get("advice"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"triage rule {rid}: malformed ({exc!r})") from exc
    for code in (rule.department, *rule.fallbacks):
        if code not in DEPARTMENTS:
            raise ValueError(f"triage rule {rid}: unknown department {code}")
    if rule.level not in LEVELS:
        raise ValueError(f"triage rule {rid}: unknown level {rule.level}")
    if rule.urgency not in URGENCIES:
        raise ValueError(f"triage rule {rid}: unknown urgency {rule.urgency}")
    if rid != "default":
        if not rule.keywords or not all(rule.keywords) or rule.weight <= 0:
            raise ValueError(f"triage rule {rid}: needs keywords and a positive weight")
        if rule.age[0] > rule.age[1]:
            raise ValueError(f"triage rule {rid}: age min above max")
    if rule.urgency == "emergency" and (rule.department != EMERGENCY_DEPARTMENT or not rule.advice):
        raise ValueError(f"triage rule {rid}: an emergency goes to 20 with advice")
    return rule


def validate_rules(data: dict[str, Any]) -> None:
    """Check a rules table (the parsed ``triage_rules.json``) before it is used.

    Raises:
        ValueError: naming the rule or symptom that is wrong — an unknown department code,
            level or urgency, a duplicate id, or a symptom in the pick list no rule matches.
    """
    _compile(data)


def _compile(data: dict[str, Any]) -> _Table:
    if set(data.get("levels", {})) != set(LEVELS):
        raise ValueError(f"triage rules: levels must be exactly {', '.join(LEVELS)}")
    rules = tuple(_rule(r) for r in data["rules"])
    ids = [r.id for r in rules]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"triage rule {twice[0]}: duplicate rule id")
    unknown = data["unknown_age"]
    table = _Table(
        effective=str(data["effective"]),
        negations=tuple(data["negations"]),
        child_words=tuple(_normalise(w) for w in unknown["child_words"]),
        child_ages=(int(unknown["child"][0]), int(unknown["child"][1])),
        adult_ages=(int(unknown["otherwise"][0]), int(unknown["otherwise"][1])),
        picks={p["code"]: p for p in data["picklist"]},
        rules=rules,
        default=_rule({**data["default"], "id": "default"}),
    )
    if len(table.picks) != len(data["picklist"]):
        raise ValueError("triage rules: duplicate symptom code in the pick list")
    for code, pick in table.picks.items():
        terms = [_normalise(k) for k in pick["keywords"]]
        if not any(_matches(r, terms, table.negations)[1] for r in rules):
            raise ValueError(f"triage symptom {code}: no rule matches its keywords")
    return table


@cache
def _table() -> _Table:
    return _compile(orjson.loads((DATA_DIR / "triage_rules.json").read_bytes()))


def picklist() -> list[dict[str, str]]:
    """The common symptoms a resident can tick: ``code``, ``zh``, ``en``."""
    return [{"code": c, "zh": p["zh"], "en": p["en"]} for c, p in _table().picks.items()]


def rules_effective() -> str:
    """The effective date (ISO) of the triage rules in use."""
    return _table().effective


def advice(rule: str) -> dict[str, str] | None:
    """What to tell the resident (``zh``, ``en``) for a suggestion's ``rule``, if anything."""
    found = next((r for r in _table().rules if r.id == rule), None)
    return dict(found.advice) if found and found.advice else None


def _spans(texts: Sequence[str], keyword: str, negations: Sequence[str]) -> list[_Span]:
    """Where ``keyword`` occurs in ``texts`` other than right after a negation (不发烧)."""
    found = []
    for i, text in enumerate(texts):
        start = 0
        while (at := text.find(keyword, start)) >= 0:
            if not any(text.endswith(n, 0, at) for n in negations):
                found.append((i, at, at + len(keyword)))
            start = at + 1
    return found


def _mentions(texts: Sequence[str], keyword: str, negations: Sequence[str]) -> bool:
    return bool(_spans(texts, keyword, negations))


def _matches(
    rule: _Rule, texts: Sequence[str], negations: Sequence[str]
) -> tuple[tuple[str, ...], int]:
    """The rule's keywords (and ``together_with`` terms) mentioned, and how many keywords count.

    Longer keywords claim their place in the text first, so a keyword that only occurs within
    or across one already counted (发烧 in 高发烧, 出疹 and 疹子 in 出疹子) does not count again.
    """
    claimed: list[_Span] = []
    found: list[str] = []
    counted = 0
    for keyword in sorted(rule.keywords, key=len, reverse=True):
        spans = _spans(texts, keyword, negations)
        if not spans:
            continue
        found.append(keyword)
        free = [s for s in spans if not any(_overlap(s, c) for c in claimed)]
        if free:
            claimed.append(free[0])
            counted += 1
    if not found:
        return (), 0
    order = [k for k in rule.keywords if k in found]
    if not rule.together_with:
        return tuple(order), counted
    also = [k for k in rule.together_with if _mentions(texts, k, negations)]
    return ((*order, *also), counted) if also else ((), 0)


def _overlap(a: _Span, b: _Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def _age_range(table: _Table, texts: Sequence[str], age_years: int | None) -> tuple[int, int]:
    if age_years is not None:
        return (age_years, age_years)
    if any(_mentions(texts, w, table.negations) for w in table.child_words):
        return table.child_ages
    return table.adult_ages


def _suggestion(hits: Sequence[tuple[_Rule, tuple[str, ...], float]]) -> TriageSuggestion:
    """One department's suggestion from the rules that matched for it: the scores add up, the
    strongest urgency and highest level win, and the rule that scored most (the first on a tie)
    leads and gives its fallbacks first."""
    lead = max(hits, key=lambda h: h[2])[0]
    rules = [lead, *(r for r, _, _ in hits if r is not lead)]
    return TriageSuggestion(
        department=lead.department,
        fallbacks=tuple(dict.fromkeys(c for r in rules for c in r.fallbacks)),
        level=max((r.level for r in rules), key=LEVELS.index),
        urgency=max((r.urgency for r in rules), key=URGENCIES.index),
        score=sum(score for _, _, score in hits),
        matched=tuple(dict.fromkeys(k for _, matched, _ in hits for k in matched)),
        rule=lead.id,
    )


def triage(
    text: str, picks: Sequence[str] = (), age_years: int | None = None, limit: int = 3
) -> TriageResult:
    """Suggest departments for the symptoms described in ``text`` and ticked in ``picks``.

    Args:
        text: Free text in Chinese (or Latin letters); at most 500 characters.
        picks: Codes from :func:`picklist`; their keywords count as if typed.
        age_years: The resident's age, when known; children's rules need a child.
        limit: How many suggestions at most.

    Returns:
        Emergencies first, then by score (the sum of the weights of the keywords matched),
        then by department code. When nothing matches, the single default suggestion
        (general practice 02 at a township centre, score 0, rule ``default``).

    Raises:
        OperationOutcomeError: CH-1006 for no text and no picks, too long a text, an unknown
            pick code, an impossible age or a limit below one.
    """
    table = _table()
    clean = _normalise(text or "")
    chosen = tuple(dict.fromkeys((picks,) if isinstance(picks, str) else picks))
    if len(clean) > MAX_TEXT:
        raise error("CH-1006", f"describe the symptoms in at most {MAX_TEXT} characters", "text")
    for code in chosen:
        if code not in table.picks:
            raise error("CH-1006", f"unknown symptom code {code[:40]!r}", "picks")
    if not clean and not chosen:
        raise error("CH-1006", "describe the symptoms or tick at least one", "text")
    if age_years is not None and not 0 <= age_years <= 150:
        raise error("CH-1006", f"age {age_years} is not possible", "age")
    if limit < 1:
        raise error("CH-1006", "limit must be at least 1", "limit")
    # Each ticked keyword is its own text, so a pick is never negated by the typed text.
    texts = [clean, *(_normalise(k) for c in chosen for k in table.picks[c]["keywords"])]
    low, high = _age_range(table, texts, age_years)
    hits: dict[str, list[tuple[_Rule, tuple[str, ...], float]]] = {}
    for rule in table.rules:
        if rule.age[1] < low or rule.age[0] > high:
            continue
        matched, counted = _matches(rule, texts, table.negations)
        if counted:
            hits.setdefault(rule.department, []).append((rule, matched, rule.weight * counted))
    ranked = sorted(
        (_suggestion(h) for h in hits.values()),
        key=lambda s: (s.urgency != "emergency", -s.score, s.department),
    )[:limit]
    if not ranked:
        d = table.default
        ranked = [TriageSuggestion(d.department, d.fallbacks, d.level, d.urgency, 0.0, (), d.id)]
    return TriageResult(
        text=clean,
        picks=chosen,
        suggestions=tuple(ranked),
        emergency=any(s.urgency == "emergency" for s in ranked),
        rules_effective=table.effective,
    )
