"""County time: China Standard Time (UTC+8, no daylight saving), the clock of every schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from ..errors import error

COUNTY_TZ = timezone(timedelta(hours=8), "CST")


def local_now(now_us: int) -> datetime:
    """The instant ``now_us`` (µs since the epoch) in county time."""
    return datetime.fromtimestamp(now_us / 1_000_000, UTC).astimezone(COUNTY_TZ)


def at(day: date, clock: time) -> datetime:
    """``day`` at ``clock`` in county time."""
    return datetime.combine(day, clock, COUNTY_TZ)


def fhir_datetime(moment: datetime) -> str:
    """A FHIR dateTime/instant with seconds and the +08:00 offset."""
    return moment.astimezone(COUNTY_TZ).isoformat(timespec="seconds")


def parse_datetime(text: str) -> datetime:
    """A FHIR dateTime with a time zone (Slot.start, Appointment.end, …)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COUNTY_TZ)
    return moment


def check_period(first: date, last: date, code: str, max_days: int) -> None:
    """Raises ``code`` unless ``first``..``last`` is a period of 1 to ``max_days`` days (a
    report's period of whole county days, both inclusive)."""
    if last < first:
        raise error(code, "the end date is before the start date", "end")
    if (last - first).days >= max_days:
        raise error(code, f"a period of at most {max_days} days", "end")
