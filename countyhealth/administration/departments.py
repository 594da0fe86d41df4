"""Departments (科室) of an organisation: FHIR ``HealthcareService`` resources whose
``providedBy`` is the organisation and whose ``type`` is a coding of the project's
``department`` code system (诊疗科目, after 《医疗机构诊疗科目名录》).

See https://hl7.org/fhir/R4/healthcareservice.html. A department is never deleted from the
bureau's pages: it is deactivated (``active = false``), so that the visits and staff that
refer to it keep a readable target, and it can be reactivated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import not_found
from ..fhir import systems
from ..records.display import reference_id
from ..records.query import find
from ..store import Repository
from .forms import Problem, raise_if
from .lookup import DEPARTMENT, coding

#: More departments than any member organisation has (the county hospital has about 25).
MAX_DEPARTMENTS = 200
#: HealthcareServices read to suggest department codes and their names.
_CODE_SCAN = 1000
NAME_MAX = 200
DISPLAY_MAX = 100
_DEPARTMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")


def _clean(text: str) -> str:
    return " ".join((text or "").split())


@dataclass(frozen=True, slots=True)
class DepartmentForm:
    """A new department: its name, its 诊疗科目 code and that code's display, active or not.

    An empty display is taken from another department of the county with the same code.
    """

    name: str
    code: str
    code_display: str = ""
    active: bool = True

    @classmethod
    def of(
        cls, name: str, code: str, code_display: str = "", active: bool = True
    ) -> DepartmentForm:
        return cls(_clean(name), _clean(code), _clean(code_display), active)

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not self.name:
            found.append(Problem("name", "required"))
        elif len(self.name) > NAME_MAX:
            found.append(Problem("name", "long", {"max": str(NAME_MAX)}))
        if not self.code:
            found.append(Problem("code", "required"))
        elif not _DEPARTMENT_CODE.match(self.code):
            found.append(Problem("code", "shape"))
        if len(self.code_display) > DISPLAY_MAX:
            found.append(Problem("codeDisplay", "long", {"max": str(DISPLAY_MAX)}))
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "code": self.code,
            "codeDisplay": self.code_display,
            "active": self.active,
        }


def department_row(service: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    row = {
        "id": service["id"],
        "name": str(service.get("name") or service["id"]),
        "department": coding(service.get("type"), DEPARTMENT),
        "active": service.get("active", True) is not False,
    }
    if version is not None:
        row["version"] = version
    return row


def list_departments(repo: Repository, org_id: str) -> list[dict[str, Any]]:
    """The organisation's departments, active or not, in the order of their codes."""
    found = find(
        repo,
        "HealthcareService",
        [("organization", f"Organization/{org_id}")],
        count=MAX_DEPARTMENTS,
    )
    rows = [department_row(s) for s in found.resources]
    return sorted(rows, key=lambda r: ((r["department"] or {}).get("code", "~"), r["name"]))


def department_codes(repo: Repository) -> list[dict[str, str]]:
    """The department codes the county's services use, with their displays, by code."""
    codes: dict[str, str] = {}
    for service in find(repo, "HealthcareService", [], count=_CODE_SCAN).resources:
        found = coding(service.get("type"), DEPARTMENT)
        if found:
            codes.setdefault(found["code"], found["display"])
    return [{"code": c, "display": codes[c]} for c in sorted(codes)]


def add_department(repo: Repository, org_id: str, form: DepartmentForm) -> dict[str, Any]:
    """Create a HealthcareService for ``form`` provided by ``Organization/org_id``.

    Raises:
        FormInvalid: what is wrong with the form (nothing is written).
        OperationOutcomeError: 404 for an unknown organisation, 403 without the scope.
    """
    problems = form.problems()
    display = form.code_display
    if not problems and not display:
        known = {c["code"]: c["display"] for c in department_codes(repo)}
        display = known.get(form.code, "")
        if not display:
            problems.append(Problem("codeDisplay", "required", {"code": form.code}))
    raise_if(problems)
    org = repo.read("Organization", org_id).resource
    body: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "active": form.active,
        "providedBy": {
            "reference": f"Organization/{org_id}",
            "display": str(org.get("name") or org_id),
        },
        "type": [
            {
                "coding": [{"system": systems.DEPARTMENT, "code": form.code, "display": display}],
                "text": display,
            }
        ],
        "name": form.name,
    }
    stored = repo.create(body)
    return department_row(stored.resource, stored.version)


def set_department_active(
    repo: Repository, org_id: str, service_id: str, active: bool
) -> dict[str, Any]:
    """Deactivate or reactivate a department of ``Organization/org_id`` (a new version when
    the flag changes; none when it is already so).

    Raises:
        OperationOutcomeError: 404 when the service is unknown or belongs to another
            organisation; 412 when it changed meanwhile (CH-2008).
    """
    stored = repo.read("HealthcareService", service_id)
    service = stored.resource
    if reference_id(service.get("providedBy"), "Organization") != org_id:
        raise not_found("HealthcareService", service_id)
    if (service.get("active", True) is not False) == active:
        return department_row(service, stored.version)
    body = {k: v for k, v in service.items() if k != "meta"}
    body["active"] = active
    updated, _ = repo.update("HealthcareService", service_id, body, if_match=stored.version)
    return department_row(updated.resource, updated.version)
