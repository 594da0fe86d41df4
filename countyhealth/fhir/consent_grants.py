"""What an R4 Consent permits, as access-grant rows (https://hl7.org/fhir/R4/consent.html).

A privacy Consent (``scope`` patient-privacy or treatment) with ``status`` active and a
top-level ``provision`` of type ``permit`` grants each ``provision.actor`` (an Organization,
Practitioner or PractitionerRole reference) access to the records of ``Consent.patient``:
for the resource types in ``provision.class`` (system ``http://hl7.org/fhir/resource-types``;
none means every type), during ``provision.period`` (open ends are unbounded). When
``provision.action`` is given it must include ``access``, ``use`` or ``disclose``
(consentaction). Nested provisions are not interpreted: a Consent that carries them grants
nothing, so that a deny exception is never read as a permit. Anything else grants nothing:
a revoked (inactive), rejected or entered-in-error Consent, or one whose period has passed,
takes effect in the same transaction as its update.

The rows are stored like index rows (table ``access_grant``, param ``_grant``), so every write
path — single writes, Bundles, bulk import, reindex — keeps them in step with the Consent.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .instant import parse_period
from .systems import CONSENT_ACTION, CONSENT_SCOPE, CUSTODIAN, RESOURCE_TYPES

GRANT_PARAM = "_grant"
FOREVER_US = 2**62
GRANTEE_TYPES = ("Organization", "Practitioner", "PractitionerRole")
_PRIVACY_SCOPES = frozenset({"patient-privacy", "treatment"})
_READ_ACTIONS = frozenset({"access", "use", "disclose"})


def consent_grants(consent: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``access_grant`` rows of a Consent (without res_pk/res_type)."""
    if consent.get("status") != "active":
        return []
    patient = local_id(consent.get("patient"), "Patient")
    provision = consent.get("provision")
    if patient is None or not isinstance(provision, dict) or not _is_privacy(consent):
        return []
    if provision.get("type") != "permit" or provision.get("provision"):
        return []
    actions = _codes(provision.get("action"), CONSENT_ACTION)
    if provision.get("action") and not actions & _READ_ACTIONS:
        return []
    low, high = period_bounds(provision.get("period"))
    grantees = grantees_of(provision)
    types: list[str | None] = [*sorted(_class_types(provision))] or [None]
    return [
        {
            "param": GRANT_PARAM,
            "patient_id": patient,
            "grantee": grantee,
            "scope_type": rtype,
            "valid_from_us": low,
            "valid_to_us": high,
        }
        for grantee in grantees
        for rtype in types
    ]


def grantees_of(provision: dict[str, Any]) -> list[str]:
    """``Type/id`` of every actor the provision names that can be a grantee."""
    found: list[str] = []
    for actor in provision.get("actor") or []:
        ref = actor.get("reference") if isinstance(actor, dict) else None
        text = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(text, str):
            continue
        rtype, _, rid = text.partition("/")
        if rtype in GRANTEE_TYPES and rid and "/" not in rid and text not in found:
            found.append(text)
    return found


def period_bounds(period: Any) -> tuple[int, int]:
    """[start, end) of a Period in microseconds; open or unreadable ends are unbounded."""
    low, high = 0, FOREVER_US
    if isinstance(period, dict):
        start, end = period.get("start"), period.get("end")
        if isinstance(start, str):
            with contextlib.suppress(ValueError):
                low = parse_period(start)[0]
        if isinstance(end, str):
            with contextlib.suppress(ValueError):
                high = parse_period(end)[1] + 1
    return low, high


def local_id(ref: Any, rtype: str) -> str | None:
    """The id of a relative reference ``rtype/id`` held in a Reference, else None."""
    text = ref.get("reference") if isinstance(ref, dict) else None
    if isinstance(text, str) and text.startswith(f"{rtype}/"):
        rid = text[len(rtype) + 1 :]
        if rid and "/" not in rid:
            return rid
    return None


def custodian_of(resource: dict[str, Any]) -> str | None:
    """``Organization/id`` of the organisation that recorded ``resource`` (its custodian tag)."""
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    for tag in tags or []:
        if isinstance(tag, dict) and tag.get("system") == CUSTODIAN and tag.get("code"):
            return f"Organization/{tag['code']}"
    return None


def with_custodian(resource: dict[str, Any], organization: str, display: str | None = None) -> None:
    """Set the custodian tag of ``resource`` (in place) to ``Organization/id``."""
    meta = resource.setdefault("meta", {})
    tags = [
        t
        for t in meta.get("tag") or []
        if not (isinstance(t, dict) and t.get("system") == CUSTODIAN)
    ]
    tag: dict[str, Any] = {"system": CUSTODIAN, "code": organization.removeprefix("Organization/")}
    if display:
        tag["display"] = display
    tags.append(tag)
    meta["tag"] = tags


def _is_privacy(consent: dict[str, Any]) -> bool:
    return bool(_codes([consent.get("scope")], CONSENT_SCOPE) & _PRIVACY_SCOPES)


def _codes(concepts: Any, system: str) -> set[str]:
    found: set[str] = set()
    for concept in concepts or []:
        for coding in (concept.get("coding") if isinstance(concept, dict) else None) or []:
            if isinstance(coding, dict) and coding.get("system") == system and coding.get("code"):
                found.add(str(coding["code"]))
    return found


def _class_types(provision: dict[str, Any]) -> set[str]:
    return {
        str(c["code"])
        for c in provision.get("class") or []
        if isinstance(c, dict) and c.get("system") == RESOURCE_TYPES and c.get("code")
    }
