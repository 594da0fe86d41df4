"""Reading the billing data files (insurance policy, price catalogue, commercial plans): the
JSON with the line on which each entry starts, and the checked readers of money and ratios.

Money and ratios are written as strings ("1200.00", "0.60"): a JSON number arrives as a
binary float, which cannot hold most amounts in fen exactly. Errors name the file and the line
of the entry at fault, so whoever edits the file finds it at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..policy_data import day_field

_SPACE = re.compile(r"[ \t\n\r]*")


class PolicyError(ValueError):
    """A billing data file is unusable, or no policy is in force for a person on a day; the
    message names the file, the line of the entry at fault and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class DataFile:
    """A parsed data file: its top-level object and the line of each entry of its list."""

    path: Path
    data: dict[str, Any]
    lines: list[int]

    def entries(self, key: str) -> list[tuple[int, Any]]:
        """``(line, entry)`` for each element of the top-level list ``key``."""
        raw = self.data.get(key)
        if not isinstance(raw, list) or not raw:
            raise PolicyError(f"{self.path}: `{key}` must be a non-empty list")
        return list(zip(self.lines, raw, strict=True))


def read_data_file(path: Path, key: str) -> DataFile:
    """Parse ``path`` and find the line of each element of its top-level list ``key``.

    Raises:
        PolicyError: the file cannot be read, is not JSON (with the line of the fault), repeats
            a key within one object, or its top level is not an object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{path}: line {exc.lineno}: not JSON ({exc.msg})") from None
    except _RepeatedKey as exc:
        raise PolicyError(f"{path}: key {exc.args[0]!r} appears twice in one object") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: the top level must be an object")
    return DataFile(path, data, entry_lines(text, key))


class _RepeatedKey(Exception):
    pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys silently; in a policy file that hides an edit.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def entry_lines(text: str, key: str) -> list[int]:
    """The line (from 1) on which each element of the top-level list ``key`` starts.

    ``text`` must be valid JSON. The top-level object is walked value by value with the
    standard decoder, so the positions are exact whatever the layout of the file.
    """
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        return []
    pos = _skip(text, pos + 1)
    while text.startswith('"', pos):
        name, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)  # past the colon
        if name == key and text.startswith("[", pos):
            return _element_lines(text, pos, decoder)
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
    return []


def _element_lines(text: str, pos: int, decoder: json.JSONDecoder) -> list[int]:
    lines: list[int] = []
    pos = _skip(text, pos + 1)
    while not text.startswith("]", pos):
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
    return lines


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def check_fields(
    raw: Any, where: str, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``raw`` as an object with every ``required`` key and no key outside both sets."""
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be an object")
    missing = sorted(required - raw.keys())
    if missing:
        raise PolicyError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(raw.keys() - required - optional)
    if unknown:
        raise PolicyError(f"{where}: unknown field {', '.join(unknown)}")
    return raw


def money(raw: dict[str, Any], key: str, where: str) -> Decimal:
    """``raw[key]``: an amount in yuan written as a string, zero or more, at most two decimals."""
    value = raw.get(key)
    if not isinstance(value, str):
        raise PolicyError(
            f"{where}: `{key}` {value!r} must be money written as a string like '1200.00' "
            "(a JSON number is a binary float)"
        )
    amount = _decimal(value, key, where)
    if amount < 0:
        raise PolicyError(f"{where}: `{key}` {value!r} is negative")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise PolicyError(f"{where}: `{key}` {value!r} has more than two decimals (fen)")
    return amount


def ratio(raw: dict[str, Any], key: str, where: str) -> Decimal:
    """``raw[key]``: a share written as a string like '0.60', from 0 to 1."""
    value = raw.get(key)
    if not isinstance(value, str):
        raise PolicyError(f"{where}: `{key}` {value!r} must be a ratio written as a string '0.60'")
    share = _decimal(value, key, where)
    if not Decimal(0) <= share <= Decimal(1):
        raise PolicyError(f"{where}: `{key}` {value!r} is outside 0 to 1")
    return share


def _decimal(value: str, key: str, where: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise PolicyError(f"{where}: `{key}` {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise PolicyError(f"{where}: `{key}` {value!r} is not a finite number")
    return number


def period(raw: dict[str, Any], where: str) -> tuple[date, date | None]:
    """``(valid_from, valid_to)`` of an entry, both inclusive; ``valid_to`` null: open."""
    valid_from = day_field(raw, "valid_from", where, PolicyError)
    if raw.get("valid_to") is None:
        return valid_from, None
    valid_to = day_field(raw, "valid_to", where, PolicyError)
    if valid_to < valid_from:
        raise PolicyError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
    return valid_from, valid_to


def check_contiguous(
    versions: list[tuple[int, date, date | None]], what: str, path: Path, *, gaps: bool = False
) -> None:
    """Versions of one thing (``(line, valid_from, valid_to)``) follow each other without
    overlap and, unless ``gaps``, without a day between them.

    Raises:
        PolicyError: naming the line of the later entry at fault and the line it collides with.
    """
    ordered = sorted(versions, key=lambda v: v[1])
    for (line_a, from_a, to_a), (line_b, from_b, _) in pairwise(ordered):
        if to_a is None or from_b <= to_a:
            ends = "has no end" if to_a is None else f"runs to {to_a}"
            raise PolicyError(
                f"{path}: line {line_b}: {what} valid from {from_b} overlaps the version on "
                f"line {line_a} (valid from {from_a}, {ends})"
            )
        if not gaps and from_b != to_a + timedelta(days=1):
            raise PolicyError(
                f"{path}: line {line_b}: {what} valid from {from_b} leaves a gap after the "
                f"version on line {line_a}, which ends {to_a} (the next must start "
                f"{to_a + timedelta(days=1)})"
            )
