"""Dates, times and numbers the way readers of each language expect (Babel, CLDR data).

In zh-CN a date reads 2026年11月23日 and a time 14:05; in English 23 Nov 2026. FHIR values are
strings (``date``, ``dateTime``, ``instant``) of varying precision; a partial date is shown at its
own precision, and anything unparseable is shown as it is rather than hidden.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date, format_datetime, get_timezone
from babel.numbers import format_decimal

#: The county's time zone: stored instants are shown in local time.
COUNTY_ZONE = get_timezone("Asia/Shanghai")


#: CLDR patterns per language: day, month, day with time.
DATE_PATTERNS = {
    "zh_CN": ("yyyy年M月d日", "yyyy年M月", "yyyy年M月d日 HH:mm"),
    "en": ("d MMM yyyy", "MMM yyyy", "d MMM yyyy, HH:mm"),
}


def _patterns(language: str) -> tuple[str, str, str]:
    return DATE_PATTERNS.get(language, DATE_PATTERNS["zh_CN"])


def fhir_date(value: str | None, language: str) -> str:
    """A FHIR date or dateTime as a local date (``2026年11月23日``; ``2026年11月`` for a month)."""
    if not value:
        return ""
    day, month, _ = _patterns(language)
    try:
        if len(value) == 4:
            return f"{int(value)}年" if language == "zh_CN" else value
        if len(value) == 7:
            return format_date(date(int(value[:4]), int(value[5:7]), 1), month, language)
        if len(value) == 10:
            return format_date(date.fromisoformat(value), day, language)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(COUNTY_ZONE)
    return format_date(moment.date(), day, language)


def fhir_datetime(value: str | None, language: str) -> str:
    """A FHIR dateTime or instant as local date and time; a bare date stays a date."""
    if not value or len(value) <= 10:
        return fhir_date(value, language)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(COUNTY_ZONE)
    return format_datetime(moment.replace(tzinfo=None), _patterns(language)[2], locale=language)


def number(value: int | float | Decimal | str | None, language: str) -> str:
    """A number with the language's grouping (12,345 in both zh-CN and English)."""
    if value is None or value == "":
        return ""
    try:
        return format_decimal(Decimal(str(value)), locale=language)
    except (InvalidOperation, ValueError):
        return str(value)
