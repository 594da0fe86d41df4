"""Rule-suggested referrals (转诊建议) of managed hypertension and type 2 diabetes patients.

The rules are dated data (``data/referral_rules.json``) from the 国家基本公共卫生服务规范
（第三版, 2017): blood pressure or glucose at emergency values → an urgent up-referral; two
consecutive follow-ups not controlled → a routine one (docs/referral.md). Each rule applies to
patients with an active Condition of its ICD-10 codes only: a raised reading of someone who is
not under management for the disease is the treating clinician's call, not a rule's.

A reading is one value of a measure (systolic, diastolic, glucose) from an Observation: the
value itself, or a component of a panel (LOINC 85354-9 with 8480-6 / 8462-4, as this project
records blood pressure), converted to the measure's unit. Readings are grouped into visits —
the Observation's encounter, else its county day — and a visit's value of a measure is its last
reading of it. "Consecutive" is the patient's last visits with a reading of the rule's measures,
in time order.

Two searches, both as the caller, so the Repository's access rule (organisation, the
patient's Consent, break-glass) leaves out what the caller may not read and the AuditEvents
record the look-up: the patient's recent Observations of every code the rules read (newest
first, bounded) and their active Conditions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..fhir import systems
from ..records.query import find
from ..scheduling.calendar import COUNTY_TZ, fhir_datetime, local_now, parse_datetime
from ..store import Repository
from .suggestion_rules import (
    ACTIVE_STATES,
    FINAL_STATES,
    MAX_CONDITIONS,
    MAX_READINGS,
    URGENCIES,
    Measure,
    SuggestionRule,
    SuggestionRules,
    is_number,
    suggestion_rules,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A reading that met a threshold of the rule."""

    observation: str  # Observation/id
    measure: str
    value: float  # in the measure's unit
    unit: str
    effective: datetime


@dataclass(frozen=True, slots=True)
class ReferralSuggestion:
    """A referral the rules suggest for the patient; the ICD-10 reason is the patient's own
    Condition coding (``condition``), ready for ServiceRequest.reasonCode / reasonReference."""

    rule: str
    urgency: str  # urgent | routine
    reason_zh: str
    reason_en: str
    reason_code: str
    reason_display: str
    condition: str  # Condition/id
    target_level: str
    target_department: str | None  # department code (systems.DEPARTMENT)
    evidence: tuple[Evidence, ...]
    source: str


# ---------------------------------------------------------------------------- the rule file


@dataclass(frozen=True, slots=True)
class _Reading:
    observation: str
    visit: str
    effective: datetime
    measure: str
    value: float
    unit: str


def referral_suggestions(
    repo: Repository,
    patient_id: str,
    at: datetime | None = None,
    *,
    rules: SuggestionRules | None = None,
) -> list[ReferralSuggestion]:
    """The referrals the rules in force suggest for ``patient_id`` at ``at`` (default now),
    urgent first, from what the caller may read.

    Args:
        repo: the caller's Repository; both searches are audited and access-ruled.
        patient_id: the Patient's id.
        at: the moment asked about: readings after it are not looked at, and the rules in
            force on its county day apply. Conditions are judged by their current status.
        rules: the rules to apply; the packaged file by default.
    """
    table = rules or suggestion_rules()
    moment = at or local_now(repo.store.clock.now_us())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COUNTY_TZ)
    in_force = table.rules_on(moment.astimezone(COUNTY_TZ).date())
    if not in_force:
        return []
    conditions = _active_conditions(repo, patient_id, moment)
    applicable = {
        rule: found for rule in in_force if (found := _condition_for(rule, conditions)) is not None
    }
    if not applicable:
        return []
    observations = _observations(repo, patient_id, applicable, moment)
    fired: list[ReferralSuggestion] = []
    for rule, (reference, code, display) in applicable.items():
        evidence = _evaluate(rule, _readings(observations, rule, table.measures, moment), moment)
        if evidence is None:
            continue
        fired.append(
            ReferralSuggestion(
                rule=rule.id,
                urgency=rule.urgency,
                reason_zh=rule.reason_zh,
                reason_en=rule.reason_en,
                reason_code=code,
                reason_display=display,
                condition=reference,
                target_level=rule.target_level,
                target_department=rule.target_department,
                evidence=evidence,
                source=rule.source,
            )
        )
    fired_ids = {f.rule for f in fired}
    superseded = {s for r in applicable if r.id in fired_ids for s in r.supersedes}
    kept = [s for s in fired if s.rule not in superseded]
    return sorted(kept, key=lambda s: URGENCIES.index(s.urgency))


def _active_conditions(
    repo: Repository, patient_id: str, moment: datetime
) -> list[tuple[str, str, str]]:
    """(Condition/id, ICD-10 code, display) of the patient's active, not refuted Conditions
    whose onset is not after ``moment``."""
    found = find(
        repo,
        "Condition",
        [("patient", f"Patient/{patient_id}"), ("clinical-status", ",".join(ACTIVE_STATES))],
        count=MAX_CONDITIONS,
        note="referral suggestions",
    ).resources
    day = moment.astimezone(COUNTY_TZ).date().isoformat()
    out = []
    for condition in found:
        verification = _codes(condition.get("verificationStatus"), systems.CONDITION_VERIFICATION)
        if verification & {"refuted", "entered-in-error"}:
            continue
        onset = condition.get("onsetDateTime")
        if isinstance(onset, str) and onset[:10] > day:
            continue
        for coding in (condition.get("code") or {}).get("coding") or []:
            if coding.get("system") == systems.ICD_10 and isinstance(coding.get("code"), str):
                display = coding.get("display") or (condition.get("code") or {}).get("text")
                out.append((f"Condition/{condition['id']}", coding["code"], str(display or "")))
    return out


