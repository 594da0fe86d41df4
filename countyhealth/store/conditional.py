"""Conditional create, update and delete (https://hl7.org/fhir/R4/http.html#cond-update).

The match and the write happen in one write transaction, serialised per criteria (SQLite's
single writer; a PostgreSQL advisory lock), so two clients that conditionally create the same
patient at once get one Patient, not two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import error

if TYPE_CHECKING:
    from .repository import Repository
    from .stored import Stored


def _multiple(rtype: str, criteria: list[tuple[str, str]]) -> Exception:
    query = "&".join(f"{k}={v}" for k, v in criteria)
    return error("CH-2015", f"{rtype}?{query} matches more than one resource; be more specific")


def conditional_create(
    repo: Repository, body: dict[str, Any], criteria: list[tuple[str, str]]
) -> tuple[Stored, bool]:
    """create with If-None-Exist: no match → create (True); one match → that one (False)."""
    rtype = body.get("resourceType") if isinstance(body, dict) else None
    if not isinstance(rtype, str):
        raise error("CH-2004", "the body has no resourceType", "resourceType")
    with repo.transaction():
        found = repo.matches(rtype, criteria)
        if len(found) > 1:
            raise _multiple(rtype, criteria)
        if found:
            return repo.read(rtype, found[0].id), False
        return repo.create(body), True


def conditional_update(
    repo: Repository,
    rtype: str,
    criteria: list[tuple[str, str]],
    body: dict[str, Any],
    if_match: int | None = None,
) -> tuple[Stored, bool]:
    """update by criteria: no match → create (with the body's id, if any); one → update it."""
    with repo.transaction():
        found = repo.matches(rtype, criteria)
        if len(found) > 1:
            raise _multiple(rtype, criteria)
        if found:
            target = found[0].id
            if "id" in body and body["id"] != target:
                raise error(
                    "CH-2016",
                    f"the criteria match {rtype}/{target}, the body says "
                    f"{rtype}/{str(body['id'])[:64]}",
                    f"{rtype}.id",
                )
            return repo.update(rtype, target, {**body, "id": target}, if_match)
        if "id" in body and isinstance(body["id"], str):
            return repo.update(rtype, body["id"], body, if_match)
        if if_match is not None:
            raise error("CH-2008", f"no {rtype} matches the criteria; If-Match cannot hold")
        return repo.create(body), True


def conditional_delete(
    repo: Repository, rtype: str, criteria: list[tuple[str, str]]
) -> Stored | None:
    """delete by criteria: no match → nothing; one match → delete it; several → 412."""
    with repo.transaction():
        found = repo.matches(rtype, criteria)
        if len(found) > 1:
            raise _multiple(rtype, criteria)
        return repo.delete(rtype, found[0].id) if found else None
