"""State machines of workflow Tasks (https://hl7.org/fhir/R4/task.html#statemachine).

R4 describes Task's life cycle as a state machine and leaves it to the workflow which states
and moves apply. ``data/task_workflows.json`` names, per ``Task.code``, the states a Task may
be created in and the moves between them; :func:`check_task_write` is what the store applies
to every create, update and patch of a Task, so a client of the FHIR API is held to the same
machine as the pages and the $operations. Tasks of other codes are not constrained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ..errors import error

_DATA = Path(__file__).resolve().parent / "data" / "task_workflows.json"
#: every R4 task-status code (http://hl7.org/fhir/task-status)
TASK_STATUSES = (
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
)


@dataclass(frozen=True, slots=True)
class TaskWorkflow:
    """The machine of one kind of Task."""

    system: str
    code: str
    name: str
    initial: frozenset[str]
    transitions: Mapping[str, frozenset[str]]

    def allows(self, before: str, after: str) -> bool:
        return before == after or after in self.transitions.get(before, frozenset())

    def next_states(self, status: str) -> list[str]:
        return sorted(self.transitions.get(status, frozenset()))


def _workflow(entry: Mapping[str, Any]) -> TaskWorkflow:
    code = entry["code"]
    transitions = {str(k): frozenset(str(s) for s in v) for k, v in entry["transitions"].items()}
    states = set(transitions) | {s for v in transitions.values() for s in v}
    unknown = sorted(states - set(TASK_STATUSES))
    if unknown:
        raise ValueError(f"task workflow {code['code']!r}: unknown task-status {unknown}")
    missing = sorted({s for v in transitions.values() for s in v} - set(transitions))
    if missing:
        raise ValueError(f"task workflow {code['code']!r}: states without an entry {missing}")
    return TaskWorkflow(
        str(code["system"]),
        str(code["code"]),
        str(entry["name"]),
        frozenset(str(s) for s in entry["initial"]),
        transitions,
    )


@cache
def workflows() -> dict[tuple[str, str], TaskWorkflow]:
    """The workflows of ``data/task_workflows.json`` by (system, code), checked at load."""
    data = orjson.loads(_DATA.read_bytes())
    if not data.get("sources"):
        raise ValueError("task_workflows.json names no source")
    found = [_workflow(entry) for entry in data["workflows"]]
    return {(w.system, w.code): w for w in found}


def workflow_of(task: Mapping[str, Any]) -> TaskWorkflow | None:
    """The workflow a Task follows, by the first of its codings that names one."""
    known = workflows()
    for coding in (task.get("code") or {}).get("coding") or []:
        found = known.get((str(coding.get("system")), str(coding.get("code"))))
        if found is not None:
            return found
    return None


def check_task_write(previous: Mapping[str, Any] | None, task: Mapping[str, Any]) -> None:
    """Refuse a Task write that breaks its workflow (CH-9301, 409 Conflict).

    Args:
        previous: the current version, or None when the Task is being created.
        task: the version being written.
    """
    flow = workflow_of(task)
    status = str(task.get("status") or "")
    if previous is not None:
        before_flow = workflow_of(previous)
        if before_flow is not None and before_flow is not flow:
            raise error(
                "CH-9301",
                f"a {before_flow.name} Task cannot change its code to another workflow",
                "Task.code",
            )
    if flow is None:
        return
    if previous is None:
        if status not in flow.initial:
            raise error(
                "CH-9301",
                f"a {flow.name} Task starts as {' or '.join(sorted(flow.initial))}, not {status!r}",
                "Task.status",
            )
        return
    before = str(previous.get("status") or "")
    if not flow.allows(before, status):
        allowed = ", ".join(flow.next_states(before)) or "nothing (final state)"
        raise error(
            "CH-9301",
            f"a {flow.name} Task in status {before!r} cannot move to {status!r} "
            f"(allowed: {allowed})",
            "Task.status",
        )
