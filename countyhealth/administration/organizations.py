"""The member organisations of the 医共体 as the health bureau sees them: a filtered, paged
list and one organisation's facts.

Organisations are FHIR ``Organization`` resources read through the caller's Repository
(https://hl7.org/fhir/R4/organization.html). Their kind and grade are codings of
``Organization.type`` in the project's ``facility-type`` and ``facility-level`` code systems;
``partOf`` names the parent (a township health centre for a village clinic, the 医共体 for
its hospitals). Lists are in pinyin order (the ``phonetic`` search parameter), the order
Chinese readers expect of a register.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..errors import OperationOutcomeError
from ..fhir import systems
from ..fhir.search_request import parse_search
from ..records import organization_names
from ..records.display import reference_id
from ..records.query import find
from ..store import Repository
from .departments import list_departments
from .forms import Problem, raise_if
from .lookup import FACILITY_LEVEL, FACILITY_TYPE, coding

PAGE_SIZE = 50
#: Organisations read to offer the facility-type filter (the demo county has about 185).
_TYPE_SCAN = 1000
_CODE = re.compile(r"^[A-Za-z0-9.\-]{1,64}$")
_ESCAPED = re.compile(r"([\\,$|])")


@dataclass(frozen=True, slots=True)
class OrganizationQuery:
    """The list's filters: name text, a facility-type code, a parent organisation id, and
    the page link of the search (``_page``)."""

    text: str = ""
    facility_type: str = ""
    parent: str = ""
    page: str = ""

    def problems(self) -> list[Problem]:
        found = []
        if self.facility_type and not _CODE.match(self.facility_type):
            found.append(Problem("type", "invalid", {"detail": "not a facility-type code"}))
        if self.parent and not _CODE.match(self.parent):
            found.append(Problem("parent", "invalid", {"detail": "not an Organization id"}))
        return found

    def to_json(self) -> dict[str, str]:
        return {"q": self.text, "type": self.facility_type, "parent": self.parent}


def _escape(value: str) -> str:
    """A search value with FHIR's reserved characters escaped (search.html#escaping)."""
    return _ESCAPED.sub(r"\\\1", value)


def organization_row(org: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One line of the list: name, kind, grade, parent, active."""
    parent = reference_id(org.get("partOf"), "Organization")
    return {
        "id": org["id"],
        "name": str(org.get("name") or org["id"]),
        "facilityType": coding(org.get("type"), FACILITY_TYPE),
        "facilityLevel": coding(org.get("type"), FACILITY_LEVEL),
        "parent": (
            {
                "id": parent,
                "name": names.get(parent) or (org.get("partOf") or {}).get("display") or parent,
            }
            if parent
            else None
        ),
        "active": org.get("active", True) is not False,
    }


def facility_types(repo: Repository) -> list[dict[str, Any]]:
    """The facility types the county's organisations have, with how many of each."""
    counts: Counter[str] = Counter()
    displays: dict[str, str] = {}
    for org in find(repo, "Organization", [], count=_TYPE_SCAN).resources:
        kind = coding(org.get("type"), FACILITY_TYPE)
        if kind:
            counts[kind["code"]] += 1
            displays.setdefault(kind["code"], kind["display"])
    return [
        {"code": code, "display": displays[code], "count": counts[code]} for code in sorted(counts)
    ]


def list_organizations(
    repo: Repository, query: OrganizationQuery, *, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """One page of organisations matching ``query``, in pinyin order, with their parents' names.

    Raises:
        FormInvalid: a filter that is not a code or id.
        OperationOutcomeError: CH-6009 for a page link of another search.
    """
    raise_if(query.problems())
    params: list[tuple[str, str]] = [
        ("_sort", "phonetic"),
        ("_total", "accurate"),
    ]
    if query.text:
        params.append(("name:contains", _escape(query.text)))
    if query.facility_type:
        params.append(("type", f"{systems.FACILITY_TYPE}|{query.facility_type}"))
    if query.parent:
        params.append(("partof", f"Organization/{query.parent}"))
    if query.page:
        params.append(("_page", query.page))
    page = _search_page(repo, params, page_size)
    # The parents by _id rather than _include: one search either way, and on a county
    # database _include=Organization:partof is the slower plan (≈170 ms against ≈1 ms).
    parents = organization_names(
        repo, (o.get("partOf", {}).get("reference") for o in page["entries"])
    )
    names = {ref.removeprefix("Organization/"): name for ref, name in parents.items()}
    parent = None
    if query.parent:
        parent = {"id": query.parent, "name": _name_of(repo, query.parent)}
    return {
        "query": query.to_json(),
        "organizations": [organization_row(o, names) for o in page["entries"]],
        "total": page["total"],
        "next": page["next"],
        "previous": page["previous"],
        "facilityTypes": facility_types(repo),
        "parent": parent,
        "pageSize": page_size,
    }


def _search_page(repo: Repository, params: list[tuple[str, str]], count: int) -> dict[str, Any]:
    """One page of an Organization search with its page links."""
    query = [*params, ("_count", str(count))]
    req = parse_search(("Organization",), query, default_count=count, max_count=max(count, 1))
    text = "&".join(f"{k}={v}" for k, v in query if k != "_page")
    result = repo.search(req, query_string=f"Organization?{text}")
    return {
        "entries": [s.resource for s in result.entries],
        "total": result.total,
        "next": result.next_page,
        "previous": result.previous_page,
    }


def _name_of(repo: Repository, org_id: str) -> str | None:
    try:
        return str(repo.read("Organization", org_id).resource.get("name") or org_id)
    except OperationOutcomeError:
        return None


def _address(org: dict[str, Any]) -> str:
    for address in org.get("address") or ():
        if address.get("text"):
            return str(address["text"])
        parts = [address.get(k) for k in ("state", "city", "district")]
        parts += list(address.get("line") or ())
        text = "".join(str(p) for p in parts if p)
        if text:
            return text
    return ""


def organization_detail(repo: Repository, org_id: str) -> dict[str, Any]:
    """An organisation's facts, its departments and how many organisations it has under it.

    Raises:
        OperationOutcomeError: 404/410 for an unknown or deleted organisation.
    """
    stored = repo.read("Organization", org_id)
    org = stored.resource
    parent_id = reference_id(org.get("partOf"), "Organization")
    names = {parent_id: _name_of(repo, parent_id) or parent_id} if parent_id else {}
    members = find(
        repo, "Organization", [("partof", f"Organization/{org_id}"), ("_summary", "count")], count=0
    ).total
    return {
        "organization": {
            **organization_row(org, names),
            "licence": next(
                (
                    str(i.get("value"))
                    for i in org.get("identifier") or ()
                    if i.get("system") == systems.FACILITY_LICENCE
                ),
                None,
            ),
            "address": _address(org),
            "phone": next(
                (
                    str(t.get("value"))
                    for t in org.get("telecom") or ()
                    if t.get("system") == "phone" and t.get("value")
                ),
                None,
            ),
            "version": stored.version,
            "lastUpdated": stored.last_updated,
            "members": members or 0,
        },
        "departments": list_departments(repo, org_id),
        "canEdit": repo.caller.scopes.allows("HealthcareService", "create")
        and repo.caller.scopes.allows("HealthcareService", "update"),
    }
