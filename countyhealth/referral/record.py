"""A referral as stored: the ServiceRequest, the Task that tracks it and the appointment held
for it, read together (https://hl7.org/fhir/R4/servicerequest.html,
https://hl7.org/fhir/R4/task.html; the referral pattern of
https://hl7.org/fhir/R4/workflow-management.html, option H: a request and a Task that asks
the receiving side to fulfil it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import OperationOutcomeError, error, not_found
from ..fhir import systems
from ..fhir.consent_grants import custodian_of
from ..records.query import find
from ..scheduling.calendar import parse_datetime
from ..store import Repository, Stored

SNOMED = "http://snomed.info/sct"
ICD_10 = systems.ICD_10
#: ServiceRequest.category and code of every referral (as the synthetic county writes them)
REFERRAL_CATEGORY = ("3457005", "Patient referral")
REFERRAL_CODE = ("306206005", "Referral to service")
#: Task states still waiting for, or being worked by, the receiving side
OPEN_STATES = ("requested", "received", "accepted", "in-progress")
UNDECIDED = ("requested", "received")


def reference(value: Any) -> str:
    return str((value or {}).get("reference") or "")


def direction_of(request: dict[str, Any]) -> str:
    for ext in request.get("extension") or []:
        if ext.get("url") == systems.EXT_REFERRAL_DIRECTION:
            return str((ext.get("valueCoding") or {}).get("code") or "")
    return ""


def is_referral_task(task: dict[str, Any]) -> bool:
    return any(
        c.get("system") == systems.TASK_KIND and c.get("code") == "referral"
        for c in (task.get("code") or {}).get("coding") or []
    )


def extension_instant(resource: dict[str, Any], url: str) -> datetime | None:
    for ext in resource.get("extension") or []:
        if ext.get("url") == url and ext.get("valueDateTime"):
            return parse_datetime(str(ext["valueDateTime"]))
    return None


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral's ServiceRequest, its Task and the appointment held or booked for it."""

    request: Stored
    task: Stored
    appointment: dict[str, Any] | None

    @property
    def id(self) -> str:
        return self.request.id

    @property
    def direction(self) -> str:
        return direction_of(self.request.resource)

    @property
    def status(self) -> str:
        return str(self.task.resource.get("status") or "")

    @property
    def priority(self) -> str:
        return str(self.request.resource.get("priority") or "routine")

    @property
    def patient(self) -> str:
        return reference(self.request.resource.get("subject")).removeprefix("Patient/")

    @property
    def owner(self) -> str:
        """Who receives it: ``Organization/id`` or, for a down-referral, ``CareTeam/id``."""
        return reference(self.task.resource.get("owner"))

    @property
    def target_organization(self) -> str:
        for p in self.request.resource.get("performer") or []:
            if reference(p).startswith("Organization/"):
                return reference(p)
        return ""

    @property
    def service(self) -> str:
        for p in self.request.resource.get("performer") or []:
            if reference(p).startswith(("HealthcareService/", "CareTeam/")):
                return reference(p)
        return ""

    @property
    def requesting_organization(self) -> str:
        return custodian_of(self.request.resource) or ""

    @property
    def authored(self) -> datetime | None:
        text = self.request.resource.get("authoredOn")
        return parse_datetime(str(text)) if text else None


def _read(repo: Repository, rtype: str, rid: str) -> Stored:
    try:
        return repo.read(rtype, rid)
    except OperationOutcomeError as exc:
        if exc.status in (404, 410):
            raise not_found(rtype, rid) from exc
        raise


def task_of(repo: Repository, request_id: str) -> Stored:
    """The referral Task whose focus is ``ServiceRequest/request_id``."""
    found = find(
        repo,
        "Task",
        [("focus", f"ServiceRequest/{request_id}"), ("code", f"{systems.TASK_KIND}|referral")],
        count=2,
    ).resources
    if not found:
        raise error("CH-9302", f"ServiceRequest/{request_id} is not a referral", "referral")
    return _read(repo, "Task", str(found[0]["id"]))


def held_appointment(repo: Repository, request_id: str) -> dict[str, Any] | None:
    """The newest appointment based on the referral, read for the platform (the receiving
    department's appointment is filed under the receiving institution)."""
    found = find(
        repo.elevated(),
        "Appointment",
        [("based-on", f"ServiceRequest/{request_id}"), ("_sort", "-_lastUpdated")],
        count=1,
    ).resources
    return found[0] if found else None


def load(repo: Repository, request_id: str) -> Referral:
    """The referral ``ServiceRequest/request_id`` as the caller may read it."""
    request = _read(repo, "ServiceRequest", request_id)
    if not direction_of(request.resource):
        raise error("CH-9302", f"ServiceRequest/{request_id} is not a referral", "referral")
    task = task_of(repo, request_id)
    return Referral(request, task, held_appointment(repo, request_id))


def load_by_task(repo: Repository, task_id: str) -> Referral:
    """The referral whose Task is ``Task/task_id``."""
    task = _read(repo, "Task", task_id)
    if not is_referral_task(task.resource):
        raise error("CH-9302", f"Task/{task_id} is not a referral Task", "Task.code")
    focus = reference(task.resource.get("focus"))
    if not focus.startswith("ServiceRequest/"):
        raise error("CH-9302", f"Task/{task_id} has no referral to fulfil", "Task.focus")
    request_id = focus.removeprefix("ServiceRequest/")
    request = _read(repo, "ServiceRequest", request_id)
    return Referral(request, task, held_appointment(repo, request_id))
