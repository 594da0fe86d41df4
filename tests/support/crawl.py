"""Walking the web pages by their links, as a person clicking through would (tests, bench).

Breadth-first from ``/app``, only within the pages (``/app/…``); a path shape (segments with
digits replaced by ``*``) is visited at most ``per_shape`` times, so that a list of patients
does not turn the walk into a tour of the whole county.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit


class PageText(HTMLParser):
    """The links of a page and its human-facing text (text nodes and labelling attributes)."""

    SHOWN_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt", "value")

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        for name in self.SHOWN_ATTRIBUTES:
            if values.get(name) and not (tag == "input" and values.get("type") == "hidden"):
                self.text.append(values[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def shape(path: str) -> str:
    return "/".join(
        "*" if re.search(r"\d", part) and i > 1 else part for i, part in enumerate(path.split("/"))
    )


def walk(
    get: Callable[[str], Any], *, start: str = "/app", max_pages: int = 60, per_shape: int = 3
) -> Iterator[tuple[str, Any, PageText | None]]:
    """Yield (url, answer, parsed page or None) for each page reached from ``start``."""
    queue: deque[str] = deque([start])
    seen = {start}
    shapes: Counter[str] = Counter()
    count = 0
    while queue and count < max_pages:
        url = queue.popleft()
        answer = get(url)
        count += 1
        html = answer.headers.get("content-type", "").startswith("text/html")
        if answer.status_code >= 400 or not html:
            yield url, answer, None
            continue
        page = PageText()
        page.feed(answer.text)
        yield url, answer, page
        for href in page.links:
            parts = urlsplit(urljoin(url, href))
            if parts.netloc or not parts.path.startswith("/app"):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local in seen or shapes[shape(parts.path)] >= per_shape:
                continue
            seen.add(local)
            shapes[shape(parts.path)] += 1
            queue.append(local)
