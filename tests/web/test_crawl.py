"""Crawl the pages as every role, in both languages: no link leads to a 4xx or 5xx, and no
page shows a message key instead of its text (a key missing from a catalogue is shown raw).

Links are followed breadth-first from ``/app`` within the pages (see tests/support/crawl.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from countyhealth.security.roles import roles
from countyhealth.web.i18n import LANGUAGES, messages
from tests.support.crawl import walk

USER_ROLES = sorted(code for code, spec in roles().items() if spec.kind == "user")
MAX_PAGES = 60
#: First segments of the message keys, for spotting a raw key in a page.
KEY_PREFIXES = sorted({key.split(".")[0] for lang in LANGUAGES for key in messages(lang).texts})
RAW_KEY = re.compile(r"\b(?:" + "|".join(map(re.escape, KEY_PREFIXES)) + r")\.[a-z0-9_.-]*[a-z0-9]")


def crawl(web: TestClient) -> tuple[list[str], list[str]]:
    """Visit the pages reachable from /app; return (pages visited, problems)."""
    visited: list[str] = []
    problems: list[str] = []
    for url, answer, page in walk(web.get, max_pages=MAX_PAGES):
        visited.append(url)
        if answer.status_code >= 400:
            problems.append(f"{url} answered {answer.status_code}")
        elif page is not None:
            for raw in RAW_KEY.findall(" ".join(page.text)):
                problems.append(f"{url} shows the message key {raw!r}")
    return visited, problems


def test_raw_key_pattern_finds_keys() -> None:
    assert RAW_KEY.search("见 nav.patients 页") and not RAW_KEY.search("countyhealth.example.org")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("role", USER_ROLES)
def test_every_reachable_page_answers_and_is_translated(
    browser_as: Callable[[str], TestClient], role: str, language: str
) -> None:
    web = browser_as(role)
    web.cookies.set("ch_lang", language)
    visited, problems = crawl(web)
    assert len(visited) >= 2, f"{role} reaches no page from its home page"
    assert problems == [], "\n".join(problems)
