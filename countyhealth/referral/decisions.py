"""The receiving side's decisions on a referral and the requesting side's cancellation.

Each decision moves the referral Task along its state machine
(``fhir/data/task_workflows.json``; the store refuses any other move with CH-9301) and keeps the
ServiceRequest and the held appointment in step, in one unit of work:

- receive: requested → received (the department has opened it);
- accept: requested/received → accepted, the held slot is booked;
- decline: requested/received → rejected with a reason and a suggested alternative, the slot
  returns to the pool and the request is revoked;
- cancel (requesting side): before the visit starts → cancelled, slot freed, request revoked;
- start: accepted → in-progress (the patient is being seen);
- complete: in-progress → completed, the request completed.
"""

from __future__ import annotations

from typing import Any

from ..errors import error
from ..fhir import systems
from ..fhir.consent_grants import custodian_of
from ..scheduling.calendar import fhir_datetime
from ..scheduling.holds import confirm_hold, release_hold
from ..store import Repository, Stored
from .record import UNDECIDED, Referral, load_by_task, reference
from .refer import clean_text, now_of

BUSINESS = {
    "requested": "待接收",
    "received": "已接收待确认",
    "accepted": "已接受",
    "rejected": "已拒绝",
    "cancelled": "已取消",
    "in-progress": "接诊中",
    "completed": "已完成",
    "failed": "未完成",
}


def _bare(stored: Stored) -> dict[str, Any]:
    """The current body for an update: meta dropped but the custodian tag kept."""
    body = dict(stored.resource)
    tags = (body.pop("meta", None) or {}).get("tag")
    if tags:
        body["meta"] = {"tag": tags}
    return body


def member_of_team(repo: Repository, team: str) -> bool:
    """Whether the caller works in ``CareTeam/id`` or for its managing institution."""
    body = repo.elevated().read("CareTeam", team.removeprefix("CareTeam/")).resource
    orgs = {reference(m) for m in body.get("managingOrganization") or []}
    people = {reference(p.get("member")) for p in body.get("participant") or []}
    caller = repo.caller
    return (caller.organization in orgs) or any(a in people for a in caller.actors)


def require_receiving_side(repo: Repository, referral: Referral) -> None:
    """Only the receiving institution (or team) decides; the platform and integrators
    acting for the network may too (CH-9305)."""
    caller = repo.caller
    if caller.kind in ("system", "client"):
        return
    owner = referral.owner
    if owner.startswith("CareTeam/") and member_of_team(repo, owner):
        return
    if owner and caller.organization == owner:
        return
    raise error(
        "CH-9305",
        f"only {referral.task.resource.get('owner', {}).get('display') or owner} decides on "
        "this referral",
    )


def require_requesting_side(repo: Repository, referral: Referral) -> None:
    caller = repo.caller
    if caller.kind in ("system", "client"):
        return
    if caller.organization and caller.organization == custodian_of(referral.request.resource):
        return
    raise error("CH-9305", "only the referring institution cancels its referral")


