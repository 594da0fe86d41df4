"""How a stored Slot stands in the pool: released yet, reserved for a share, free or taken."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..fhir import systems
from .calendar import parse_datetime


@dataclass(frozen=True, slots=True)
class PoolSlot:
    """A Slot read for booking (https://hl7.org/fhir/R4/slot.html)."""

    id: str
    version: int
    status: str
    start: datetime
    end: datetime
    schedule: str
    number: str
    release: datetime | None
    reserved_pool: str | None
    reserved_until: datetime | None
    holder: str | None
    resource: dict[str, Any]

    @classmethod
    def of(cls, resource: dict[str, Any], version: int) -> PoolSlot:
        release = reserved_pool = reserved_until = holder = None
        for ext in resource.get("extension") or []:
            if ext.get("url") == systems.EXT_SLOT_HOLDER:
                holder = ext.get("valueString")
            elif ext.get("url") == systems.EXT_SLOT_RELEASE and ext.get("valueDateTime"):
                release = parse_datetime(ext["valueDateTime"])
            elif ext.get("url") == systems.EXT_SLOT_RESERVATION:
                for part in ext.get("extension") or []:
                    if part.get("url") == "pool":
                        reserved_pool = part.get("valueCode")
                    elif part.get("url") == "until" and part.get("valueDateTime"):
                        reserved_until = parse_datetime(part["valueDateTime"])
        number = next(
            (
                str(i.get("value"))
                for i in resource.get("identifier") or []
                if i.get("system") == systems.QUEUE_NUMBER
            ),
            "",
        )
        return cls(
            id=str(resource["id"]),
            version=version,
            status=str(resource.get("status")),
            start=parse_datetime(resource["start"]),
            end=parse_datetime(resource["end"]),
            schedule=str((resource.get("schedule") or {}).get("reference") or ""),
            number=number,
            release=release,
            reserved_pool=reserved_pool,
            reserved_until=reserved_until,
            holder=holder,
            resource=resource,
        )

    def released(self, now: datetime) -> bool:
        return self.release is None or self.release <= now

    def reserved_for(self, now: datetime) -> str | None:
        """The share the slot is kept for at ``now``; None once it joined the public pool."""
        if self.reserved_pool and (self.reserved_until is None or now < self.reserved_until):
            return self.reserved_pool
        return None

    def past(self, now: datetime) -> bool:
        """A slot can be booked until it ends (a same-day patient may still be seen)."""
        return self.end <= now


def holder_key(secret: str, patient_id: str) -> str:
    """The keyed hash a taken Slot keeps of its holder (see ``systems.EXT_SLOT_HOLDER``)."""
    digest = hmac.new(secret.encode(), f"slot-holder:{patient_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]
