"""Consents as a resident reads them: who may see what, until when; and whom they can choose.

The grantee is shown by name (the Organization or Practitioner is read through the caller's
Repository; what cannot be read stays a reference), the shared part of the record by its
category (``data/categories.json``) when the Consent's classes are exactly one category's.
"""

from __future__ import annotations

from typing import Any

from ..errors import OperationOutcomeError
from ..fhir.search_request import parse_search
from ..records import organization_names
from ..store import Repository, Stored
from .categories import categories

#: Organisations a resident may choose from (the county's whole directory fits).
DIRECTORY_SIZE = 1000


def consent_summary(stored: Stored) -> dict[str, Any]:
    """The parts of a Consent a person needs: grantees, shared types, period, status."""
    c = stored.resource
    provision = c.get("provision") or {}
    actors = [a.get("reference", {}).get("reference") for a in provision.get("actor") or []]
    return {
        "id": stored.id,
        "status": c.get("status"),
        "patient": (c.get("patient") or {}).get("reference"),
        "grantees": actors,
        "types": [x.get("code") for x in provision.get("class") or []],
        "period": provision.get("period"),
        "recorded": c.get("dateTime"),
    }


def category_of(types: list[str]) -> str | None:
    """The category whose types are exactly ``types`` (``all`` for none), else None."""
    wanted = set(types)
    for code, cat in categories().items():
        if set(cat.types) == wanted:
            return code
    return None


def _names(repo: Repository, references: set[str]) -> dict[str, str]:
    names = organization_names(repo, references)
    for ref in references - set(names):
        rtype, _, rid = ref.partition("/")
        try:
            found = repo.read(rtype, rid).resource
        except OperationOutcomeError:
            continue
        name = found.get("name")
        if isinstance(name, list) and name:
            name = name[0].get("text") or (name[0].get("family") or "") + "".join(
                name[0].get("given") or []
            )
        if isinstance(name, str) and name:
            names[ref] = name
    return names


def consent_rows(repo: Repository, consents: list[Stored]) -> list[dict[str, Any]]:
    """Summaries of ``consents`` with grantee names and the category code."""
    summaries = [consent_summary(s) for s in consents]
    names = _names(repo, {g for s in summaries for g in s["grantees"] if g})
    for s in summaries:
        s["grantees"] = [{"reference": g, "name": names.get(g, g)} for g in s["grantees"] if g]
        s["category"] = category_of(s["types"])
    return summaries


def organisation_directory(repo: Repository) -> list[dict[str, Any]]:
    """Active organisations of the 医共体 that can be granted access, by name."""
    req = parse_search(
        ("Organization",),
        [("active", "true"), ("_sort", "name"), ("_count", str(DIRECTORY_SIZE))],
        max_count=DIRECTORY_SIZE,
    )
    page = repo.search(req, query_string="Organization?active=true&_sort=name")
    directory = []
    for s in page.entries:
        kinds = [
            c.get("code")
            for t in s.resource.get("type") or []
            for c in t.get("coding") or []
            if str(c.get("system", "")).endswith("/facility-type")
        ]
        if "health-bureau" in kinds or "medical-community" in kinds:
            continue  # not places that treat patients
        directory.append({"reference": f"Organization/{s.id}", "name": s.resource.get("name")})
    return directory
