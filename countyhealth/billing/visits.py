"""The visit as the billing services see it: the Encounter, the institution that holds it and
the visit Account that collects its charges.

Each visit that has charges has one Account (https://hl7.org/fhir/R4/account.html), found by
``Account.identifier`` (system :data:`~.records.VISIT_ACCOUNT`, value the Encounter id) and
linked from ``Encounter.account``. Its status is the visit's charging state:

- ``active`` — open: charges accumulate from every department and member institution;
- ``on-hold`` — closed unpaid under credit-based care (信用就医), to be paid by the date in the
  ``credit-due`` extension; no more charges;
- ``inactive`` — settled (the one settlement of the visit was made); no more charges.

A cancelled (or entered-in-error) Encounter is closed too. The visit's institution is
``Encounter.serviceProvider`` (else the Encounter's custodian): its cashier settles the visit,
and billing resources of the visit carry it as custodian, so that the lab of a township centre
charging a county-hospital visit adds to the county hospital's bill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..errors import OperationOutcomeError, error, forbidden, not_found
from ..fhir.consent_grants import custodian_of, with_custodian
from ..records.query import find
from ..scheduling.calendar import fhir_datetime, local_now
from ..store import Repository, Stored
from .records import (
    ACCOUNT_TYPE,
    EXT_CREDIT_AMOUNT,
    EXT_CREDIT_DUE,
    VISIT_ACCOUNT,
    bare,
    coding,
    extension,
    local_id,
    money,
    ref,
    reference_of,
)

#: Encounter.class codes of inpatient care (v3 ActCode); every other class is outpatient
INPATIENT_CLASSES = frozenset({"IMP", "ACUTE", "NONAC"})
CLOSED_ENCOUNTER = frozenset({"cancelled", "entered-in-error"})
STATE_OF_ACCOUNT = {"active": "open", "on-hold": "credit", "inactive": "settled"}


@dataclass(frozen=True, slots=True)
class Visit:
    """One Encounter with what billing needs of it."""

    encounter: Stored
    patient: str  # Patient id
    institution: str  # Organization/id holding the visit
    account: Stored | None

    @property
    def id(self) -> str:
        return self.encounter.id

    @property
    def reference(self) -> str:
        return self.encounter.reference

    @property
    def setting(self) -> str:
        """``inpatient`` or ``outpatient`` (from Encounter.class)."""
        cls = self.encounter.resource.get("class") or {}
        return "inpatient" if cls.get("code") in INPATIENT_CLASSES else "outpatient"

    @property
    def state(self) -> str:
        """``open``, ``credit`` (closed unpaid), ``settled`` or ``cancelled``."""
        if self.encounter.resource.get("status") in CLOSED_ENCOUNTER:
            return "cancelled"
        if self.account is None:
            return "open"
        return STATE_OF_ACCOUNT.get(str(self.account.resource.get("status")), "settled")

    @property
    def credit_due(self) -> date | None:
        """The day by which a visit closed on credit must be paid."""
        if self.account is None:
            return None
        ext = extension(self.account.resource, EXT_CREDIT_DUE)
        return date.fromisoformat(ext["valueDate"]) if ext else None


def now_of(repo: Repository) -> datetime:
    return local_now(repo.store.clock.now_us())


def encounter_id_of(value: str) -> str:
    eid = local_id(value or "", "Encounter")
    if not eid:
        raise error("CH-9401", "the visit (Encounter id) is required", "encounter")
    return eid


def read_encounter(repo: Repository, encounter_id: str) -> Stored:
    """The Encounter as ``repo``'s caller may see it; an unknown one is CH-2001."""
    try:
        return repo.read("Encounter", encounter_id)
    except OperationOutcomeError as exc:
        if exc.code == "CH-2002":
            raise not_found("Encounter", encounter_id) from exc
        raise


def load_visit(platform: Repository, encounter: Stored) -> Visit:
    """The visit of ``encounter``, with its Account (read through the platform)."""
    body = encounter.resource
    subject = reference_of(body.get("subject"))
    if not subject.startswith("Patient/"):
        raise error("CH-9401", f"Encounter/{encounter.id} names no patient", "encounter")
    institution = reference_of(body.get("serviceProvider")) or custodian_of(body) or ""
    if not institution.startswith("Organization/"):
        raise error(
            "CH-9401",
            f"Encounter/{encounter.id} names no institution (serviceProvider)",
            "encounter",
        )
    return Visit(
        encounter, subject.removeprefix("Patient/"), institution, _account(platform, encounter.id)
    )


