"""The shared reports viewer (检查检验结果共享): a patient's lab and imaging reports as the caller
may see them, with what a clinician of another institution needs to reuse a result.

One search reads the reports with the Observations and Media they point at
(``_include=DiagnosticReport:result`` and ``:media``), through the caller's Repository: the
access rule trims reports and included resources alike (own organisation, Consent, break-glass)
and the read is audited. Only when a report names its issuing organisation without a name does
a second search read the organisations' names.

Each report says who issued it (``performer`` Organization, else the custodian tag), when, what
and in which status; whether it carries the mutual-recognition mark (extension
:data:`~countyhealth.fhir.systems.EXT_RECOGNITION_MARK`, e.g. 浙HR) and whether it comes from
an institution other than the viewer's; its conclusion and ``presentedForm`` texts; each result
with value, unit, reference range and interpretation flag; and its key images and other
attachments (see :mod:`.attachments`). See https://hl7.org/fhir/R4/diagnosticreport.html.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..fhir import systems
from ..fhir.consent_grants import custodian_of
from ..fhir.search_request import parse_search
from ..store import Repository
from .attachments import described, is_text, text_of
from .display import concept, concepts, first_code, reference_id, when
from .names import organization_names

INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#: v3 ObservationInterpretation codes by how the page highlights them
#: (https://hl7.org/fhir/R4/v3/ObservationInterpretation/cs.html).
FLAG_KINDS = {
    **dict.fromkeys(("H", "HH", "HU", ">"), "high"),
    **dict.fromkeys(("L", "LL", "LU", "<"), "low"),
    **dict.fromkeys(("A", "AA"), "abnormal"),
    "N": "normal",
}
INCLUDES = (("_include", "DiagnosticReport:result"), ("_include", "DiagnosticReport:media"))


def shared_reports(
    repo: Repository, patient_id: str, count: int = 20
) -> tuple[list[dict[str, Any]], bool] | None:
    """The newest ``count`` reports of ``Patient/patient_id`` the caller may see, shaped for
    the page, and whether the access rule may have left some out; None when the caller's
    scopes do not cover reports."""
    if not repo.caller.scopes.allows("DiagnosticReport", "search-type"):
        return None
    query = [("patient", f"Patient/{patient_id}"), ("_sort", "-date"), *INCLUDES]
    query.append(("_count", str(count)))
    req = parse_search(("DiagnosticReport",), query, default_count=count, max_count=count)
    page = repo.search(
        req, query_string="DiagnosticReport?" + "&".join(f"{k}={v}" for k, v in query)
    )
    linked = {f"{s.type}/{s.id}": s.resource for s in page.included}
    reports = [s.resource for s in page.entries]
    unnamed = [ref for ref, name in map(issuer, reports) if ref and not name]
    names: dict[str, str] = {}
    if unnamed and repo.caller.scopes.allows("Organization", "search-type"):
        names = organization_names(repo, unnamed)
    base = repo.store.settings.base_url.rstrip("/")
    viewer = repo.caller.organization
    shaped = [shape_report(r, linked, names, viewer, base) for r in reports]
    return shaped, page.suppressed


def issuer(report: dict[str, Any]) -> tuple[str | None, str]:
    """``Organization/id`` and name of the institution that issued ``report``: the first
    Organization among its performers, else the custodian that recorded it."""
    name = ""
    for performer in report.get("performer") or []:
        if not isinstance(performer, dict):
            continue
        display = str(performer.get("display") or "")
        ref = performer.get("reference")
        if isinstance(ref, str) and ref.startswith("Organization/"):
            return ref, display
        if not ref and display and not name:
            name = display  # a performer named without a reference
    custodian = custodian_of(report)
    if custodian and not name:
        tag = next(
            (
                t
                for t in (report.get("meta") or {}).get("tag") or []
                if isinstance(t, dict) and t.get("system") == systems.CUSTODIAN
            ),
            {},
        )
        name = str(tag.get("display") or "")
    return custodian, name


def recognition_mark(report: dict[str, Any]) -> str | None:
    """The mutual-recognition mark printed on ``report`` (its display, e.g. 浙HR), if any."""
    for ext in report.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == systems.EXT_RECOGNITION_MARK:
            coding = ext.get("valueCoding") or {}
            return str(coding.get("display") or coding.get("code") or "") or None
    return None


def _number(value: Any) -> str:
    if not isinstance(value, dict) or value.get("value") is None:
        return ""
    try:
        return f"{Decimal(str(value['value'])).normalize():f}"
    except (InvalidOperation, ValueError):
        return str(value["value"])


def reference_range(observation: dict[str, Any]) -> str:
    """The first reference range as ``low–high`` (``≥low``, ``≤high``), else its text."""
    for rng in observation.get("referenceRange") or []:
        if not isinstance(rng, dict):
            continue
        low, high = _number(rng.get("low")), _number(rng.get("high"))
        if low and high:
            return f"{low}–{high}"
        if low or high:
            return f"≥{low}" if low else f"≤{high}"
        if rng.get("text"):
            return str(rng["text"])
    return ""


def flag(observation: dict[str, Any]) -> tuple[str | None, str | None]:
    """The interpretation code (H, L, N…) and its kind (high, low, abnormal, normal, other)."""
    for item in observation.get("interpretation") or []:
        code = first_code(item, INTERPRETATION) or first_code(item)
        if code:
            return code, FLAG_KINDS.get(code, "other")
    return None, None


def result_value(observation: dict[str, Any]) -> dict[str, Any]:
    """One result row: name, value, unit, reference range and flag."""
    measured = observation.get("valueQuantity")
    value, unit = _number(measured), ""
    if value and isinstance(measured, dict):
        unit = str(measured.get("unit") or measured.get("code") or "")
    elif observation.get("valueCodeableConcept"):
        value = concept(observation["valueCodeableConcept"])
    elif isinstance(observation.get("valueString"), str):
        value = observation["valueString"]
    elif observation.get("component"):
        parts = [c.get("valueQuantity") for c in observation["component"]]
        value = " / ".join(_number(p) for p in parts if _number(p))
        unit = next((str(p.get("unit") or "") for p in parts if isinstance(p, dict)), "")
    code, kind = flag(observation)
    return {
        "id": observation["id"],
        "text": concept(observation.get("code")),
        "value": value,
        "unit": unit,
        "range": reference_range(observation),
        "flag": code,
        "flagKind": kind,
    }


def shape_report(
    report: dict[str, Any],
    linked: dict[str, dict[str, Any]],
    names: dict[str, str],
    viewer: str | None,
    fhir_base: str,
) -> dict[str, Any]:
    """``report`` for the page; ``linked`` holds the Observations and Media it may show
    (``Type/id`` → resource), ``names`` organisation names, ``viewer`` the caller's
    organisation (None for residents and system callers: nothing is "from elsewhere")."""
    rid = str(report["id"])
    issued_by, issuer_name = issuer(report)
    values: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    withheld = 0
    for item in report.get("result") or []:
        obs = linked.get(f"Observation/{reference_id(item, 'Observation')}")
        if obs is None:
            withheld += 1  # not readable by the caller, or gone
            continue
        values.append(result_value(obs))
    for item in report.get("media") or []:
        mid = reference_id(item.get("link"), "Media") if isinstance(item, dict) else None
        media = linked.get(f"Media/{mid}")
        if media is None:
            withheld += 1
            continue
        title = str(item.get("comment") or "") or concept(media.get("view"))
        shown = described(media.get("content") or {}, fhir_base, f"Media/{mid}", title)
        (images if shown["image"] else documents).append(shown)
    texts: list[dict[str, Any]] = []
    for index, form in enumerate(report.get("presentedForm") or []):
        if not isinstance(form, dict):
            continue
        if is_text(form):
            texts.append(text_of(form))
            continue
        shown = described(form, fhir_base, f"DiagnosticReport/{rid}", index=index)
        (images if shown["image"] else documents).append(shown)
    return {
        "id": rid,
        "text": concept(report.get("code")),
        "category": concepts(report.get("category")),
        "status": report.get("status"),
        "issued": when(report, "issued", "effectiveDateTime", "effectivePeriod"),
        "effective": when(report, "effectiveDateTime", "effectivePeriod", "issued"),
        "issuer": {"reference": issued_by, "name": issuer_name or names.get(issued_by or "", "")},
        "foreign": bool(viewer and issued_by and issued_by != viewer),
        "recognitionMark": recognition_mark(report),
        "conclusion": str(report.get("conclusion") or ""),
        "texts": texts,
        "results": values,
        "abnormal": sum(v["flagKind"] in ("high", "low", "abnormal") for v in values),
        "images": images,
        "documents": documents,
        "withheld": withheld,
        "custodian": (custodian_of(report) or "").removeprefix("Organization/") or None,
    }