def move_task(
    repo: Repository,
    referral: Referral,
    status: str,
    *,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Stored:
    """Write the Task in ``status`` (the store checks the move)."""
    now = now_of(repo)
    body = _bare(referral.task)
    body["status"] = status
    body["businessStatus"] = {"text": BUSINESS.get(status, status)}
    body["lastModified"] = fhir_datetime(now)
    if reason:
        body["statusReason"] = {"text": reason}
    if status == "accepted":
        body["extension"] = [
            *(
                e
                for e in body.get("extension") or []
                if e.get("url") != systems.EXT_REFERRAL_ACCEPTED
            ),
            {"url": systems.EXT_REFERRAL_ACCEPTED, "valueDateTime": fhir_datetime(now)},
        ]
    if status == "in-progress":
        body["executionPeriod"] = {"start": fhir_datetime(now)}
    if status == "completed":
        period = dict(body.get("executionPeriod") or {})
        period.setdefault("start", fhir_datetime(now))
        period["end"] = fhir_datetime(now)
        body["executionPeriod"] = period
    body.update(extra or {})
    return repo.update("Task", referral.task.id, body, if_match=referral.task.version)[0]


def set_request_status(repo: Repository, referral: Referral, status: str) -> Stored:
    current = repo.read("ServiceRequest", referral.request.id)
    body = _bare(current)
    body["status"] = status
    return repo.update("ServiceRequest", current.id, body, if_match=current.version)[0]


def _undecided(referral: Referral, action: str) -> None:
    if referral.status not in UNDECIDED:
        raise error(
            "CH-9301",
            f"the referral is already {referral.status}; it can no longer be {action}",
            "Task.status",
        )


def _reload(repo: Repository, task_id: str) -> Referral:
    return load_by_task(repo, task_id)


def _step(repo: Repository, task_id: str, expected: str, to: str) -> Referral:
    """The receiving side moves the referral from ``expected`` to ``to``."""
    referral = load_by_task(repo, task_id)
    require_receiving_side(repo, referral)
    if referral.status != expected:
        raise error("CH-9301", f"the referral is {referral.status}, not {expected}", "Task.status")
    move_task(repo, referral, to)
    return _reload(repo, task_id)


def receive(repo: Repository, task_id: str) -> Referral:
    """The receiving department has opened the referral: requested → received."""
    return _step(repo, task_id, "requested", "received")


def accept(repo: Repository, task_id: str) -> Referral:
    """Accept the referral and book the slot held for it."""
    referral = load_by_task(repo, task_id)
    require_receiving_side(repo, referral)
    _undecided(referral, "accepted")
    with repo.transaction():
        move_task(repo, referral, "accepted")
        held = referral.appointment
        if held is not None and held.get("status") == "pending":
            confirm_hold(repo, str(held["id"]))
    return _reload(repo, task_id)


def decline(repo: Repository, task_id: str, reason: str, alternative: str = "") -> Referral:
    """Decline with a reason and, optionally, a suggested alternative (an institution or a
    text); the held slot returns to the pool."""
    text = clean_text(reason, "reason", 500, required=True)
    other = clean_text(alternative, "alternative", 200)
    referral = load_by_task(repo, task_id)
    require_receiving_side(repo, referral)
    _undecided(referral, "declined")
    extra: dict[str, Any] = {}
    if other:
        value: dict[str, Any] = (
            {"valueReference": {"reference": other}}
            if other.startswith("Organization/")
            else {"valueString": other}
        )
        extra["output"] = [{"type": {"text": "suggested-alternative"}, **value}]
    with repo.transaction():
        move_task(repo, referral, "rejected", reason=text, extra=extra)
        set_request_status(repo, referral, "revoked")
        _release(repo, referral, f"referral declined: {text}")
    return _reload(repo, task_id)


def cancel(repo: Repository, task_id: str, reason: str) -> Referral:
    """The referring side withdraws the referral before the visit starts."""
    text = clean_text(reason, "reason", 500, required=True)
    referral = load_by_task(repo, task_id)
    require_requesting_side(repo, referral)
    if referral.status not in (*UNDECIDED, "accepted"):
        raise error(
            "CH-9301",
            f"the referral is already {referral.status}; it cannot be cancelled",
            "Task.status",
        )
    with repo.transaction():
        move_task(repo, referral, "cancelled", reason=text)
        set_request_status(repo, referral, "revoked")
        _release(repo, referral, f"referral cancelled: {text}")
    return _reload(repo, task_id)


def start(repo: Repository, task_id: str) -> Referral:
    """The patient has come: accepted → in-progress."""
    return _step(repo, task_id, "accepted", "in-progress")


def complete(repo: Repository, task_id: str) -> Referral:
    """Close the referral after the visit (accepted or in progress → completed)."""
    referral = load_by_task(repo, task_id)
    require_receiving_side(repo, referral)
    finish(repo, referral)
    return _reload(repo, task_id)


def finish(repo: Repository, referral: Referral) -> None:
    """Walk an accepted or in-progress referral to completed, with its request."""
    if referral.status not in ("accepted", "in-progress"):
        raise error(
            "CH-9301",
            f"the referral is {referral.status}; only an accepted one completes",
            "Task.status",
        )
    with repo.transaction():
        if referral.status == "accepted":
            started = move_task(repo, referral, "in-progress")
            referral = Referral(referral.request, started, referral.appointment)
        move_task(repo, referral, "completed")
        set_request_status(repo, referral, "completed")


def _release(repo: Repository, referral: Referral, reason: str) -> None:
    held = referral.appointment
    if held is not None:
        release_hold(repo, str(held["id"]), reason)
