"""``$find``: free slots across every institution of the 医共体, earliest first.

Filters by department (诊疗科目 code), organisation, facility class (hospital or township
health centre) and a date range; leaves out slots not yet released and slots kept for a share
the caller may not book into. Follows the shape of IHE ITI Scheduling ``$find``: each offer is
a proposed Appointment naming the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..errors import error
from ..fhir import systems
from ..fhir.search_request import parse_search
from ..records.query import find_all
from ..store import Repository
from .calendar import at, fhir_datetime, local_now
from .entitlement import POOL_OF_CHANNEL
from .pool import PoolSlot
from .rules import pool_rules
from .slots import schedule_id

MAX_OFFERS = 100
_SCAN_PAGES = 10
#: a search names at most this many schedules (beyond it, slots are filtered here)
_MAX_SCHEDULES = 100


@dataclass(frozen=True, slots=True)
class SlotQuery:
    department: str | None = None
    organization: str | None = None
    facility_class: str | None = None  # hospital | health-centre
    first: date | None = None
    last: date | None = None
    channel: str = "online"
    count: int = 20
    #: only slots still kept for the channel's reserved share (a referral holds one of those
    #: before it takes a public slot)
    reserved_only: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    """A free slot the caller may book."""

    slot: str
    start: datetime
    end: datetime
    number: str
    service: str
    service_name: str
    organization: str
    organization_name: str
    reserved_for: str | None

    def to_appointment(self) -> dict[str, Any]:
        """The offer as a proposed Appointment (IHE ITI Scheduling ``$find`` response)."""
        return {
            "resourceType": "Appointment",
            "status": "proposed",
            "identifier": [{"system": systems.QUEUE_NUMBER, "value": self.number}],
            "start": fhir_datetime(self.start),
            "end": fhir_datetime(self.end),
            "slot": [{"reference": f"Slot/{self.slot}"}],
            "participant": [
                {
                    "actor": {
                        "reference": f"HealthcareService/{self.service}",
                        "display": self.service_name,
                    },
                    "status": "needs-action",
                },
            ],
            "comment": self.organization_name,
        }


def _services(repo: Repository, query: SlotQuery, on: date) -> dict[str, dict[str, Any]]:
    """Bookable services matching the query, by Schedule reference."""
    from .slots import departments

    out: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for org in find_all(repo, "Organization", []):
        names[f"Organization/{org['id']}"] = str(org.get("name") or org["id"])
    for department in departments(repo, on):
        if query.department and department.code != query.department:
            continue
        if query.organization and department.organization != query.organization:
            continue
        if query.facility_class and department.facility_class != query.facility_class:
            continue
        out[f"Schedule/{schedule_id(department.id)}"] = {
            "id": department.id,
            "name": str(department.service.get("name") or department.id),
            "organization": department.organization,
            "organization_name": names.get(department.organization, department.organization),
        }
    return out


def find_slots(repo: Repository, query: SlotQuery) -> list[Offer]:
    """Free, released slots matching ``query`` that the caller may book, earliest first."""
    if not 1 <= query.count <= MAX_OFFERS:
        raise error("CH-9114", f"count must be between 1 and {MAX_OFFERS}", "count")
    now = local_now(repo.store.clock.now_us())
    rules = pool_rules(now.date())
    first = query.first or now.date()
    last = query.last or (now.date() + timedelta(days=rules.horizon_days))
    if last < first:
        raise error("CH-9114", "the end date is before the start date", "end")
    services = _services(repo, query, now.date())
    if not services:
        return []
    start = max(now, at(first, datetime.min.time()))
    params = [
        ("status", "free"),
        ("start", f"ge{fhir_datetime(start - timedelta(minutes=60))}"),
        ("start", f"lt{fhir_datetime(at(last + timedelta(days=1), datetime.min.time()))}"),
        ("_sort", "start"),
        ("_count", "200"),
    ]
    if len(services) <= _MAX_SCHEDULES:
        params.append(("schedule", ",".join(services)))
    elif query.department:
        params.append(("service-type", f"{systems.DEPARTMENT}|{query.department}"))
    pool = POOL_OF_CHANNEL.get(query.channel)
    offers: list[Offer] = []
    cursor: str | None = None
    for _ in range(_SCAN_PAGES):
        req = parse_search(("Slot",), [*params, *([("_page", cursor)] if cursor else [])])
        page = repo.search(req, query_string="Slot?" + "&".join(f"{k}={v}" for k, v in params))
        for stored in page.entries:
            slot = PoolSlot.of(stored.resource, stored.version)
            if slot.past(now) or not slot.released(now):
                continue
            reserved = slot.reserved_for(now)
            if reserved is not None and reserved != pool:
                continue
            if query.reserved_only and reserved is None:
                continue
            service = services.get(slot.schedule)
            if service is None:
                continue
            offers.append(
                Offer(
                    slot.id,
                    slot.start,
                    slot.end,
                    slot.number,
                    service["id"],
                    service["name"],
                    service["organization"],
                    service["organization_name"],
                    reserved,
                )
            )
            if len(offers) >= query.count:
                return offers
        if not page.next_page:
            break
        cursor = page.next_page
    return offers
