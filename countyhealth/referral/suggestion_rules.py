"""The dated rules of rule-suggested referrals (``data/referral_rules.json``): their
measures, thresholds and sources, checked when loaded; see :mod:`.suggestions`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from ..policy_data import day_field, periods_overlap, read_json, text_field

PACKAGED_FILE = Path(__file__).resolve().parent / "data" / "referral_rules.json"

#: ServiceRequest.priority values a suggestion may carry (https://hl7.org/fhir/R4/valueset-request-priority.html).
URGENCIES = ("urgent", "routine")
#: Levels of the institution a suggestion refers the patient to.
TARGET_LEVELS = frozenset({"county", "city", "province"})
#: Observation states whose value stands (https://hl7.org/fhir/R4/valueset-observation-status.html).
FINAL_STATES = ("final", "amended", "corrected")
#: Condition clinical states that count as having the disease now.
ACTIVE_STATES = ("active", "recurrence", "relapse")
#: The newest readings looked at; far more than the last two follow-ups of a managed patient.
MAX_READINGS = 200
MAX_CONDITIONS = 100

_RULE_FIELDS = frozenset(
    {"id", "valid_from", "valid_to", "conditions", "reads", "thresholds", "visits"}
    | {"window_days", "urgency", "target_level", "target_department", "supersedes"}
    | {"reason", "source", "notes"}
)
_OPTIONAL = frozenset({"notes", "supersedes", "target_department"})
_LOINC = re.compile(r"^\d{1,7}-\d$")
_ICD10 = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Za-z]+)?$")
_DEPARTMENT = re.compile(r"^\d{2}(\.\d{2})?$")
_BOUNDS = ("at_least", "at_most")


class SuggestionRulesError(ValueError):
    """The rule file is unusable; the message names the rule and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Measure:
    """A measured quantity, its unit and the factors that convert other units to it."""

    code: str
    zh: str
    en: str
    unit: str
    factors: dict[str, float]


@dataclass(frozen=True, slots=True)
class Read:
    """Observations with LOINC ``code`` give ``measure``: their value, or ``component``'s."""

    code: str
    measure: str
    component: str | None


@dataclass(frozen=True, slots=True)
class Threshold:
    """``value`` ``unit`` of ``measure``, met by readings at or above it (``at_least``) or at
    or below it (``at_most``)."""

    measure: str
    bound: str
    value: float
    unit: str

    def met(self, reading: float) -> bool:
        return reading >= self.value if self.bound == "at_least" else reading <= self.value


