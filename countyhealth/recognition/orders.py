"""Ordering a test with the recognition check, and the clinician's decision.

:func:`place_order` files the ServiceRequest (https://hl7.org/fhir/R4/servicerequest.html) of a
catalogue item; :func:`check_order` runs the recognition check for it and keeps what it found
on the order (:mod:`.order_record`); the clinician then either :func:`recognise` s an existing
result — the order becomes ``completed`` with the report in ``supportingInfo`` — or
:func:`retest` s with one of the six national reasons (``other`` with free text), which keeps
the order ``active`` for the laboratory. Every read and write goes through the caller's
Repository, so the access rule decides what the orderer may see and the AuditEvents name them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import OperationOutcomeError, error
from ..fhir import systems
from ..scheduling.calendar import fhir_datetime, local_now
from ..store import Repository, Stored
from .catalogue import RecognitionItem, catalogue
from .check import LOINC, CheckResult, item_for, parse_code, recognition_check
from .order_record import OrderRecognition, with_record

MAX_NOTE = 500
#: ServiceRequest.category by catalogue kind (SNOMED CT, the R4 example value set)
_CATEGORY = {"lab": ("108252007", "Laboratory procedure"), "exam": ("363679005", "Imaging")}
_SNOMED = "http://snomed.info/sct"


def _now(repo: Repository) -> datetime:
    return local_now(repo.store.clock.now_us())


def catalogue_item(repo: Repository, code: str) -> RecognitionItem:
    """The catalogue item in force today for ``code`` (LOINC, provincial code or
    ``system|code``); CH-9201 when there is none."""
    found = item_for(parse_code(code.strip()), _now(repo).date(), catalogue(repo.store.settings))
    if found is None:
        raise error("CH-9201", f"{code[:40]!r} is not an item of the recognition catalogue", "code")
    return found


def order_codes(order: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``(system, code)`` pairs of a ServiceRequest's ``code``."""
    return [
        (str(c.get("system")), str(c.get("code")))
        for c in (order.get("code") or {}).get("coding") or []
    ]


def order_patient(order: dict[str, Any]) -> str:
    """The id of the Patient the order is for (CH-9201 when its subject is not a Patient)."""
    reference = str((order.get("subject") or {}).get("reference") or "")
    if not reference.startswith("Patient/"):
        raise error("CH-9201", "the order's subject is not a Patient", "ServiceRequest.subject")
    return reference.removeprefix("Patient/")


def place_order(repo: Repository, patient_id: str, code: str) -> Stored:
    """File an order of a catalogue item for ``patient_id`` by the caller (active, intent
    order, coded with LOINC where it has one and the provincial item code)."""
    item = catalogue_item(repo, code)
    repo.read("Patient", patient_id)
    codings = [{"system": systems.RECOGNITION_ITEM, "code": item.code, "display": item.name}]
    if item.loinc:
        codings.insert(0, {"system": LOINC, "code": item.loinc, "display": item.en})
    snomed, display = _CATEGORY[item.kind]
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": _SNOMED, "code": snomed, "display": display}]}],
        "code": {"coding": codings, "text": item.name},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": fhir_datetime(_now(repo)),
    }
    requester = next(
        (a for a in repo.caller.actors if a.startswith(("PractitionerRole/", "Practitioner/"))),
        None,
    )
    if requester:
        body["requester"] = {"reference": requester}
    return repo.create(body)


def check_order(repo: Repository, order_id: str) -> tuple[Stored, CheckResult]:
    """Run the recognition check for an active order and keep what it found on the order
    (a decided order keeps its decision; the check is then only answered)."""
    current = repo.read("ServiceRequest", order_id)
    order = current.resource
    result = recognition_check(repo, order_patient(order), order_codes(order), at=_now(repo))
    record = OrderRecognition.of(order)
    if order.get("status") != "active" or (record is not None and record.decided):
        return current, result
    if result.item is None:
        return current, result
    found = OrderRecognition(
        item=result.item.code,
        checked=result.at,
        outcome="recognisable" if result.suggestions else "none",
        candidates=tuple(s.report for s in result.suggestions),
    )
    stored, _ = repo.update(
        "ServiceRequest", order_id, with_record(order, found), if_match=current.version
    )
    return stored, result


