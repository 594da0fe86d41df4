"""Merging two records of one resident, and undoing it.

R4 has no standard merge operation; this follows the shape R5 later gave ``Patient/$merge``
(source and target records, https://hl7.org/fhir/R5/patient-operation-merge.html) with R4
elements only:
- every resource that refers to the source record (its Patient compartment, Tasks for it,
  other records' links) is repointed to the target, one new version each;
- the source becomes ``active: false`` with ``link`` ``replaced-by`` the target, and the
  target gets ``link`` ``replaces`` the source (https://hl7.org/fhir/R4/patient.html#links);
- a Provenance (activity ``merge``, ISO 21089 lifecycle) names the target, the source and
  every repointed version, and is what the unmerge reads to put the references back.
All of it happens in one transaction, as the identity steward, and is audited with both
records named so that each resident sees it in their access log. AuditEvents and earlier
Provenance are history and are never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import error
from ..fhir import definitions
from ..fhir.instant import format_instant
from ..fhir.search_request import parse_search
from ..store import Repository, Stored
from .links import add_link, body_for_update, link_targets, record_decision, remove_links

LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
PRIVILEGE = "review-identity"
#: never rewritten: they record what happened, under the ids of the time
_HISTORY_TYPES = ("AuditEvent", "Provenance")


@dataclass(frozen=True, slots=True)
class MergeResult:
    provenance: str
    repointed: int


def require_steward(repo: Repository) -> None:
    if PRIVILEGE not in repo.caller.privileges:
        raise error("CH-9504", f"{repo.caller.key} may not merge, link or unmerge records")


def _patient_id(ref: str, name: str) -> str:
    rtype, _, rid = ref.partition("/")
    if rtype != "Patient" or not rid or "/" in rid:
        raise error("CH-9502", f"{name} must be a Patient reference (Patient/id)", name)
    return rid


def _merged_into(resource: dict[str, Any]) -> list[str]:
    return link_targets(resource, "replaced-by")


def repoint(value: Any, old: str, new: str) -> tuple[Any, int]:
    """``value`` with every Reference to ``old`` (``Patient/x``, relative or absolute) made a
    reference to ``new``; and how many were changed."""
    if isinstance(value, list):
        out, total = [], 0
        for item in value:
            changed, n = repoint(item, old, new)
            out.append(changed)
            total += n
        return out, total
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        total = 0
        for key, item in value.items():
            if (
                key == "reference"
                and isinstance(item, str)
                and (item == old or item.endswith("/" + old))
            ):
                result[key] = item[: len(item) - len(old)] + new
                total += 1
            else:
                result[key], n = repoint(item, old, new)
                total += n
        return result, total
    return value, 0


def referring(platform: Repository, patient_id: str) -> list[Stored]:
    """The current versions of every resource that refers to ``Patient/patient_id`` and may
    be repointed: its compartment (without the history types), Tasks for it, and other
    Patient records that link to it."""
    types = tuple(t for t in definitions.compartment("Patient") if t not in _HISTORY_TYPES)
    found: dict[str, Stored] = {}
    cursor: str | None = None
    while True:
        params = [("_count", "500"), *([("_page", cursor)] if cursor else [])]
        req = parse_search(types, params, max_count=500)
        page = platform.search(req, compartment_of=("Patient", patient_id))
        for s in page.entries:
            if s.type != "Patient":
                found[f"{s.type}/{s.id}"] = s
        if not page.next_page or not page.entries:
            break
        cursor = page.next_page
    for rtype, param in (("Task", "subject"), ("Patient", "link")):
        for s in platform.matches(rtype, [(param, f"Patient/{patient_id}")], limit=1000):
            found.setdefault(f"{s.type}/{s.id}", s)
    return list(found.values())


def merge_patients(repo: Repository, source: str, target: str, reason: str) -> MergeResult:
    """Merge record ``source`` into ``target`` (both ``Patient/id``); see the module text."""
    require_steward(repo)
    sid, tid = _patient_id(source, "source-patient"), _patient_id(target, "target-patient")
    if sid == tid:
        raise error("CH-9503", "a record cannot be merged into itself", "target-patient")
    platform = repo.elevated()
    with platform.transaction():
        src = platform.read("Patient", sid).resource
        tgt = platform.read("Patient", tid).resource
        if _merged_into(src):
            raise error("CH-9503", f"{source} is already merged into {_merged_into(src)[0]}")
        if _merged_into(tgt):
            raise error(
                "CH-9503",
                f"{target} is itself merged into {_merged_into(tgt)[0]}; merge into that record",
            )
        changed: list[dict[str, str]] = []
        for stored in referring(platform, sid):
            if f"{stored.type}/{stored.id}" == target:
                continue
            body, n = repoint(body_for_update(stored.resource), source, target)
            if n:
                new, _ = platform.update(stored.type, stored.id, body)
                changed.append({"reference": f"{new.type}/{new.id}/_history/{new.version}"})
        src_body = add_link(platform.read("Patient", sid).resource, target, "replaced-by")
        src_body["active"] = False
        platform.update("Patient", sid, src_body)
        tgt_body = add_link(platform.read("Patient", tid).resource, source, "replaces")
        platform.update("Patient", tid, tgt_body)
        provenance = platform.create(
            _provenance(
                repo, "merge", [target, source, *[c["reference"] for c in changed]], source, reason
            )
        )
    record_decision(repo, target, [target, source], f"merge {source} into {target}: {reason}")
    return MergeResult(provenance.id, len(changed))


def unmerge(repo: Repository, provenance_id: str, reason: str) -> MergeResult:
    """Undo the merge that Provenance ``provenance_id`` recorded: the repointed resources
    refer to the source record again, the source is active and unlinked."""
    require_steward(repo)
    platform = repo.elevated()
    with platform.transaction():
        prov = platform.read("Provenance", provenance_id).resource
        codes = [c.get("code") for c in (prov.get("activity") or {}).get("coding") or []]
        targets = [str(t.get("reference")) for t in prov.get("target") or []]
        if "merge" not in codes or len(targets) < 2:
            raise error("CH-9503", f"Provenance/{provenance_id} does not record a merge")
        target, source = targets[0], targets[1]
        sid, tid = _patient_id(source, "source"), _patient_id(target, "target")
        src = platform.read("Patient", sid).resource
        if target not in _merged_into(src):
            raise error("CH-9503", f"{source} is no longer merged into {target}")
        restored = 0
        for versioned in targets[2:]:
            rtype, rid = versioned.split("/")[:2]
            current = platform.read(rtype, rid)
            body, n = repoint(body_for_update(current.resource), target, source)
            if n:
                platform.update(rtype, rid, body)
                restored += 1
        src_body = remove_links(src, target)
        src_body["active"] = True
        platform.update("Patient", sid, src_body)
        platform.update(
            "Patient", tid, remove_links(platform.read("Patient", tid).resource, source)
        )
        undo = platform.create(
            _provenance(repo, "unmerge", [source, target], f"Provenance/{provenance_id}", reason)
        )
    record_decision(repo, source, [source, target], f"unmerge {source} from {target}: {reason}")
    return MergeResult(undo.id, restored)


def _provenance(
    repo: Repository, activity: str, targets: list[str], entity: str, reason: str
) -> dict[str, Any]:
    caller = repo.caller
    who: dict[str, Any] = {"display": caller.display or caller.key}
    practitioner = next((a for a in caller.actors if a.startswith("Practitioner/")), None)
    if practitioner:
        who["reference"] = practitioner
    agent: dict[str, Any] = {"who": who}
    if caller.organization:
        agent["onBehalfOf"] = {"reference": caller.organization}
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": format_instant(repo.store.clock.now_us()),
        "activity": {"coding": [{"system": LIFECYCLE, "code": activity}]},
        "agent": [agent],
        "entity": [{"role": "source", "what": {"reference": entity}}],
    }
    if reason:
        provenance["reason"] = [{"text": reason[:500]}]
    return provenance
