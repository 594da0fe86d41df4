"""Links between Patient records of one person (R4 ``Patient.link``).

https://hl7.org/fhir/R4/patient-definitions.html#Patient.link: ``seealso`` joins two records
that both stay in use (the person was registered at two institutions and the steward — or a
certain batch match — confirmed it); ``replaced-by`` / ``replaces`` mark a merge (see
:mod:`.merge`). Links are written on both records in one transaction.
"""

from __future__ import annotations

from typing import Any

from ..store import Repository


def _links(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return list(resource.get("link") or [])


def link_targets(resource: dict[str, Any], kind: str | None = None) -> list[str]:
    """The references ``resource`` links to (of one ``kind`` when given)."""
    return [
        str((link.get("other") or {}).get("reference"))
        for link in _links(resource)
        if kind is None or link.get("type") == kind
    ]


def linked(repo: Repository, a: str, b: str) -> bool:
    """Whether record ``a`` already links to ``b`` (any link type)."""
    rtype, rid = a.split("/", 1)
    return b in link_targets(repo.elevated().read(rtype, rid).resource)


def body_for_update(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy to PUT back: server-managed ``meta`` dropped except tags and security labels."""
    body = dict(resource)
    meta = body.pop("meta", None) or {}
    kept = {k: v for k, v in meta.items() if k in ("tag", "security", "profile")}
    if kept:
        body["meta"] = kept
    return body


def add_link(resource: dict[str, Any], other: str, kind: str) -> dict[str, Any]:
    body = body_for_update(resource)
    body["link"] = [*_links(resource), {"other": {"reference": other}, "type": kind}]
    return body


def remove_links(resource: dict[str, Any], other: str) -> dict[str, Any]:
    body = body_for_update(resource)
    kept = [k for k in _links(resource) if (k.get("other") or {}).get("reference") != other]
    if kept:
        body["link"] = kept
    else:
        body.pop("link", None)
    return body


def link_patients(repo: Repository, a: str, b: str, *, reason: str) -> bool:
    """Link ``a`` and ``b`` as ``seealso`` both ways; False when they are already linked.

    ``reason`` goes to the audit trail beside the two updates.
    """
    platform = repo.elevated()
    with platform.transaction():
        first = platform.read("Patient", a.split("/", 1)[1]).resource
        if b in link_targets(first):
            return False
        second = platform.read("Patient", b.split("/", 1)[1]).resource
        platform.update("Patient", str(first["id"]), add_link(first, b, "seealso"))
        if a not in link_targets(second):
            platform.update("Patient", str(second["id"]), add_link(second, a, "seealso"))
    record_decision(repo, a, [a, b], f"link seealso: {reason}")
    return True


def record_decision(repo: Repository, entity: str, patients: list[str], detail: str) -> None:
    """An AuditEvent of an identity decision (link, merge, unmerge) by the caller, naming
    both records, so each resident sees it in their access log."""
    ids = [p.split("/", 1)[1] for p in patients]
    event = repo.audit_event("operation", 200, entity, ids, detail=detail[:500])
    repo.store.audit.record([event])
