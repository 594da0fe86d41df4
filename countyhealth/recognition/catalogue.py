"""The catalogue of mutually recognised exam and lab items (检查检验结果互认), as dated data.

``data/recognition_items.json`` lists the provincial items with their LOINC code, the window
within which another institution should reuse a result, where the mark is honoured and the
county price (for the avoided-cost figure); it also holds the mark and the six national
situations in which a re-test is allowed (国卫医发〔2022〕6号, DOMAIN.md §2b). Each entry is
one version of an item, in force from ``valid_from`` to ``valid_to`` (both inclusive), so a
new window or price is a new entry and results are judged by the entry in force on the day.

A county replaces the packaged file with its own through
``COUNTYHEALTH_RECOGNITION_CATALOGUE_PATH``; :func:`load_catalogue` checks either before use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from ..config import Settings
from ..policy_data import day_field, periods_overlap, read_json, text_field

PACKAGED_FILE = Path(__file__).resolve().parent / "data" / "recognition_items.json"

KINDS = frozenset({"lab", "exam"})
#: Where a mark is honoured: the whole province, one city, or the 医共体 (community).
SCOPES = frozenset({"province", "city", "community"})
#: The six situations of the national measures in which a re-test is allowed.
REASON_CODES = (
    "disease-change",
    "fast-changing",
    "major-intervention",
    "emergency",
    "assessment",
    "other",
)
_FIELDS = frozenset(
    {"code", "kind", "name", "en", "loinc", "window_days", "scope", "price_cny"}
    | {"valid_from", "valid_to", "source"}
)


class CatalogueError(ValueError):
    """The catalogue is unusable; the message names the entry and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class RecognitionItem:
    """One version of one provincial item."""

    code: str
    kind: str
    name: str
    en: str
    loinc: str | None
    window_days: int | None
    scope: str
    price: Decimal
    valid_from: date
    valid_to: date | None
    source: str

    @property
    def recognisable(self) -> bool:
        """Results of the item are recognised (a window is set); unset windows list the item only."""
        return self.window_days is not None

    def in_force(self, day: date) -> bool:
        """This version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class RetestReason:
    """A situation in which a recognisable result may be tested again."""

    code: str
    zh: str
    en: str
    needs_text: bool


@dataclass(frozen=True, slots=True)
class Mark:
    """The recognition mark (浙HR) and the kinds of facility whose results may carry it."""

    code: str
    display: str
    issuer_kinds: frozenset[str]


class Catalogue:
    """Every version of every item, the mark and the re-test reasons."""

    __slots__ = ("_by_code", "_by_loinc", "items", "mark", "reasons", "sources")

    def __init__(
        self,
        mark: Mark,
        reasons: tuple[RetestReason, ...],
        items: tuple[RecognitionItem, ...],
        sources: tuple[str, ...] = (),
    ) -> None:
        self.mark = mark
        self.reasons = reasons
        self.items = tuple(sorted(items, key=lambda i: (i.code, i.valid_from)))
        self.sources = sources
        self._by_code: dict[str, list[RecognitionItem]] = {}
        self._by_loinc: dict[str, list[RecognitionItem]] = {}
        for item in self.items:
            self._by_code.setdefault(item.code, []).append(item)
            if item.loinc:
                self._by_loinc.setdefault(item.loinc, []).append(item)

    def items_on(self, day: date) -> tuple[RecognitionItem, ...]:
        """The entries in force on ``day``, by code."""
        return tuple(i for i in self.items if i.in_force(day))

    def item(self, code: str, day: date) -> RecognitionItem | None:
        """The version of the item with provincial code ``code`` in force on ``day``."""
        return _in_force(self._by_code.get(code, ()), day)

    def by_loinc(self, loinc: str, day: date) -> RecognitionItem | None:
        """The item in force on ``day`` whose LOINC code is ``loinc``."""
        return _in_force(self._by_loinc.get(loinc, ()), day)

    def reason(self, code: str) -> RetestReason | None:
        """The re-test reason with ``code``, if it is one of the six."""
        return next((r for r in self.reasons if r.code == code), None)


def _in_force(versions: Iterable[RecognitionItem], day: date) -> RecognitionItem | None:
    return next((v for v in versions if v.in_force(day)), None)


def load_catalogue(data: dict[str, Any]) -> Catalogue:
    """Build the catalogue from the parsed JSON (``data/recognition_items.json`` or a county's).

    Args:
        data: the top-level object with ``mark``, ``retest_reasons`` and ``items``.

    Raises:
        CatalogueError: naming the entry (code and valid_from) and the fault — no source,
            valid_to before valid_from, two versions of one code in force on the same day,
            unknown kind or scope, a price that is not a non-negative decimal string, a window
            that is not a positive whole number of days or null, one LOINC code on two items
            in force on the same day, reasons other than the six national ones, a mark without
            issuer kinds.
    """
    if not isinstance(data, dict):
        raise CatalogueError("recognition catalogue: the top level must be an object")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise CatalogueError("recognition catalogue: `items` must be a list")
    items = tuple(_item(raw) for raw in raw_items)
    _check_overlaps(items)
    sources = data.get("sources") or []
    return Catalogue(
        _mark(data.get("mark")),
        _reasons(data.get("retest_reasons")),
        items,
        tuple(str(s) for s in sources),
    )


def _item(raw: Any) -> RecognitionItem:
    if not isinstance(raw, dict):
        raise CatalogueError(f"recognition item {str(raw)[:40]!r}: an entry must be an object")
    code = raw.get("code")
    where = f"recognition item {code} (valid from {raw.get('valid_from')})"
    code = text_field(raw, "code", where, CatalogueError)
    missing = sorted(_FIELDS - raw.keys())
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(raw.keys() - _FIELDS)
    if unknown:
        raise CatalogueError(f"{where}: unknown field {', '.join(unknown)}")
    source = raw["source"]
    if not isinstance(source, str) or not source.strip():
        raise CatalogueError(f"{where}: no source (say where the window and price come from)")
    valid_from = day_field(raw, "valid_from", where, CatalogueError)
    valid_to = (
        None if raw["valid_to"] is None else day_field(raw, "valid_to", where, CatalogueError)
    )
    if valid_to is not None and valid_to < valid_from:
        raise CatalogueError(f"{where}: valid_to {valid_to} is before valid_from")
    if not isinstance(raw["kind"], str) or raw["kind"] not in KINDS:
        raise CatalogueError(f"{where}: unknown kind {raw['kind']!r} (lab or exam)")
    if not isinstance(raw["scope"], str) or raw["scope"] not in SCOPES:
        raise CatalogueError(
            f"{where}: unknown scope {raw['scope']!r} (province, city or community)"
        )
    window = raw["window_days"]
    if window is not None and (type(window) is not int or window < 1):
        raise CatalogueError(
            f"{where}: window_days {window!r} must be a positive whole number of days or null"
        )
    loinc = raw["loinc"]
    if loinc is not None and not (isinstance(loinc, str) and _is_loinc(loinc)):
        raise CatalogueError(f"{where}: loinc {loinc!r} is not a LOINC code (check digit)")
    return RecognitionItem(
        code=code,
        kind=raw["kind"],
        name=text_field(raw, "name", where, CatalogueError),
        en=text_field(raw, "en", where, CatalogueError),
        loinc=loinc,
        window_days=window,
        scope=raw["scope"],
        price=_price(raw["price_cny"], where),
        valid_from=valid_from,
        valid_to=valid_to,
        source=source,
    )


def _price(value: Any, where: str) -> Decimal:
    # A JSON number would arrive as a float (binary, inexact): money is written as a string.
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: price_cny {value!r} must be a decimal string like '45.00'")
    try:
        price = Decimal(value.strip())
    except InvalidOperation:
        raise CatalogueError(f"{where}: price_cny {value!r} is not a decimal number") from None
    if not price.is_finite() or price < 0:
        raise CatalogueError(f"{where}: price_cny {value!r} must be zero or more")
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise CatalogueError(f"{where}: price_cny {value!r} has more than two decimals (fen)")
    return price


def _is_loinc(code: str) -> bool:
    """``code`` is digits, a hyphen and the LOINC mod-10 check digit (https://loinc.org/kb/faq/structure/)."""
    body, _, check = code.partition("-")
    if not (body.isdigit() and len(body) <= 7 and check.isdigit() and len(check) == 1):
        return False
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return (10 - total % 10) % 10 == int(check)


def _overlap(a: RecognitionItem, b: RecognitionItem) -> bool:
    return periods_overlap(a.valid_from, a.valid_to, b.valid_from, b.valid_to)


def _check_overlaps(items: tuple[RecognitionItem, ...]) -> None:
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if not _overlap(a, b):
                continue
            where = f"recognition item {b.code} (valid from {b.valid_from})"
            if a.code == b.code:
                raise CatalogueError(
                    f"{where}: overlaps the version valid from {a.valid_from} "
                    "(one version of a code in force per day)"
                )
            if a.loinc and a.loinc == b.loinc:
                raise CatalogueError(
                    f"{where}: LOINC {b.loinc} is also on {a.code} (valid from "
                    f"{a.valid_from}) in force at the same time"
                )


def _mark(raw: Any) -> Mark:
    if not isinstance(raw, dict):
        raise CatalogueError("recognition mark: `mark` must be an object")
    where = f"recognition mark {raw.get('code')}"
    kinds = raw.get("issuer_kinds")
    if not isinstance(kinds, list) or not kinds:
        raise CatalogueError(f"{where}: no issuer kinds (facility kinds whose results carry it)")
    if not all(isinstance(k, str) and k for k in kinds):
        raise CatalogueError(f"{where}: issuer kinds must be non-empty strings")
    text_field(raw, "source", where, CatalogueError)
    return Mark(
        text_field(raw, "code", where, CatalogueError),
        text_field(raw, "display", where, CatalogueError),
        frozenset(kinds),
    )


def _reasons(raw: Any) -> tuple[RetestReason, ...]:
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise CatalogueError("recognition re-test reasons: `retest_reasons` must be a list")
    codes = [r.get("code") for r in raw]
    if sorted(map(str, codes)) != sorted(REASON_CODES):
        raise CatalogueError(
            f"recognition re-test reasons: codes {', '.join(map(str, codes))} must be exactly "
            f"the six national ones: {', '.join(REASON_CODES)}"
        )
    reasons = []
    for r in raw:
        where = f"recognition re-test reason {r['code']}"
        needs_text = r.get("needs_text", False)
        if not isinstance(needs_text, bool):
            raise CatalogueError(f"{where}: needs_text must be true or false")
        if r["code"] == "other" and not needs_text:
            raise CatalogueError(f"{where}: `other` needs free text (needs_text: true)")
        reasons.append(
            RetestReason(
                r["code"],
                text_field(r, "zh", where, CatalogueError),
                text_field(r, "en", where, CatalogueError),
                needs_text,
            )
        )
    return tuple(reasons)


def catalogue(settings: Settings | None = None) -> Catalogue:
    """The catalogue in use: the file named by ``recognition_catalogue_path``, else the packaged one.

    Each file is read and checked once per process (restart to pick up an edited file).

    Args:
        settings: the deployment's settings; None reads them from the environment once.

    Raises:
        CatalogueError: the file cannot be read, is not JSON, or fails :func:`load_catalogue`.
    """
    if settings is None:
        return _from_environment()
    return _read(settings.recognition_catalogue_path or None)


@cache
def _from_environment() -> Catalogue:
    return _read(Settings().recognition_catalogue_path or None)


@cache
def _read(path: str | None) -> Catalogue:
    file = Path(path) if path else PACKAGED_FILE
    data = read_json(file, "recognition catalogue", CatalogueError)
    try:
        return load_catalogue(data)
    except CatalogueError as exc:
        raise CatalogueError(f"{file}: {exc}") from None
