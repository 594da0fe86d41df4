"""Recent activity for a role's home page: visits at the caller's organisation, new diagnoses."""

from __future__ import annotations

from typing import Any

from ..store import Repository
from .display import concept, concepts, reference_id, when
from .query import find


def recent_encounters(
    repo: Repository, organization: str | None, *, count: int = 10, emergency: bool = False
) -> list[dict[str, Any]]:
    """The newest encounters at ``organization`` (``Organization/id``) the caller may see."""
    if not repo.caller.scopes.allows("Encounter", "search-type"):
        return []
    params: list[tuple[str, str]] = [("_sort", "-date")]
    if organization:
        params.append(("service-provider", organization))
    if emergency:
        params.append(("class", "EMER"))
    found = find(repo, "Encounter", params, count=count)
    return [
        {
            "id": e["id"],
            "patient": reference_id(e.get("subject"), "Patient"),
            "patientName": (e.get("subject") or {}).get("display") or "",
            "start": when(e, "period"),
            "type": concepts(e.get("type")),
            "service": concept(e.get("serviceType")),
            "status": e.get("status"),
        }
        for e in found.resources
    ]


def recent_conditions(repo: Repository, *, count: int = 10) -> list[dict[str, Any]]:
    """The newest recorded conditions the caller may see (public-health watch list)."""
    if not repo.caller.scopes.allows("Condition", "search-type"):
        return []
    found = find(repo, "Condition", [("_sort", "-recorded-date")], count=count)
    return [
        {
            "id": c["id"],
            "patient": reference_id(c.get("subject"), "Patient"),
            "patientName": (c.get("subject") or {}).get("display") or "",
            "text": concept(c.get("code")),
            "recorded": when(c, "recordedDate", "onsetDateTime"),
        }
        for c in found.resources
    ]
