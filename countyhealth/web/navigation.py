"""Role-aware navigation: the links of ``data/navigation.json`` a user's roles may follow."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_DATA = Path(__file__).parent / "data" / "navigation.json"


@dataclass(frozen=True, slots=True)
class Link:
    key: str
    href: str
    roles: frozenset[str]


@cache
def links() -> tuple[Link, ...]:
    data = json.loads(_DATA.read_text("utf-8"))
    return tuple(
        Link(item["key"], item["href"], frozenset(item["roles"])) for item in data["items"]
    )


def navigation(roles: Iterable[str], path: str) -> list[dict[str, Any]]:
    """The links for ``roles``; the one whose page is ``path`` (or contains it) is current."""
    held = set(roles)
    if not held:
        return []
    shown = [link for link in links() if "*" in link.roles or held & link.roles]
    current = max(
        (link.href for link in shown if path == link.href or path.startswith(link.href + "/")),
        key=len,
        default=None,
    )
    return [{"key": link.key, "href": link.href, "current": link.href == current} for link in shown]
