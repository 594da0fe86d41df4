"""Record categories a resident can share (``data/categories.json``): labels and FHIR types."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..errors import error


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    zh: str
    en: str
    #: resource types of the category; empty means the whole record
    types: tuple[str, ...]


@cache
def categories() -> dict[str, Category]:
    text = resources.files(__package__).joinpath("data/categories.json").read_text("utf-8")
    data = json.loads(text)["categories"]
    return {
        code: Category(code, spec["zh"], spec["en"], tuple(spec["types"]))
        for code, spec in data.items()
    }


def category(code: str) -> Category:
    found = categories().get(code)
    if found is None:
        raise error("CH-4012", f"{code[:40]!r} is not a record category", "category")
    return found
