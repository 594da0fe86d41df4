"""The county price catalogue (医疗服务价格, 药品 and their 医保 classes) as dated data
(``data/price_items.json``): what a charge costs, its item class and its 医保 price limit.

Item classes follow the national 医保 catalogues: ``A`` (甲类) is fully in scope, ``B`` (乙类)
is in scope after the patient's 先行自付 share, ``C`` (丙类, and any item outside the
catalogues) is paid by the patient in full (全自费). ``limit`` is the most 医保 counts per unit
(限价 / 支付标准); the part of the unit price above it is 超限价自费. A new price is a new
entry of the same code starting the day after the old one ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from ..policy_data import text_field
from .policy_file import PolicyError, check_contiguous, check_fields, money, period, read_data_file

PACKAGED_FILE = Path(__file__).resolve().parent / "data" / "price_items.json"

ITEM_CLASSES = ("A", "B", "C")
CATEGORIES = frozenset(
    {"registration", "consultation", "lab", "imaging", "drug", "material", "bed", "nursing"}
    | {"procedure"}
)
_FIELDS = frozenset(
    {"code", "name", "en", "category", "item_class", "unit", "price", "limit"}
    | {"valid_from", "valid_to"}
)


@dataclass(frozen=True, slots=True)
class PriceItem:
    """One version of the price of one item."""

    code: str
    name: str
    en: str
    category: str
    item_class: str
    unit: str
    price: Decimal
    limit: Decimal | None
    valid_from: date
    valid_to: date | None
    line: int

    def in_force(self, day: date) -> bool:
        """This version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class PriceCatalogue:
    """Every version of every item, and the sources of the file."""

    path: Path
    sources: tuple[str, ...]
    items: tuple[PriceItem, ...]

    def item(self, code: str, day: date) -> PriceItem | None:
        """The version of item ``code`` in force on ``day``; None: unknown that day."""
        return next((i for i in self.items if i.code == code and i.in_force(day)), None)

    def items_on(self, day: date) -> tuple[PriceItem, ...]:
        """The items in force on ``day``, in file order."""
        return tuple(i for i in self.items if i.in_force(day))

    def limits_on(self, day: date) -> dict[str, Decimal]:
        """The 医保 price limits in force on ``day``, by item code."""
        return {i.code: i.limit for i in self.items_on(day) if i.limit is not None}


def price_item(code: str, day: date) -> PriceItem | None:
    """The packaged catalogue's version of item ``code`` in force on ``day``.

    Raises:
        PolicyError: the packaged file fails :func:`load_prices`.
    """
    return price_catalogue().item(code, day)


def price_catalogue() -> PriceCatalogue:
    """The packaged catalogue, read and checked once per process."""
    return _read(str(PACKAGED_FILE))


@cache
def _read(path: str) -> PriceCatalogue:
    return load_prices(Path(path))


def load_prices(path: Path = PACKAGED_FILE) -> PriceCatalogue:
    """Read and check a price catalogue.

    Raises:
        PolicyError: naming the file, the line of the entry and the fault — two versions of a
            code in force on one day, a price or limit that is not money (see
            :mod:`.policy_file`), an unknown class or category, a limit on a 丙类 item (医保
            pays none of it), a missing or unknown field, no sources.
    """
    file = read_data_file(path, "items")
    sources = file.data.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise PolicyError(f"{path}: `sources` must list where the prices come from")
    items = tuple(_item(line, raw, path) for line, raw in file.entries("items"))
    by_code: dict[str, list[tuple[int, date, date | None]]] = {}
    for i in items:
        by_code.setdefault(i.code, []).append((i.line, i.valid_from, i.valid_to))
    for code, spans in by_code.items():
        check_contiguous(spans, f"price item {code}", path, gaps=True)
    return PriceCatalogue(path, tuple(sources), items)


def _item(line: int, raw: Any, path: Path) -> PriceItem:
    head = raw if isinstance(raw, dict) else {}
    where = (
        f"{path}: line {line}: price item {head.get('code')} valid from {head.get('valid_from')}"
    )
    raw = check_fields(raw, where, _FIELDS, frozenset({"notes"}))
    item_class = raw["item_class"]
    if item_class not in ITEM_CLASSES:
        raise PolicyError(f"{where}: unknown item_class {item_class!r} (A 甲类, B 乙类, C 丙类)")
    if raw["category"] not in CATEGORIES:
        raise PolicyError(
            f"{where}: unknown category {raw['category']!r} ({', '.join(sorted(CATEGORIES))})"
        )
    limit = None if raw["limit"] is None else money(raw, "limit", where)
    if limit is not None and item_class == "C":
        raise PolicyError(f"{where}: a 丙类 item has no 医保 price limit (医保 pays none of it)")
    valid_from, valid_to = period(raw, where)
    return PriceItem(
        code=text_field(raw, "code", where, PolicyError),
        name=text_field(raw, "name", where, PolicyError),
        en=text_field(raw, "en", where, PolicyError),
        category=raw["category"],
        item_class=item_class,
        unit=text_field(raw, "unit", where, PolicyError),
        price=money(raw, "price", where),
        limit=limit,
        valid_from=valid_from,
        valid_to=valid_to,
        line=line,
    )