def _undecided(repo: Repository, order_id: str) -> tuple[Stored, OrderRecognition | None]:
    current = repo.read("ServiceRequest", order_id)
    record = OrderRecognition.of(current.resource)
    if current.resource.get("status") != "active" or (record is not None and record.decided):
        raise error(
            "CH-9204",
            f"ServiceRequest/{order_id} is {current.resource.get('status')}"
            + (f" and was already decided ({record.outcome})" if record and record.decided else ""),
        )
    return current, record


def recognise(repo: Repository, order_id: str, result: str) -> Stored:
    """Accept an existing result for the order: ``result`` is the ``DiagnosticReport/id`` or
    ``Observation/id`` the check suggested. CH-9205 when the orderer may not read it, CH-9203
    when it does not qualify (item, window, mark, issuer, the orderer's own institution)."""
    current, _ = _undecided(repo, order_id)
    rtype, _, rid = result.strip().partition("/")
    if rtype not in ("DiagnosticReport", "Observation") or not rid:
        raise error("CH-9201", "result must be DiagnosticReport/id or Observation/id", "result")
    try:
        repo.read(rtype, rid)
    except OperationOutcomeError as exc:
        if exc.status not in (403, 404, 410):
            raise
        raise error(
            "CH-9205", f"{rtype}/{rid} is not a result the orderer may read", "result"
        ) from exc
    order = current.resource
    check = recognition_check(repo, order_patient(order), order_codes(order), at=_now(repo))
    chosen = next(
        (s for s in check.suggestions if f"{rtype}/{rid}" in (s.report, s.observation)), None
    )
    if check.item is None or chosen is None:
        raise error(
            "CH-9203",
            f"{rtype}/{rid} does not qualify for this order: it must be a marked result of the "
            "ordered item from another institution within the item's window",
            "result",
        )
    record = OrderRecognition(
        item=check.item.code,
        checked=check.at,
        outcome="recognised",
        candidates=tuple(s.report for s in check.suggestions),
        result=chosen.report,
        avoided=check.item.price,
    )
    body = with_record(order, record)
    body["status"] = "completed"
    body["supportingInfo"] = [
        *(order.get("supportingInfo") or []),
        {"reference": chosen.report, "display": f"{chosen.mark} {chosen.organization_name}"},
    ]
    stored, _ = repo.update("ServiceRequest", order_id, body, if_match=current.version)
    return stored


def retest(repo: Repository, order_id: str, reason: str | None, note: str | None = None) -> Stored:
    """Test again despite a recognisable result, for one of the national reasons (CH-9202
    without one, with a code outside the list, or ``other`` without text)."""
    table = catalogue(repo.store.settings)
    code = (reason or "").strip()
    if not code:
        raise error("CH-9202", "a re-test needs one of the national reasons", "reason")
    found = table.reason(code)
    if found is None:
        known = ", ".join(r.code for r in table.reasons)
        raise error(
            "CH-9202", f"{code[:40]!r} is not a national re-test reason ({known})", "reason"
        )
    text = (note or "").strip()
    if found.needs_text and not text:
        raise error("CH-9202", f"the reason {code!r} needs a text saying why", "note")
    if len(text) > MAX_NOTE:
        raise error("CH-9201", f"the note has at most {MAX_NOTE} characters", "note")
    current, record = _undecided(repo, order_id)
    if record is None:
        check_order(repo, order_id)
        current, record = _undecided(repo, order_id)
    if record is None:
        raise error(
            "CH-9201", "the order is not of a recognition catalogue item", "ServiceRequest.code"
        )
    order = current.resource
    decided = record.deciding("retest", reason=found.code, note=text or None)
    stored, _ = repo.update(
        "ServiceRequest", order_id, with_record(order, decided), if_match=current.version
    )
    return stored
