"""Escalating referrals nobody has accepted in time.

A referral not accepted within the rules' hours for its priority is escalated: the Task gets
the ``referral-escalated`` extension, priority ``asap`` when it was routine, and the business
status "已超时升级", so it rises to the top of the receiving worklist and shows on the
bureau's pages. An urgent referral is escalated at once (0 hours) when it is made. The sweep
runs as ``countyhealth referral escalate`` (e.g. every 15 minutes from cron or a timer).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..fhir import systems
from ..records.query import find_all
from ..scheduling.calendar import fhir_datetime, parse_datetime
from ..store import Repository
from .record import UNDECIDED, extension_instant
from .refer import now_of
from .rules import referral_rules


def due_at(task: dict[str, object], hours: int) -> datetime | None:
    authored = task.get("authoredOn")
    return parse_datetime(str(authored)) + timedelta(hours=hours) if authored else None


def is_overdue(task: dict[str, object], now: datetime) -> bool:
    """Not accepted yet and past the rules' time for its priority."""
    if task.get("status") not in UNDECIDED:
        return False
    rules = referral_rules(now.date())
    due = due_at(task, rules.escalate_after(str(task.get("priority") or "routine")))
    return due is not None and now >= due


def escalate_overdue(repo: Repository) -> list[str]:
    """Escalate every overdue referral not escalated yet; the ids of those escalated."""
    platform = repo.elevated()
    now = now_of(repo)
    done: list[str] = []
    for task in find_all(
        platform,
        "Task",
        [("code", f"{systems.TASK_KIND}|referral"), ("status", ",".join(UNDECIDED))],
        page_size=500,
    ):
        if extension_instant(task, systems.EXT_REFERRAL_ESCALATED) or not is_overdue(task, now):
            continue
        current = platform.read("Task", str(task["id"]))
        body = dict(current.resource)
        tags = (body.pop("meta", None) or {}).get("tag")
        if tags:
            body["meta"] = {"tag": tags}
        body["extension"] = [
            *(body.get("extension") or []),
            {"url": systems.EXT_REFERRAL_ESCALATED, "valueDateTime": fhir_datetime(now)},
        ]
        if body.get("priority") in (None, "routine"):
            body["priority"] = "asap"
        body["businessStatus"] = {"text": "已超时升级"}
        platform.update("Task", current.id, body, if_match=current.version)
        done.append(current.id)
    return done
