"""The consulting rooms of an organisation (one per bookable department, see :mod:`.slots`)."""

from __future__ import annotations

from typing import Any

from ..records.query import find
from ..store import Repository


def rooms_of(repo: Repository, organization: str) -> list[dict[str, Any]]:
    """Rooms (Location, physical type ``ro``) managed by ``organization``, by name."""
    found = find(
        repo,
        "Location",
        [("organization", organization), ("type:missing", "true"), ("_sort", "name")],
        count=500,
    )
    rooms = [
        {"id": r["id"], "reference": f"Location/{r['id']}", "name": r.get("name") or r["id"]}
        for r in found.resources
        if str(r["id"]).startswith("room-")
    ]
    return sorted(rooms, key=lambda r: str(r["name"]))