def _condition_for(
    rule: SuggestionRule, conditions: list[tuple[str, str, str]]
) -> tuple[str, str, str] | None:
    """The patient's Condition the rule applies by: the first of its codes the patient has."""
    for prefix in rule.conditions:
        for condition in conditions:
            if condition[1].startswith(prefix):
                return condition
    return None


def _codes(concept: Any, system: str) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {str(c.get("code")) for c in concept.get("coding") or [] if c.get("system") == system}


def _observations(
    repo: Repository, patient_id: str, rules: Iterable[SuggestionRule], moment: datetime
) -> list[dict[str, Any]]:
    """The patient's newest final Observations of every code the rules read, up to ``moment``."""
    codes = sorted({read.code for rule in rules for read in rule.reads})
    return find(
        repo,
        "Observation",
        [
            ("patient", f"Patient/{patient_id}"),
            ("code", ",".join(f"{systems.LOINC}|{c}" for c in codes)),
            ("status", ",".join(FINAL_STATES)),
            ("date", f"le{fhir_datetime(moment)}"),
            ("_sort", "-date"),
        ],
        count=MAX_READINGS,
        note="referral suggestions",
    ).resources


def _readings(
    observations: list[dict[str, Any]],
    rule: SuggestionRule,
    measures: dict[str, Measure],
    moment: datetime,
) -> list[_Reading]:
    """The rule's readings in the observations, in the measures' units."""
    out = []
    for obs in observations:
        effective = _effective(obs)
        if effective is None or effective > moment or obs.get("status") not in FINAL_STATES:
            continue
        codes = _codes(obs.get("code"), systems.LOINC)
        encounter = (obs.get("encounter") or {}).get("reference")
        visit = str(encounter) if encounter else effective.astimezone(COUNTY_TZ).date().isoformat()
        for read in rule.reads:
            if read.code not in codes:
                continue
            quantity = obs.get("valueQuantity")
            if read.component is not None:
                quantity = next(
                    (
                        c.get("valueQuantity")
                        for c in obs.get("component") or []
                        if read.component in _codes(c.get("code"), systems.LOINC)
                    ),
                    None,
                )
            measure = measures[read.measure]
            value = _in_unit(quantity, measure)
            if value is not None:
                out.append(
                    _Reading(
                        f"Observation/{obs['id']}",
                        visit,
                        effective,
                        measure.code,
                        value,
                        measure.unit,
                    )
                )
    return out


def _effective(obs: dict[str, Any]) -> datetime | None:
    text = (
        obs.get("effectiveDateTime")
        or obs.get("effectiveInstant")
        or (obs.get("effectivePeriod") or {}).get("start")
    )
    if not isinstance(text, str):
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        return None  # a partial date (year or month) cannot be placed in a visit


def _in_unit(quantity: Any, measure: Measure) -> float | None:
    """The quantity's value in the measure's unit; None without a value or a known unit (a
    reading in an unknown unit cannot be judged against the thresholds)."""
    if not isinstance(quantity, dict) or not is_number(quantity.get("value")):
        return None
    factor = None
    for unit in (quantity.get("code"), quantity.get("unit")):
        if isinstance(unit, str) and unit in measure.factors:
            factor = measure.factors[unit]
            break
    if factor is None:
        return None
    value = float(quantity["value"])
    # converted values are rounded to 0.01: a float product such as 16.699999 would miss the
    # threshold the reading meets
    return value if factor == 1 else round(value * factor, 2)


def _evaluate(
    rule: SuggestionRule, readings: list[_Reading], moment: datetime
) -> tuple[Evidence, ...] | None:
    """The evidence of the rule's last ``visits`` visits when each met a threshold, else None."""
    visits: dict[str, list[_Reading]] = {}
    for reading in readings:
        visits.setdefault(reading.visit, []).append(reading)
    latest_first = sorted(
        visits.values(), key=lambda rs: max(r.effective for r in rs), reverse=True
    )[: rule.visits]
    if len(latest_first) < rule.visits:
        return None
    newest = max(r.effective for r in latest_first[0])
    if moment - newest > timedelta(days=rule.window_days):
        return None
    evidence: list[Evidence] = []
    for visit in latest_first:
        last: dict[str, _Reading] = {}
        for reading in sorted(visit, key=lambda r: (r.effective, r.observation)):
            last[reading.measure] = reading
        met = [
            r
            for r in last.values()
            if any(t.met(r.value) for t in rule.thresholds if t.measure == r.measure)
        ]
        if not met:
            return None
        evidence.extend(
            Evidence(r.observation, r.measure, r.value, r.unit, r.effective) for r in met
        )
    return tuple(sorted(evidence, key=lambda e: (e.effective, e.measure)))
