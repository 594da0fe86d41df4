"""Small builders of FHIR R4 data types (https://hl7.org/fhir/R4/datatypes.html).

Times are local to the county (China Standard Time, +08:00) and built from a date and a
minute of the day, so that generating them costs no time-zone arithmetic.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from ..fhir import systems

TZ = "+08:00"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    """A CodeableConcept with one coding (and ``text`` when given)."""
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def concepts(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with several codings."""
    out: dict[str, Any] = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def ref(reference: str, display: str | None = None) -> dict[str, Any]:
    """A literal relative reference ``Type/id``."""
    out: dict[str, Any] = {"reference": reference}
    if display:
        out["display"] = display
    return out


def quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    """A UCUM Quantity."""
    return {"value": value, "unit": unit, "system": systems.UCUM, "code": code or unit}


def when(day: date, minute: int) -> str:
    """A dateTime ``minute`` minutes after local midnight of ``day`` (later days roll over)."""
    if minute >= 1440:
        day, minute = day + timedelta(days=minute // 1440), minute % 1440
    minute = max(0, minute)
    return f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00{TZ}"


def period(day: date, start_minute: int, end_day: date | None, end_minute: int) -> dict[str, str]:
    return {"start": when(day, start_minute), "end": when(end_day or day, end_minute)}


def geojson_attachment(geometry: bytes) -> dict[str, Any]:
    """An Attachment holding a GeoJSON document."""
    return {"contentType": "application/geo+json", "data": base64.b64encode(geometry).decode()}


def geolocation(longitude: float, latitude: float) -> dict[str, Any]:
    """The official geolocation extension of an Address."""
    return {
        "url": systems.GEOLOCATION,
        "extension": [
            {"url": "latitude", "valueDecimal": round(latitude, 6)},
            {"url": "longitude", "valueDecimal": round(longitude, 6)},
        ],
    }
