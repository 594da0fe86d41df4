"""UCUM-canonical forms for quantity search across units (1 g finds 1000 mg).

https://hl7.org/fhir/R4/search.html#quantity allows servers to compare quantities in canonical
units. The conversion factors are data (``data/ucum_canonical.json``, from the UCUM
specification): only linear conversions of common clinical units.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_DATA = Path(__file__).parent / "data" / "ucum_canonical.json"


@cache
def _units() -> dict[str, tuple[float, str]]:
    raw = json.loads(_DATA.read_text(encoding="utf-8"))["units"]
    return {code: (float(factor), base) for code, (factor, base) in raw.items()}


def canonical(code: str) -> tuple[float, str] | None:
    """(factor, canonical code) for a UCUM code, or None when it is not in the table."""
    return _units().get(code)
