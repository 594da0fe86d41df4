"""Normalisation of strings for search, aware of Chinese text.

FHIR string search is case- and accent-insensitive and matches at the start of a value
(https://hl7.org/fhir/R4/search.html#string). For Chinese the same name is written with or
without spaces ("山田太郎", "山田 太郎") and with full-width forms, so values and queries are
normalised alike: Unicode NFKC (full-width → half-width, compatibility forms), case folding,
accents removed, whitespace next to CJK characters removed and other whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# CJK Unified Ideographs (+ extension A, compatibility), kana, hangul syllables, CJK punctuation.
_CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")

#: Longest normalised value kept in the index (the exact value is kept whole).
MAX_INDEXED = 255


@lru_cache(maxsize=65536)
def normalize(value: str) -> str:
    """The form in which strings are indexed and compared (memoised: displays, names and
    places repeat across resources)."""
    text = unicodedata.normalize("NFKC", value).casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize(
            "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        )
    text = _SPACE_NEAR_CJK.sub("", text)
    return _SPACES.sub(" ", text).strip()[:MAX_INDEXED]


def has_cjk(value: str) -> bool:
    return _CJK_CHAR.search(value) is not None
