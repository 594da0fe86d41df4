"""The departments residents can book, by 诊疗科目 code, with their display names."""

from __future__ import annotations

from datetime import date

from ..fhir import systems
from ..store import Repository
from .slots import departments


def department_names(repo: Repository, on: date) -> list[dict[str, str]]:
    """Bookable department codes of the county and a display name each, by code."""
    names: dict[str, str] = {}
    for department in departments(repo, on):
        for concept in department.service.get("type") or []:
            for coding in concept.get("coding") or []:
                if coding.get("system") == systems.DEPARTMENT and coding.get("code"):
                    names.setdefault(str(coding["code"]), str(coding.get("display") or ""))
    return [{"code": c, "name": names[c] or c} for c in sorted(names)]
