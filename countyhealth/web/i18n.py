"""Languages of the web pages: Babel message catalogues, zh-CN by default, English on request.

Pages name their texts by symbolic keys (``nav.patients``), looked up in the gettext catalogues
under ``locales/<lang>/LC_MESSAGES/*.po`` (one file per area of the application, merged; read
with Babel's PO parser). A key missing from a catalogue is shown as the key itself, which the
crawler test looks for, so an untranslated text cannot go unnoticed.

The language is the ``ch_lang`` cookie when it names a supported language, else the first
supported language of ``Accept-Language``, else zh-CN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "zh_CN"
#: Supported languages: catalogue folder → HTML ``lang`` attribute.
LANGUAGES: Mapping[str, str] = {"zh_CN": "zh-CN", "en": "en"}
LANGUAGE_COOKIE = "ch_lang"


@dataclass(frozen=True, slots=True)
class Messages:
    """One language's catalogue: ``gettext`` with ``%(name)s`` placeholders."""

    language: str
    texts: Mapping[str, str]

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    @property
    def html_lang(self) -> str:
        return LANGUAGES[self.language]

    def gettext(self, key: str, **values: Any) -> str:
        text = self.texts.get(key, key)
        return text % values if values else text

    def get(self, key: str, default: str) -> str:
        """The text of ``key`` when the catalogue has it, else ``default`` (for optional labels
        such as a code's local name)."""
        return self.texts.get(key, default)

    def __call__(self, key: str, **values: Any) -> str:
        return self.gettext(key, **values)


@cache
def messages(language: str) -> Messages:
    """The merged catalogue of ``language`` (read once per process)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    texts: dict[str, str] = {}
    for path in sorted((LOCALES / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string:
                texts[message.id] = str(message.string)
    return Messages(language, texts)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The page language from the cookie, then ``Accept-Language``, then the default."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE
