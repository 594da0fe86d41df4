"""Loading the dated rule and reference files in ``data/`` (see data/README.md for sources).

Every number the generator uses comes from one of these files: prevalences, schedules,
rates, code tables. Files are read on first use and cached; callers must not mutate them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed content of ``data/<name>.json``."""
    data: dict[str, Any] = orjson.loads((DATA_DIR / f"{name}.json").read_bytes())
    return data


def names() -> list[str]:
    """Names of all data files (without ``.json``)."""
    return sorted(p.stem for p in DATA_DIR.glob("*.json"))
