"""Comparison levels, field by field."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from countyhealth.identity.matching import LEVELS, compare
from countyhealth.identity.matching.comparisons import one_slip, within_one_edit

from .records import ZHANG

BASE = replace(ZHANG, guardian="王芳")


def _levels(**changes: object) -> dict[str, str | None]:
    return compare(BASE, replace(BASE, id="Patient/b", **changes))  # type: ignore[arg-type]


def test_identical_records_agree_everywhere() -> None:
    assert _levels() == {f: levels[0] for f, levels in LEVELS.items()}


@pytest.mark.parametrize(
    ("changes", "field", "level"),
    [
        ({"id_number": None}, "id_number", None),
        ({"id_number": "110105198003070021"}, "id_number", "near"),  # neighbours swapped
        ({"id_number": "110105198003070018"}, "id_number", "near"),  # one character
        ({"id_number": "110105198003071700", "id_valid": False}, "id_number", "different"),
        ({"id_number": "11010519491231002X", "id_valid": True}, "id_number", "conflict"),
        ({"name": "张小明", "pinyin": "zhangxiaoming"}, "name", "homophone"),
        ({"name": "张晓朋", "pinyin": "zhangxiaopeng"}, "name", "one_char"),
        ({"name": "张晓", "pinyin": "zhangxiao"}, "name", "one_char"),
        ({"name": "李华", "pinyin": "lihua"}, "name", "different"),
        ({"name": None}, "name", None),
        ({"birth_date": date(1980, 7, 3)}, "birth_date", "swapped"),
        ({"birth_date": date(1980, 9, 30)}, "birth_date", "near"),
        ({"birth_date": date(1985, 3, 7)}, "birth_date", "different"),
        ({"sex": "female"}, "sex", "different"),
        ({"phones": ("13900000000", "13800138000")}, "phone", "shared"),
        ({"phones": ("13900000000",)}, "phone", "different"),
        ({"phones": ()}, "phone", None),
        ({"village": "白水村"}, "address", "township"),
        ({"village": None}, "address", "township"),
        ({"township": "河口乡"}, "address", "different"),
        ({"township": None}, "address", None),
        ({"guardian": "李四"}, "guardian", "different"),
    ],
)
def test_levels(changes: dict[str, object], field: str, level: str | None) -> None:
    assert _levels(**changes)[field] == level


def test_edit_distances() -> None:
    assert within_one_edit("abc", "abc") and within_one_edit("abc", "abd")
    assert within_one_edit("abc", "ac") and within_one_edit("ac", "abc")
    assert not within_one_edit("abc", "cab") and not within_one_edit("a", "abc")
    assert one_slip("1234", "1324") and one_slip("1234", "1235")
    assert not one_slip("1234", "4231") and not one_slip("1234", "2143")
