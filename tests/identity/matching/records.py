"""A resident's record as the matcher sees it, shared by the matching tests."""

from __future__ import annotations

from datetime import date

from countyhealth.identity.matching import MatchFeatures

ZHANG = MatchFeatures(
    id="Patient/a",
    name="张晓明",
    pinyin="zhangxiaoming",
    birth_date=date(1980, 3, 7),
    sex="male",
    id_number="110105198003070012",
    id_valid=True,
    phones=("13800138000",),
    township="石桥镇",
    village="青山村",
)
