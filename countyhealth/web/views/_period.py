"""The period of a KPI page: ``start`` and ``end`` query values as dates, with defaults."""

from __future__ import annotations

from datetime import date

from ...errors import error


def day_param(text: str | None, default: date, name: str, code: str) -> date:
    """``text`` (YYYY-MM-DD) as a date, ``default`` when empty; ``code`` names a bad one."""
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise error(code, f"{name} must be a date (YYYY-MM-DD)", name) from exc
