"""The server-owned part of a stored resource: id and ``meta.versionId``/``lastUpdated``."""

from __future__ import annotations

from typing import Any

from ..errors import error


def with_meta(body: dict[str, Any], rid: str, version_id: int, last_updated: str) -> dict[str, Any]:
    """The document to store: resourceType, id and meta first, then the client's elements.

    ``meta.versionId`` and ``meta.lastUpdated`` belong to the server
    (https://hl7.org/fhir/R4/resource.html#Meta); whatever the client sent is replaced.
    """
    meta = dict(body.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = last_updated
    document: dict[str, Any] = {"resourceType": body["resourceType"], "id": rid, "meta": meta}
    for key, value in body.items():
        if key not in document:
            document[key] = value
    return document


_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")


def check_id(rid: str) -> None:
    """R4 ids: 1–64 characters of ``[A-Za-z0-9\\-\\.]`` (https://hl7.org/fhir/R4/datatypes.html#id)."""
    if not (0 < len(rid) <= 64) or not set(rid) <= _ID_CHARS:
        raise error(
            "CH-2007", f"{rid[:80]!r} is not a valid resource id: use 1–64 of A–Z a–z 0–9 - ."
        )