@dataclass(frozen=True, slots=True)
class SuggestionRule:
    """One version of one rule (see the notes of ``data/referral_rules.json``)."""

    id: str
    valid_from: date
    valid_to: date | None
    conditions: tuple[str, ...]
    reads: tuple[Read, ...]
    thresholds: tuple[Threshold, ...]
    visits: int
    window_days: int
    urgency: str
    target_level: str
    target_department: str | None
    supersedes: tuple[str, ...]
    reason_zh: str
    reason_en: str
    source: str

    def in_force(self, day: date) -> bool:
        """This version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class SuggestionRules:
    """Every version of every rule and the measures they read."""

    title: str
    effective: date
    sources: tuple[str, ...]
    measures: dict[str, Measure]
    rules: tuple[SuggestionRule, ...]

    def rules_on(self, day: date) -> tuple[SuggestionRule, ...]:
        """The versions in force on ``day``, in file order."""
        return tuple(r for r in self.rules if r.in_force(day))


def load_suggestion_rules(data: Any) -> SuggestionRules:
    """Build the rules from the parsed JSON (``data/referral_rules.json``).

    Raises:
        SuggestionRulesError: naming the rule (id and valid_from) and the fault — no source,
            valid_to before valid_from, two versions of one rule in force on the same day, an
            unknown urgency or target level, a threshold that is not a number or not in the
            measure's unit, a read or threshold of an unknown measure, a code that is not
            LOINC or ICD-10, visits or window_days not a positive whole number, a superseded
            rule that does not exist; or a file without title, effective date or sources.
    """
    if not isinstance(data, dict):
        raise SuggestionRulesError("referral rules: the top level must be an object")
    where = "referral rules"
    title = text_field(data, "title", where, SuggestionRulesError)
    effective = day_field(data, "effective", where, SuggestionRulesError)
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        raise SuggestionRulesError(f"{where}: no sources (say where the rules come from)")
    if not all(isinstance(s, str) and s.strip() for s in sources):
        raise SuggestionRulesError(f"{where}: every source must be a non-empty string")
    measures = _measures(data.get("measures"))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise SuggestionRulesError(f"{where}: `rules` must be a non-empty list")
    rules = tuple(_rule(raw, measures) for raw in raw_rules)
    _check_overlaps(rules)
    known = {r.id for r in rules}
    for rule in rules:
        for other in rule.supersedes:
            if other not in known or other == rule.id:
                raise SuggestionRulesError(f"{_where(rule)}: supersedes unknown rule {other!r}")
    return SuggestionRules(title, effective, tuple(sources), measures, rules)


def suggestion_rules() -> SuggestionRules:
    """The packaged rules, read and checked once per process.

    Raises:
        SuggestionRulesError: the file cannot be read, is not JSON or fails
            :func:`load_suggestion_rules`.
    """
    return _read(str(PACKAGED_FILE))


@cache
def _read(path: str) -> SuggestionRules:
    file = Path(path)
    data = read_json(file, "referral rules", SuggestionRulesError)
    try:
        return load_suggestion_rules(data)
    except SuggestionRulesError as exc:
        raise SuggestionRulesError(f"{file}: {exc}") from None


def _where(rule: SuggestionRule) -> str:
    return f"referral rule {rule.id} (valid from {rule.valid_from})"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _whole(raw: dict[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if type(value) is not int or value < 1:
        raise SuggestionRulesError(f"{where}: {key} {value!r} must be a positive whole number")
    return value


def _measures(raw: Any) -> dict[str, Measure]:
    if not isinstance(raw, dict) or not raw:
        raise SuggestionRulesError("referral rules: `measures` must be a non-empty object")
    out: dict[str, Measure] = {}
    for code, spec in raw.items():
        where = f"referral measure {code}"
        if not isinstance(spec, dict):
            raise SuggestionRulesError(f"{where}: must be an object")
        unit = text_field(spec, "unit", where, SuggestionRulesError)
        factors = spec.get("units")
        if not isinstance(factors, dict) or factors.get(unit) != 1:
            raise SuggestionRulesError(f"{where}: `units` must map {unit!r} to 1")
        for name, factor in factors.items():
            if not is_number(factor) or factor <= 0:
                raise SuggestionRulesError(f"{where}: factor of {name!r} must be a positive number")
        out[code] = Measure(
            code,
            text_field(spec, "zh", where, SuggestionRulesError),
            text_field(spec, "en", where, SuggestionRulesError),
            unit,
            dict(factors),
        )
    return out


def _rule(raw: Any, measures: dict[str, Measure]) -> SuggestionRule:
    if not isinstance(raw, dict):
        raise SuggestionRulesError(f"referral rule {str(raw)[:40]!r}: an entry must be an object")
    where = f"referral rule {raw.get('id')} (valid from {raw.get('valid_from')})"
    rule_id = text_field(raw, "id", where, SuggestionRulesError)
    missing = sorted(_RULE_FIELDS - _OPTIONAL - raw.keys())
    if missing:
        raise SuggestionRulesError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(raw.keys() - _RULE_FIELDS)
    if unknown:
        raise SuggestionRulesError(f"{where}: unknown field {', '.join(unknown)}")
    source = raw["source"]
    if not isinstance(source, str) or not source.strip():
        raise SuggestionRulesError(f"{where}: no source (say which norm the rule comes from)")
    valid_from = day_field(raw, "valid_from", where, SuggestionRulesError)
    valid_to = (
        None if raw["valid_to"] is None else day_field(raw, "valid_to", where, SuggestionRulesError)
    )
    if valid_to is not None and valid_to < valid_from:
        raise SuggestionRulesError(f"{where}: valid_to {valid_to} is before valid_from")
    urgency = raw["urgency"]
    if urgency not in URGENCIES:
        raise SuggestionRulesError(f"{where}: unknown urgency {urgency!r} (urgent or routine)")
    level = raw["target_level"]
    if level not in TARGET_LEVELS:
        raise SuggestionRulesError(
            f"{where}: unknown target_level {level!r} ({', '.join(sorted(TARGET_LEVELS))})"
        )
    department = raw.get("target_department")
    if department is not None and not (
        isinstance(department, str) and _DEPARTMENT.match(department)
    ):
        raise SuggestionRulesError(
            f"{where}: target_department {department!r} is not a department code like '03.04'"
        )
    conditions = raw["conditions"]
    if not isinstance(conditions, list) or not conditions:
        raise SuggestionRulesError(f"{where}: `conditions` must list ICD-10 codes")
    for code in conditions:
        if not isinstance(code, str) or not _ICD10.match(code):
            raise SuggestionRulesError(f"{where}: condition {code!r} is not an ICD-10 code")
    reads = _reads(raw["reads"], measures, where)
    read_measures = {r.measure for r in reads}
    thresholds = _thresholds(raw["thresholds"], measures, read_measures, where)
    supersedes = raw.get("supersedes") or []
    if not isinstance(supersedes, list) or not all(isinstance(s, str) for s in supersedes):
        raise SuggestionRulesError(f"{where}: `supersedes` must list rule ids")
    reason = raw["reason"]
    if not isinstance(reason, dict):
        raise SuggestionRulesError(f"{where}: `reason` must be an object with zh and en")
    return SuggestionRule(
        id=rule_id,
        valid_from=valid_from,
        valid_to=valid_to,
        conditions=tuple(conditions),
        reads=reads,
        thresholds=thresholds,
        visits=_whole(raw, "visits", where),
        window_days=_whole(raw, "window_days", where),
        urgency=urgency,
        target_level=level,
        target_department=department,
        supersedes=tuple(supersedes),
        reason_zh=text_field(reason, "zh", f"{where} reason", SuggestionRulesError),
        reason_en=text_field(reason, "en", f"{where} reason", SuggestionRulesError),
        source=source,
    )


def _reads(raw: Any, measures: dict[str, Measure], where: str) -> tuple[Read, ...]:
    if not isinstance(raw, list) or not raw:
        raise SuggestionRulesError(f"{where}: `reads` must list the observation codes read")
    reads = []
    for item in raw:
        if not isinstance(item, dict):
            raise SuggestionRulesError(f"{where}: a read must be an object")
        code, component = item.get("code"), item.get("component")
        for value in (code, component):
            if value is not None and not (isinstance(value, str) and _LOINC.match(value)):
                raise SuggestionRulesError(f"{where}: {value!r} is not a LOINC code")
        if code is None:
            raise SuggestionRulesError(f"{where}: a read needs a LOINC `code`")
        measure = item.get("measure")
        if measure not in measures:
            raise SuggestionRulesError(f"{where}: read {code} of unknown measure {measure!r}")
        reads.append(Read(code, measure, component))
    return tuple(reads)


def _thresholds(
    raw: Any, measures: dict[str, Measure], read: set[str], where: str
) -> tuple[Threshold, ...]:
    if not isinstance(raw, list) or not raw:
        raise SuggestionRulesError(f"{where}: `thresholds` must be a non-empty list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise SuggestionRulesError(f"{where}: a threshold must be an object")
        measure = item.get("measure")
        if measure not in measures or measure not in read:
            raise SuggestionRulesError(
                f"{where}: threshold of {measure!r}, which the rule does not read"
            )
        bounds = [b for b in _BOUNDS if b in item]
        if len(bounds) != 1:
            raise SuggestionRulesError(
                f"{where}: a threshold of {measure} needs exactly one of at_least, at_most"
            )
        value = item[bounds[0]]
        if not is_number(value):
            raise SuggestionRulesError(
                f"{where}: threshold {bounds[0]} {value!r} of {measure} is not a number"
            )
        unit = item.get("unit")
        if unit != measures[measure].unit:
            raise SuggestionRulesError(
                f"{where}: threshold of {measure} in {unit!r}, not {measures[measure].unit!r}"
            )
        out.append(Threshold(measure, bounds[0], float(value), unit))
    return tuple(out)


def _overlap(a: SuggestionRule, b: SuggestionRule) -> bool:
    return periods_overlap(a.valid_from, a.valid_to, b.valid_from, b.valid_to)


def _check_overlaps(rules: tuple[SuggestionRule, ...]) -> None:
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if a.id == b.id and _overlap(a, b):
                raise SuggestionRulesError(
                    f"{_where(b)}: overlaps the version valid from {a.valid_from} "
                    "(one version of a rule in force per day)"
                )


# ---------------------------------------------------------------------------- suggestions
