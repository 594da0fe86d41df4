"""Small readers shared by the administration pages: codings by system, organisation labels
(names come from :func:`countyhealth.records.organization_names`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: Code systems are matched by the end of their URL, so that a county's own base URL works too.
FACILITY_TYPE = "/facility-type"
FACILITY_LEVEL = "/facility-level"
DEPARTMENT = "/department"
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def coding(concepts: Iterable[dict[str, Any]] | None, system_suffix: str) -> dict[str, str] | None:
    """The first coding of ``concepts`` whose system ends with ``system_suffix``, as
    ``{"code", "display"}``."""
    for concept in concepts or ():
        for c in concept.get("coding") or ():
            if str(c.get("system", "")).endswith(system_suffix) and c.get("code"):
                return {"code": str(c["code"]), "display": str(c.get("display") or c["code"])}
    return None


def organization_label(reference: str | None, names: dict[str, str]) -> dict[str, Any] | None:
    """``{"reference", "id", "name"}`` of an organisation reference (id None when the
    reference is not ``Organization/<id>``; the name is the reference when unknown)."""
    if not reference:
        return None
    kind, _, rid = reference.partition("/")
    ok = kind == "Organization" and bool(_ID.match(rid))
    return {
        "reference": reference,
        "id": rid if ok else None,
        "name": names.get(reference) or reference,
    }
