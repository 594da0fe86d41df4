"""The message catalogues: every key used by a template or a view exists in both languages,
both catalogues hold the same keys, and a translation keeps the placeholders of the other."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from countyhealth.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, messages, negotiate

WEB = Path(__file__).resolve().parents[2] / "countyhealth" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def used_keys() -> set[str]:
    """Keys in ``_("…")`` calls of the templates and in ``Page(name, "title.key")`` calls."""
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(WEB / "templates"), method_map=[("**.html", "jinja2")]
    ):
        found.add(message if isinstance(message, str) else message[0])
    for _, _, message, _, _ in extract_from_dir(
        str(WEB / "views"), method_map=[("**.py", "python")], keywords={"Page": (2,)}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_templates_and_views_use_keys() -> None:
    keys = used_keys()
    assert {"app.name", "home.title", "patients.overview.title"} <= keys


def test_every_used_key_is_translated_in_every_language() -> None:
    keys = used_keys()
    for language in LANGUAGES:
        missing = sorted(keys - set(messages(language).texts))
        assert missing == [], f"{language} lacks {missing}"


def test_both_catalogues_hold_the_same_keys_and_placeholders() -> None:
    zh, en = messages("zh_CN").texts, messages("en").texts
    assert sorted(set(zh) ^ set(en)) == []
    for key in zh:
        assert set(PLACEHOLDER.findall(zh[key])) == set(PLACEHOLDER.findall(en[key])), key


def test_language_negotiation() -> None:
    assert negotiate(None, None) == DEFAULT_LANGUAGE == "zh_CN"
    assert negotiate("en", "zh-CN") == "en"
    assert negotiate("fr", "en-GB,en;q=0.9") == "en"
    assert negotiate(None, "zh-TW,zh;q=0.8") == "zh_CN"


def test_a_missing_key_shows_itself() -> None:
    assert messages("en")("no.such.key") == "no.such.key"
    assert messages("zh_CN")("home.welcome", name="王医生") == "您好，王医生"
