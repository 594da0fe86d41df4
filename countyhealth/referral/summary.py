"""The clinical summary that travels with a referral: recent diagnoses, observations and
medicines, read as the referring (or discharging) clinician may see them.

The summary is kept on the ServiceRequest as ``supportingInfo`` references (what the receiving
side opens) and as a short text in ``note`` (what prints on the referral form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..records.query import find
from ..store import Repository
from .rules import ReferralRules


@dataclass(frozen=True, slots=True)
class SummaryLine:
    reference: str
    kind: str  # condition | observation | medication
    text: str


def _concept_text(concept: dict[str, Any] | None) -> str:
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for c in concept.get("coding") or []:
        if c.get("display"):
            return str(c["display"])
    return ""


def _quantity(q: dict[str, Any] | None) -> str:
    if not q or "value" not in q:
        return ""
    return f"{q['value']} {q.get('unit') or q.get('code') or ''}".strip()


def observation_text(obs: dict[str, Any]) -> str:
    """``name value unit date`` of an Observation, components joined with ``/``."""
    name = _concept_text(obs.get("code"))
    components = obs.get("component") or []
    if components:
        values = [str((c.get("valueQuantity") or {}).get("value", "")) for c in components]
        unit = next(
            (
                (c.get("valueQuantity") or {}).get("unit")
                for c in components
                if c.get("valueQuantity")
            ),
            "",
        )
        value = "/".join(values) + (f" {unit}" if unit else "")
    else:
        value = _quantity(obs.get("valueQuantity")) or str(
            obs.get("valueString") or _concept_text(obs.get("valueCodeableConcept"))
        )
    when = str(obs.get("effectiveDateTime") or "")[:10]
    return " ".join(p for p in (name, value, when) if p)


def clinical_summary(
    repo: Repository, patient_id: str, now: datetime, rules: ReferralRules
) -> list[SummaryLine]:
    """The patient's recent problems, results and medicines the caller may read."""
    since = (now - timedelta(days=rules.summary_lookback_days)).date().isoformat()
    counts = rules.summary_counts
    lines: list[SummaryLine] = []
    subject = ("patient", f"Patient/{patient_id}")
    for c in find(
        repo,
        "Condition",
        [subject, ("clinical-status", "active"), ("_sort", "-recorded-date")],
        count=counts["conditions"],
    ).resources:
        code: dict[str, Any] = next(iter((c.get("code") or {}).get("coding") or []), {})
        text = _concept_text(c.get("code"))
        label = f"{code.get('code')} {text}" if code.get("code") else text
        lines.append(SummaryLine(f"Condition/{c['id']}", "condition", label))
    for o in find(
        repo,
        "Observation",
        [
            subject,
            ("date", f"ge{since}"),
            ("category", "vital-signs,laboratory"),
            ("_sort", "-date"),
        ],
        count=counts["observations"],
    ).resources:
        lines.append(SummaryLine(f"Observation/{o['id']}", "observation", observation_text(o)))
    for m in find(
        repo,
        "MedicationRequest",
        [subject, ("status", "active"), ("_sort", "-authoredon")],
        count=counts["medications"],
    ).resources:
        text = _concept_text(m.get("medicationCodeableConcept"))
        dosage = next(
            (str(d.get("text")) for d in m.get("dosageInstruction") or [] if d.get("text")), ""
        )
        lines.append(
            SummaryLine(f"MedicationRequest/{m['id']}", "medication", f"{text} {dosage}".strip())
        )
    return lines
