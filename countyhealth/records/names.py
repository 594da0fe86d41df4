"""Names of organisations for people: one search by ``_id`` per hundred references."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..store import Repository
from .query import find

#: ``_id`` takes at most this many values in one search (fhir.search_request.MAX_VALUES).
_ID_BATCH = 100
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def organization_names(repo: Repository, references: Iterable[str | None]) -> dict[str, str]:
    """``Organization/id`` → name, for the references that name a readable organisation."""
    ids = sorted(
        {
            r.split("/", 1)[1]
            for r in references
            if r and r.startswith("Organization/") and _ID.match(r.split("/", 1)[1])
        }
    )
    names: dict[str, str] = {}
    for start in range(0, len(ids), _ID_BATCH):
        batch = ",".join(ids[start : start + _ID_BATCH])
        for org in find(repo, "Organization", [("_id", batch)], count=_ID_BATCH).resources:
            names[f"Organization/{org['id']}"] = str(org.get("name") or org["id"])
    return names