def reload(platform: Repository, visit: Visit) -> Visit:
    """The visit as stored now (inside a unit of work: after the lock)."""
    return load_visit(platform, platform.read("Encounter", visit.id))


def _account(platform: Repository, encounter_id: str) -> Stored | None:
    found = find(platform, "Account", [("identifier", f"{VISIT_ACCOUNT}|{encounter_id}")], count=2)
    if not found.resources:
        return None
    body = found.resources[0]
    return platform.read("Account", str(body["id"]))


def open_account(platform: Repository, visit: Visit, now: datetime) -> Visit:
    """The visit with its Account, created (and linked from the Encounter) when missing.
    Inside a unit of work under the lock on the patient."""
    if visit.account is not None:
        return visit
    body: dict[str, Any] = {
        "resourceType": "Account",
        "identifier": [{"system": VISIT_ACCOUNT, "value": visit.id}],
        "status": "active",
        "type": {
            "coding": [coding(ACCOUNT_TYPE, "PBILLACCT", "patient billing account")],
            "text": "就诊账户",
        },
        "name": f"就诊账户 {visit.id}",
        "subject": [ref(f"Patient/{visit.patient}")],
        "servicePeriod": {"start": fhir_datetime(now)},
        "owner": ref(visit.institution),
        "description": "一次就诊的费用汇总 (charges of one visit, settled once)",
    }
    with_custodian(body, visit.institution)
    account = platform.create(body)
    current = visit.encounter
    for attempt in range(3):
        encounter = bare(current.resource)
        encounter["account"] = [
            *(a for a in encounter.get("account") or [] if reference_of(a) != account.reference),
            ref(account.reference),
        ]
        try:
            current = platform.update("Encounter", visit.id, encounter, if_match=current.version)[0]
            break
        except OperationOutcomeError as exc:
            # a clinician wrote the Encounter meanwhile (their writes do not take the lock on
            # the patient): link the Account to their version
            if exc.code not in ("CH-2008", "CH-2009") or attempt == 2:
                raise
            current = platform.read("Encounter", visit.id)
    return Visit(current, visit.patient, visit.institution, account)


def set_account_state(
    platform: Repository,
    visit: Visit,
    status: str,
    now: datetime,
    due: date | None = None,
    owed: Decimal | None = None,
) -> Stored:
    """Move the visit Account to ``status`` (``active``; ``on-hold`` with the ``due`` day and
    the cash ``owed`` as estimated; ``inactive``)."""
    if visit.account is None:
        raise error("CH-9405", f"Encounter/{visit.id} has no charges")
    body = bare(visit.account.resource)
    body["status"] = status
    body["extension"] = [
        e
        for e in body.get("extension") or []
        if e.get("url") not in (EXT_CREDIT_DUE, EXT_CREDIT_AMOUNT)
    ]
    if due is not None:
        body["extension"].append({"url": EXT_CREDIT_DUE, "valueDate": due.isoformat()})
    if owed is not None:
        body["extension"].append({"url": EXT_CREDIT_AMOUNT, "valueMoney": money(owed)})
    if not body["extension"]:
        body.pop("extension")
    if status == "inactive":
        body["servicePeriod"] = {**(body.get("servicePeriod") or {}), "end": fhir_datetime(now)}
    return platform.update("Account", visit.account.id, body, if_match=visit.account.version)[0]


def require_open(visit: Visit) -> None:
    """Charges go only on an open visit (CH-9402)."""
    state = visit.state
    if state == "open":
        return
    why = {
        "cancelled": f"the visit is {visit.encounter.resource.get('status')}",
        "credit": "the visit was closed for payment later (信用就医)",
        "settled": "the visit was settled",
    }[state]
    raise error("CH-9402", f"Encounter/{visit.id}: {why}; no more charges", "encounter")


def require_staff(repo: Repository, what: str) -> None:
    """Residents act on their own visits only through the resident services (pay, credit)."""
    if repo.caller.access in ("compartment", "none"):
        raise forbidden(f"{repo.caller.key} may not {what}")
