"""The identity steward's decision on a duplicate-review Task.

- ``merged``: the two records are one person and one record survives (``survivor``); the
  other is merged into it (:mod:`.merge`), the Task's output names the merge Provenance so the
  decision can be undone from the review page;
- ``linked``: one person, both records stay in use (``seealso`` links, :mod:`.links`);
- ``distinct``: two people; the pair is never proposed again.
The Task ends ``completed`` with ``output`` ``decision`` (and ``provenance`` for a merge),
``owner`` the steward, in the same transaction as the decision's writes.
"""

from __future__ import annotations

from typing import Any

from ..errors import error
from ..fhir import systems
from ..fhir.instant import format_instant
from ..store import Repository
from .links import body_for_update, link_patients
from .merge import merge_patients, require_steward, unmerge
from .review import DECISIONS, KIND, OPEN, Review, output_value


def read_review(repo: Repository, task_id: str) -> tuple[dict[str, Any], Review]:
    task = repo.elevated().read("Task", task_id).resource
    codes = [c.get("code") for c in (task.get("code") or {}).get("coding") or []]
    if KIND not in codes:
        raise error("CH-9502", f"Task/{task_id} is not a duplicate review")
    return task, Review.of(task)


def _output(name: str, **value: Any) -> dict[str, Any]:
    return {"type": {"coding": [{"system": systems.TASK_INPUT, "code": name}]}, **value}


def decide(
    repo: Repository,
    task_id: str,
    decision: str,
    *,
    survivor: str | None = None,
    note: str = "",
) -> Review:
    """Record the steward's ``decision`` on review ``task_id`` and carry it out."""
    require_steward(repo)
    if decision not in DECISIONS:
        raise error("CH-9502", f"decision is one of {', '.join(DECISIONS)}", "decision")
    note = " ".join(note.split())[:300]
    platform = repo.elevated()
    with platform.transaction():
        _, review = read_review(platform, task_id)
        if review.status not in OPEN:
            raise error("CH-9505", f"Task/{task_id} was decided already ({review.decision})")
        outputs = [_output("decision", valueCode=decision)]
        reason = note or f"duplicate review Task/{task_id}"
        if decision == "merged":
            pair = (review.patient, review.candidate)
            if survivor not in pair:
                raise error(
                    "CH-9502", "a merge names the surviving record (one of the pair)", "survivor"
                )
            source = pair[0] if survivor == pair[1] else pair[1]
            merged = merge_patients(repo, source, survivor, reason)
            outputs.append(
                _output(
                    "provenance", valueReference={"reference": f"Provenance/{merged.provenance}"}
                )
            )
        elif decision == "linked":
            link_patients(repo, review.patient, review.candidate, reason=reason)
        body = body_for_update(platform.read("Task", task_id).resource)
        body["status"] = "completed"
        body["businessStatus"] = {
            "text": {"merged": "已合并", "linked": "已关联", "distinct": "非同一人"}[decision]
        }
        body["output"] = outputs
        body["lastModified"] = format_instant(repo.store.clock.now_us())
        actor = next((a for a in repo.caller.actors if a.startswith("Practitioner")), None)
        if actor:
            body["owner"] = {"reference": actor}
        if note:
            body["note"] = [{"text": note}]
        platform.update("Task", task_id, body)
    return Review.of(platform.read("Task", task_id).resource)


def undo_merge(repo: Repository, task_id: str, note: str = "") -> Review:
    """Undo the merge review ``task_id`` decided: the records are apart again (see
    :func:`.merge.unmerge`) and the Task says so (output ``undone``, business status
    "已撤销合并"); the pair can then be linked or kept apart with a new decision elsewhere."""
    require_steward(repo)
    note = " ".join(note.split())[:300]
    platform = repo.elevated()
    with platform.transaction():
        task, review = read_review(platform, task_id)
        provenance = output_value(task, "provenance")
        if review.decision != "merged" or not isinstance(provenance, dict):
            raise error("CH-9503", f"Task/{task_id} did not merge the records, or was undone")
        merged_by = str(provenance.get("reference") or "").split("/", 1)[-1]
        undone = unmerge(repo, merged_by, note or f"duplicate review Task/{task_id}")
        body = body_for_update(platform.read("Task", task_id).resource)
        body["output"] = [
            *(body.get("output") or []),
            _output("undone", valueReference={"reference": f"Provenance/{undone.provenance}"}),
        ]
        body["businessStatus"] = {"text": "已撤销合并"}
        body["lastModified"] = format_instant(repo.store.clock.now_us())
        platform.update("Task", task_id, body)
    return Review.of(platform.read("Task", task_id).resource)
