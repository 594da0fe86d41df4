"""Worklists: referrals waiting for the caller's institution or team (incoming) and the
referrals the caller's institution made (outgoing), urgent and escalated first.

Each list is one Task search with ``_include`` of the ServiceRequests and Patients, run as the
caller: the consent given at referral is what lets the receiving side read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..fhir import systems
from ..fhir.consent_grants import custodian_of
from ..fhir.search_request import parse_search
from ..fhir.systems import CUSTODIAN
from ..records.names import organization_names
from ..records.query import find
from ..scheduling.calendar import parse_datetime
from ..store import Repository
from .escalation import is_overdue
from .record import (
    REFERRAL_CATEGORY,
    SNOMED,
    UNDECIDED,
    direction_of,
    extension_instant,
    reference,
)
from .refer import now_of

_PRIORITY_RANK = {"stat": 0, "urgent": 1, "asap": 2, "routine": 3}


@dataclass(frozen=True, slots=True)
class WorkItem:
    request: str  # ServiceRequest id
    task: str
    direction: str
    status: str
    priority: str
    escalated: bool
    overdue: bool
    patient: str
    patient_name: str
    origin: str
    origin_name: str
    owner: str
    owner_name: str
    reason: str
    authored: datetime | None

    @property
    def rank(self) -> tuple[int, int, float]:
        flag = 0 if (self.escalated or self.overdue) else 1
        when = self.authored.timestamp() if self.authored else 0.0
        return (_PRIORITY_RANK.get(self.priority, 3), flag, when)


def _teams_of(repo: Repository) -> list[str]:
    people = [a for a in repo.caller.actors if a.startswith(("PractitionerRole/", "Practitioner/"))]
    if not people:
        return []
    # a team is directory information (it names no patient): read for the platform
    teams = find(
        repo.elevated(), "CareTeam", [("participant", ",".join(people))], count=20
    ).resources
    return [f"CareTeam/{t['id']}" for t in teams]


def _name(patient: dict[str, Any] | None) -> str:
    for n in (patient or {}).get("name") or []:
        if n.get("text"):
            return str(n["text"])
        family = str(n.get("family") or "")
        return family + "".join(str(g) for g in n.get("given") or [])
    return ""


def _items(
    repo: Repository, params: list[tuple[str, str]], count: int, oldest_first: bool = False
) -> list[WorkItem]:
    query = [
        ("code", f"{systems.TASK_KIND}|referral"),
        *params,
        ("_include", "Task:focus"),
        ("_include", "Task:patient"),
        ("_sort", "authored-on" if oldest_first else "-authored-on"),
        ("_count", str(count)),
    ]
    req = parse_search(("Task",), query, max_count=max(count, 200))
    page = repo.search(req, query_string="Task?" + "&".join(f"{k}={v}" for k, v in query))
    requests: dict[str, dict[str, Any]] = {}
    patients: dict[str, dict[str, Any]] = {}
    for stored in [*page.entries, *page.included]:
        body = stored.resource
        if stored.type == "ServiceRequest":
            requests[stored.id] = body
        elif stored.type == "Patient":
            patients[stored.id] = body
    tasks = [s.resource for s in page.entries if s.type == "Task"]
    names = organization_names(
        repo,
        [custodian_of(r) for r in requests.values()]
        + [
            reference(t.get("owner"))
            for t in tasks
            if reference(t.get("owner")).startswith("Organization/")
        ],
    )
    now = now_of(repo)
    out: list[WorkItem] = []
    for task in tasks:
        rid = reference(task.get("focus")).removeprefix("ServiceRequest/")
        request = requests.get(rid)
        if request is None:
            continue  # the request is patient data the caller may not read (no consent)
        pid = reference(task.get("for")).removeprefix("Patient/")
        origin = custodian_of(request) or ""
        owner = reference(task.get("owner"))
        reason = next(
            (
                f"{c.get('code')} {c.get('display') or ''}".strip()
                for concept in request.get("reasonCode") or []
                for c in concept.get("coding") or []
            ),
            "",
        )
        out.append(
            WorkItem(
                request=rid,
                task=str(task["id"]),
                direction=direction_of(request),
                status=str(task.get("status")),
                priority=str(task.get("priority") or "routine"),
                escalated=extension_instant(task, systems.EXT_REFERRAL_ESCALATED) is not None,
                overdue=is_overdue(task, now),
                patient=pid,
                patient_name=_name(patients.get(pid)),
                origin=origin,
                origin_name=names.get(origin, origin),
                owner=owner,
                owner_name=str((task.get("owner") or {}).get("display") or names.get(owner, owner)),
                reason=reason,
                authored=parse_datetime(str(task["authoredOn"]))
                if task.get("authoredOn")
                else None,
            )
        )
    return sorted(out, key=lambda i: i.rank)


def incoming(repo: Repository, count: int = 100) -> list[WorkItem]:
    """Referrals owned by the caller's institution or one of the caller's teams: every one
    still to be decided (oldest first, so none falls off the list), then the newest of those
    accepted or under way."""
    owners = [o for o in [repo.caller.organization, *_teams_of(repo)] if o]
    if not owners:
        return []
    owner = ("owner", ",".join(owners))
    waiting = _items(repo, [owner, ("status", ",".join(UNDECIDED))], count, oldest_first=True)
    working = _items(repo, [owner, ("status", "accepted,in-progress")], count)
    return sorted([*waiting, *working], key=lambda i: (i.status not in UNDECIDED, i.rank))


def outgoing(
    repo: Repository, statuses: tuple[str, ...] | None = None, count: int = 100
) -> list[WorkItem]:
    """Referrals the caller's institution made: its referral ServiceRequests (they carry the
    institution as custodian), then their Tasks."""
    org = repo.caller.organization
    if not org:
        return []
    requests = find(
        repo,
        "ServiceRequest",
        [
            ("_tag", f"{CUSTODIAN}|{org.removeprefix('Organization/')}"),
            ("category", f"{SNOMED}|{REFERRAL_CATEGORY[0]}"),
            ("_sort", "-authored"),
            ("_elements", "id"),
        ],
        count=count,
    ).resources
    if not requests:
        return []
    params = [("focus", ",".join(f"ServiceRequest/{r['id']}" for r in requests))]
    if statuses:
        params.append(("status", ",".join(statuses)))
    return _items(repo, params, count)
