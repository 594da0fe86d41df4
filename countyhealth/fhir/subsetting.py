"""``_summary`` and ``_elements``: returning part of a resource (https://hl7.org/fhir/R4/search.html#summary).

A subsetted resource carries the ``SUBSETTED`` tag of
http://terminology.hl7.org/CodeSystem/v3-ObservationValue in ``meta.tag``. Subsetting works on
the top-level elements of the resource: ``_summary=true`` keeps those the R4 definitions mark as
summary elements, ``text`` keeps the narrative and mandatory elements, ``data`` drops the
narrative, and ``_elements`` keeps the named elements plus mandatory ones.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from . import definitions

_SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
_ALWAYS = ("resourceType", "id", "meta")


@cache
def _top_level(rtype: str) -> tuple[frozenset[str], frozenset[str]]:
    """(summary element names, mandatory element names) of a resource type; choice elements
    are kept by their stem (``value`` for ``value[x]``)."""
    summary, mandatory = set(), set()
    for element in definitions.structure(rtype)["elements"]:
        path = element["path"]
        if path.count(".") != 1:
            continue
        name = path.split(".", 1)[1].removesuffix("[x]")
        if element.get("summary"):
            summary.add(name)
        if element.get("min", 0) >= 1:
            mandatory.add(name)
    return frozenset(summary), frozenset(mandatory)


def _stem(key: str) -> str:
    key = key.lstrip("_")
    for i, ch in enumerate(key):
        if ch.isupper():
            return key[:i]
    return key


def subset(
    resource: dict[str, Any], summary: str | None, elements: tuple[str, ...]
) -> dict[str, Any]:
    """The part of ``resource`` to return for ``_summary`` / ``_elements``."""
    if summary in (None, "false") and not elements:
        return resource
    rtype = resource["resourceType"]
    summary_names, mandatory = _top_level(rtype)
    if summary == "data":
        out = {k: v for k, v in resource.items() if k != "text"}
    else:
        if summary == "true":
            keep = summary_names | mandatory
        elif summary == "text":
            keep = frozenset({"text"}) | mandatory
        else:
            keep = frozenset(elements) | mandatory
        out = {
            k: v
            for k, v in resource.items()
            if k in _ALWAYS or k.lstrip("_") in keep or _stem(k) in keep
        }
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), _SUBSETTED]
    out["meta"] = meta
    return out
