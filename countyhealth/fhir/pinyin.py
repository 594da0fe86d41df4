"""Pinyin forms of Chinese names for the ``phonetic`` search parameter.

R4 defines ``phonetic`` on Patient, Practitioner, Person and RelatedPerson
(https://hl7.org/fhir/R4/patient.html#search) and leaves the algorithm to the server. Here it
is Mandarin pinyin (pypinyin), without tones, with surnames read as surnames (单 shan, 曾 zeng,
区 ou; data in ``data/surname_pinyin.json``). A name is indexed as its full pinyin without
spaces ("zhangsan") and as its initials ("zs"); a query is reduced to the same form, so
"zhang san", "Zhāng Sān", "zhang1 san1", "zhangsan", "zs" and 章三 all find 张三.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin

from .text import has_cjk

_DATA = Path(__file__).parent / "data" / "surname_pinyin.json"
_NOT_LETTERS = re.compile(r"[^a-z]")


@cache
def _surnames() -> tuple[dict[str, str], dict[str, str]]:
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    return data["compound"], data["single"]


@lru_cache(maxsize=65536)
def _syllables(text: str) -> tuple[str, ...]:
    # given names repeat across a county, and pypinyin's phrase matching is slow
    return tuple(s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s.strip())


def name_syllables(family: str, given: str) -> list[str]:
    """Pinyin syllables of a Chinese name, the family name read with surname readings."""
    compound, single = _surnames()
    syllables: list[str] = []
    rest = family
    if family[:2] in compound:
        syllables.extend(compound[family[:2]].split())
        rest = family[2:]
    elif family[:1] in single:
        syllables.append(single[family[:1]])
        rest = family[1:]
    syllables += [*_syllables(rest), *_syllables(given)]
    return [s.lower() for s in syllables]


def split_name(text: str) -> tuple[str, str]:
    """Family and given part of a name written as one CJK string (张三 → 张, 三)."""
    compound, _ = _surnames()
    cut = 2 if text[:2] in compound else 1
    return text[:cut], text[cut:]


def name_keys(name: dict[str, Any]) -> list[str]:
    """Index keys of a HumanName: full pinyin and initials, for each Chinese form it has."""
    forms: list[tuple[str, str]] = []
    family = name.get("family") if isinstance(name.get("family"), str) else ""
    given = "".join(g for g in name.get("given") or [] if isinstance(g, str))
    if family and has_cjk(family):
        forms.append((family, given))
    text = name.get("text")
    if isinstance(text, str) and has_cjk(text):
        forms.append(split_name("".join(text.split())))
    keys: list[str] = []
    for fam, giv in forms:
        syllables = name_syllables(fam, giv)
        if syllables:
            for key in ("".join(syllables), "".join(s[0] for s in syllables)):
                if key not in keys:
                    keys.append(key)
    return keys


def text_keys(text: str) -> list[str]:
    """Keys of a name given as plain text (an organisation's name): pinyin and initials."""
    if not has_cjk(text):
        return []
    syllables = [s.lower() for s in _syllables("".join(text.split()))]
    return ["".join(syllables), "".join(s[0] for s in syllables)] if syllables else []


def query_key(value: str) -> str:
    """Reduce a phonetic query to letters: tones, digits, spaces and apostrophes removed;
    Chinese characters are converted to pinyin first (so homophones match)."""
    if has_cjk(value):
        family, given = split_name("".join(value.split()))
        return "".join(name_syllables(family, given))
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_LETTERS.sub("", letters.replace("ü", "v"))
