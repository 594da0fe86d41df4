"""FHIR date/time values ↔ integer microseconds since the Unix epoch (UTC).

A FHIR ``dateTime`` may be partial (``2024``, ``2024-05``, ``2024-05-01``) or carry a time with
an offset; it denotes a period, from its first to its last microsecond
(https://hl7.org/fhir/R4/datatypes.html#dateTime and search.html#date). Values without an
offset are read as UTC+08:00, the platform's local time.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone

LOCAL_TZ = timezone(timedelta(hours=8))

_DATETIME = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def format_instant(us: int) -> str:
    """Render microseconds since the epoch as an R4 ``instant`` in UTC."""
    dt = datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_period(text: str) -> tuple[int, int]:
    """The [low, high] microsecond range a FHIR date/dateTime/instant denotes.

    Raises:
        ValueError: when ``text`` is not a FHIR date, dateTime or instant.
    """
    m = _DATETIME.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a FHIR date or dateTime")
    y = int(m["y"])
    month, day = m["m"], m["d"]
    tz = _offset(m["tz"]) if m["tz"] else LOCAL_TZ
    try:
        if month is None:
            low = datetime(y, 1, 1, tzinfo=tz)
            step = timedelta(days=366 if calendar.isleap(y) else 365)
        elif day is None:
            mo = int(month)
            low = datetime(y, mo, 1, tzinfo=tz)
            step = timedelta(days=calendar.monthrange(y, mo)[1])
        elif m["H"] is None:
            low = datetime(y, int(month), int(day), tzinfo=tz)
            step = timedelta(days=1)
        else:
            frac = m["f"] or ""
            seconds = int(m["S"] or 0)
            low = datetime(
                y,
                int(month),
                int(day),
                int(m["H"]),
                int(m["M"]),
                min(seconds, 59),
                int((frac + "000000")[:6]) if frac else 0,
                tzinfo=tz,
            )
            if m["S"] is None:
                step = timedelta(minutes=1)
            elif not frac:
                step = timedelta(seconds=1)
            else:
                step = timedelta(microseconds=max(1, 10 ** (6 - min(len(frac), 6))))
            if seconds == 60:  # leap second: the last microsecond of the minute
                low = low.replace(microsecond=999_999)
                step = timedelta(microseconds=1)
    except ValueError as exc:  # e.g. 2023-02-30
        raise ValueError(f"{text!r} is not a valid date: {exc}") from None
    # Computed in microseconds, not datetimes, so that the end of year 9999 does not overflow.
    start = _us(low)
    return start, start + _us_of(step) - 1


def _us_of(step: timedelta) -> int:
    return (step.days * 86_400 + step.seconds) * 1_000_000 + step.microseconds


def _offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _us(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
