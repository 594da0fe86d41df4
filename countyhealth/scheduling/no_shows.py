"""The end-of-day sweep: booked appointments whose slot ended without a check-in are no-shows."""

from __future__ import annotations

from datetime import timedelta

from ..records.query import find_all
from ..store import Repository
from .booking import mark_no_show
from .calendar import fhir_datetime, local_now, parse_datetime


def sweep_no_shows(repo: Repository, days_back: int = 7) -> int:
    """Mark every booked appointment that ended in the last ``days_back`` days as a no-show."""
    now = local_now(repo.store.clock.now_us())
    since = now - timedelta(days=days_back)
    due = [
        a
        for a in find_all(
            repo,
            "Appointment",
            [
                ("status", "booked"),
                ("date", f"ge{fhir_datetime(since)}"),
                ("date", f"lt{fhir_datetime(now)}"),
            ],
        )
        if parse_datetime(a["end"]) <= now
    ]
    for appointment in due:
        mark_no_show(repo, str(appointment["id"]))
    return len(due)
