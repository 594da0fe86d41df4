"""The recognition check (互认检查): which existing results make an order unnecessary.

When a clinician orders a recognisable item for a patient, the results that qualify under
《医疗机构检查检验结果互认管理办法》 (国卫医发〔2022〕6号, docs/recognition.md) are those that

- measure the ordered item (by LOINC or by the provincial item code of the catalogue);
- were issued by *another* institution of the county medical community (recognition is
  between institutions; the orderer's own results are in their own chart already), on a report
  that carries the provincial mark, from a facility kind the catalogue lets issue it;
- were taken within the item's window: at most ``window_days`` county days before the order;
- the orderer may read: both searches run as the caller, so the Repository's access rule
  (organisation, the patient's Consent, break-glass) leaves out what they may not see, and the
  AuditEvents record the look-up.

Pure domain code: two searches (Observations of the item in the window, then the reports that
hold them) and the issuing Organizations, read once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..errors import OperationOutcomeError
from ..fhir import systems
from ..fhir.consent_grants import custodian_of
from ..records.query import find
from ..scheduling.calendar import at as county_at
from ..scheduling.calendar import fhir_datetime, local_now, parse_datetime
from ..store import Repository
from .catalogue import Catalogue, RecognitionItem, catalogue

LOINC = "http://loinc.org"
#: Observation states whose value stands (https://hl7.org/fhir/R4/valueset-observation-status.html)
FINAL_STATES = frozenset({"final", "amended", "corrected"})
MAX_CANDIDATES = 50


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One result that may stand in for the order."""

    observation: str  # Observation/id
    report: str  # DiagnosticReport/id
    organization: str  # Organization/id of the issuing institution
    organization_name: str
    effective: datetime
    age_days: int
    value: str
    mark: str  # the mark's display, e.g. 浙HR


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The ordered item (None when the code is not in the catalogue) and the results that
    qualify, newest first; ``recognisable`` says whether the item has a window at all."""

    code: str
    item: RecognitionItem | None
    at: datetime
    suggestions: tuple[Suggestion, ...]

    @property
    def recognisable(self) -> bool:
        return self.item is not None and self.item.recognisable


def item_for(codes: list[tuple[str, str]], day: date, table: Catalogue) -> RecognitionItem | None:
    """The catalogue item for a code list ``(system, code)``: a LOINC or a provincial code."""
    for system, code in codes:
        if system == LOINC:
            found = table.by_loinc(code, day)
        elif system == systems.RECOGNITION_ITEM:
            found = table.item(code, day)
        else:
            continue
        if found is not None:
            return found
    return None


def parse_code(text: str) -> list[tuple[str, str]]:
    """``system|code`` or a bare code (tried as LOINC and as a provincial item code)."""
    system, bar, code = text.partition("|")
    if bar:
        return [(system, code)]
    return [(LOINC, text), (systems.RECOGNITION_ITEM, text)]


def recognition_check(
    repo: Repository,
    patient_id: str,
    codes: list[tuple[str, str]],
    *,
    at: datetime | None = None,
) -> CheckResult:
    """The results that qualify for an order of ``codes`` for ``patient_id`` placed at ``at``
    (default now) by the caller's organisation; see the module docstring for the rules."""
    moment = at or local_now(repo.store.clock.now_us())
    day = moment.date()
    table = catalogue(repo.store.settings)
    item = item_for(codes, day, table)
    code = codes[0][1] if codes else ""
    if item is None or item.window_days is None or item.loinc is None:
        return CheckResult(code, item, moment, ())
    since = county_at(day - timedelta(days=item.window_days), time(0, 0))
    observations = find(
        repo,
        "Observation",
        [
            ("patient", f"Patient/{patient_id}"),
            ("code", f"{LOINC}|{item.loinc}"),
            ("date", f"ge{fhir_datetime(since)}"),
            ("date", f"lt{fhir_datetime(moment)}"),
            ("_sort", "-date"),
        ],
        count=MAX_CANDIDATES,
        note="recognition check",
    ).resources
    final = [o for o in observations if o.get("status") in FINAL_STATES]
    if not final:
        return CheckResult(code, item, moment, ())
    reports = _reports_of(repo, [str(o["id"]) for o in final])
    issuers = _Issuers(repo)
    suggestions = []
    for obs in final:
        report = reports.get(f"Observation/{obs['id']}")
        if report is None:
            continue
        mark = _mark(report, table)
        organization = _issuer(report)
        if mark is None or organization is None or organization == repo.caller.organization:
            continue
        kind, name = issuers.kind_and_name(organization)
        if kind not in table.mark.issuer_kinds:
            continue
        effective = parse_datetime(str(obs.get("effectiveDateTime") or report["effectiveDateTime"]))
        suggestions.append(
            Suggestion(
                observation=f"Observation/{obs['id']}",
                report=f"DiagnosticReport/{report['id']}",
                organization=organization,
                organization_name=name,
                effective=effective,
                age_days=(day - effective.astimezone(moment.tzinfo).date()).days,
                value=_value(obs),
                mark=mark,
            )
        )
    return CheckResult(code, item, moment, tuple(suggestions))


def _reports_of(repo: Repository, observation_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The DiagnosticReports holding the observations, by ``Observation/id``."""
    found = find(
        repo,
        "DiagnosticReport",
        [("result", ",".join(f"Observation/{i}" for i in observation_ids))],
        count=MAX_CANDIDATES,
        note="recognition check",
    ).resources
    out: dict[str, dict[str, Any]] = {}
    for report in found:
        for result in report.get("result") or []:
            out.setdefault(str(result.get("reference")), report)
    return out


def _mark(report: dict[str, Any], table: Catalogue) -> str | None:
    for ext in report.get("extension") or []:
        if ext.get("url") != systems.EXT_RECOGNITION_MARK:
            continue
        coding = ext.get("valueCoding") or {}
        if (
            coding.get("system") == systems.RECOGNITION_MARK
            and coding.get("code") == table.mark.code
        ):
            return str(coding.get("display") or table.mark.display)
    return None


def _issuer(report: dict[str, Any]) -> str | None:
    """The issuing institution: the report's Organization performer, else its custodian."""
    for performer in report.get("performer") or []:
        reference = str(performer.get("reference") or "")
        if reference.startswith("Organization/"):
            return reference
    return custodian_of(report)


def _value(obs: dict[str, Any]) -> str:
    quantity = obs.get("valueQuantity")
    if isinstance(quantity, dict) and "value" in quantity:
        return f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip()
    if isinstance(obs.get("valueString"), str):
        return str(obs["valueString"])
    concept = obs.get("valueCodeableConcept") or {}
    return str(concept.get("text") or "")


class _Issuers:
    """Facility kind and name of each issuing Organization, read once per check (reference
    data: read for the platform, the caller's access to the results was checked already)."""

    def __init__(self, repo: Repository) -> None:
        self._reader = repo.elevated()
        self._seen: dict[str, tuple[str, str]] = {}

    def kind_and_name(self, organization: str) -> tuple[str, str]:
        if organization not in self._seen:
            try:
                body = self._reader.read("Organization", organization.removeprefix("Organization/"))
            except OperationOutcomeError:
                # an issuer the directory does not hold cannot show it is in the scheme
                self._seen[organization] = ("", organization)
                return self._seen[organization]
            kind = next(
                (
                    str(c.get("code"))
                    for t in body.resource.get("type") or []
                    for c in t.get("coding") or []
                    if c.get("system") == systems.FACILITY_TYPE
                ),
                "",
            )
            self._seen[organization] = (kind, str(body.resource.get("name") or organization))
        return self._seen[organization]
