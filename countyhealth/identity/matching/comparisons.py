"""Comparison levels of the Fellegi–Sunter model, field by field, as pure Python.

Each field compares two :class:`~.features.MatchFeatures` and returns the name of the level the
pair falls into, or None when either side has no value (a null level: no evidence either way,
weight 0). The levels of a field are listed from the most to the least alike; the first that
holds is the pair's level. :mod:`countyhealth.linkage.comparisons_sql` states the same levels as
SQL for Splink, in the same order and with the same names, and a test checks that both give the
same weights.

- id_number: ``exact``; ``near`` (one character different or two neighbours swapped: a typing
  slip, which the check character always catches); ``conflict`` (two different numbers, both
  valid: nearly always two people); ``different`` (different, at least one of them invalid).
- name: ``exact``; ``homophone`` (same pinyin: 张晓明/张小明); ``one_char`` (one character
  added, dropped or replaced: look-alikes such as 王/玉); ``different``.
- birth_date: ``exact``; ``swapped`` (day and month exchanged); ``near`` (within 366 days);
  ``different``.
- sex, guardian: ``exact``; ``different``.
- phone: ``shared`` (a number in common); ``different``.
- address: ``village`` (same township and village); ``township``; ``different``.
"""

from __future__ import annotations

from collections.abc import Callable

from .features import MatchFeatures

#: Level names of each field, most alike first (the null level is implicit).
LEVELS: dict[str, tuple[str, ...]] = {
    "id_number": ("exact", "near", "conflict", "different"),
    "name": ("exact", "homophone", "one_char", "different"),
    "birth_date": ("exact", "swapped", "near", "different"),
    "sex": ("exact", "different"),
    "phone": ("shared", "different"),
    "address": ("village", "township", "different"),
    "guardian": ("exact", "different"),
}

NEAR_DAYS = 366


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1: equal, or one character inserted, deleted or replaced."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if la == lb:
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(la - lb) != 1:
        return False
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def one_slip(a: str, b: str) -> bool:
    """Damerau–Levenshtein distance ≤ 1 for strings of equal length: one character replaced
    or two neighbours swapped (an insertion or deletion changes the length)."""
    if len(a) != len(b):
        return within_one_edit(a, b)
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) <= 1:
        return True
    i, j = diffs[0], diffs[-1]
    return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]


def id_number(a: MatchFeatures, b: MatchFeatures) -> str | None:
    if a.id_number is None or b.id_number is None:
        return None
    if a.id_number == b.id_number:
        return "exact"
    if one_slip(a.id_number, b.id_number):
        return "near"
    return "conflict" if a.id_valid and b.id_valid else "different"


def name(a: MatchFeatures, b: MatchFeatures) -> str | None:
    if a.name is None or b.name is None:
        return None
    if a.name == b.name:
        return "exact"
    if a.pinyin is not None and a.pinyin == b.pinyin:
        return "homophone"
    return "one_char" if within_one_edit(a.name, b.name) else "different"


def birth_date(a: MatchFeatures, b: MatchFeatures) -> str | None:
    x, y = a.birth_date, b.birth_date
    if x is None or y is None:
        return None
    if x == y:
        return "exact"
    if x.year == y.year and x.month == y.day and x.day == y.month:
        return "swapped"
    return "near" if abs((x - y).days) <= NEAR_DAYS else "different"


def sex(a: MatchFeatures, b: MatchFeatures) -> str | None:
    if a.sex is None or b.sex is None:
        return None
    return "exact" if a.sex == b.sex else "different"


def phone(a: MatchFeatures, b: MatchFeatures) -> str | None:
    if not a.phones or not b.phones:
        return None
    return "shared" if set(a.phones) & set(b.phones) else "different"


def address(a: MatchFeatures, b: MatchFeatures) -> str | None:
    if a.township is None or b.township is None:
        return None
    if a.township != b.township:
        return "different"
    if a.village is not None and a.village == b.village:
        return "village"
    return "township"


def guardian(a: MatchFeatures, b: MatchFeatures) -> str | None:
    if a.guardian is None or b.guardian is None:
        return None
    return "exact" if a.guardian == b.guardian else "different"


#: The comparison function of each field, in the order of :data:`LEVELS`.
COMPARE: dict[str, Callable[[MatchFeatures, MatchFeatures], str | None]] = {
    "id_number": id_number,
    "name": name,
    "birth_date": birth_date,
    "sex": sex,
    "phone": phone,
    "address": address,
    "guardian": guardian,
}


def compare(a: MatchFeatures, b: MatchFeatures) -> dict[str, str | None]:
    """The level of every field for the pair (None: a null level)."""
    return {field: fn(a, b) for field, fn in COMPARE.items()}
