"""Readers shared by the dated policy files of the domains (the recognition catalogue, the
referral rules, …): each file names its own error class, and every message says which entry
and which field is at fault."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson


def read_json(file: Path, what: str, error: type[ValueError]) -> Any:
    """The parsed JSON of ``file``; ``error`` names ``what`` when it cannot be read or parsed."""
    try:
        return orjson.loads(file.read_bytes())
    except OSError as exc:
        raise error(f"{what} {file}: cannot be read ({exc})") from None
    except orjson.JSONDecodeError as exc:
        raise error(f"{what} {file}: not JSON ({exc})") from None


def text_field(raw: dict[str, Any], key: str, where: str, error: type[ValueError]) -> str:
    """``raw[key]``, a non-empty string."""
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise error(f"{where}: `{key}` must be a non-empty string")
    return value


def day_field(raw: dict[str, Any], key: str, where: str, error: type[ValueError]) -> date:
    """``raw[key]``, an ISO date."""
    value = raw.get(key)
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise error(f"{where}: `{key}` {value!r} is not an ISO date (YYYY-MM-DD)")


def periods_overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    """Whether two validity periods (both ends inclusive; ``None``: open) share a day."""
    a_ends_after_b_starts = a_to is None or b_from <= a_to
    b_ends_after_a_starts = b_to is None or a_from <= b_to
    return a_ends_after_b_starts and b_ends_after_a_starts
