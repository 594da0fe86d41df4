"""Commercial health insurance plans (商业健康保险) that pay part of a patient's bill directly
to the facility (直付) after basic insurance, as dated data (``data/commercial_plans.json``).

A plan pays ``ratio`` of the burden it covers, above its own annual deductible and up to its
annual cap: ``in-scope`` plans cover what the patient still bears of the in-scope amount
(符合政策范围) after the basic fund, 大病保险 and 医疗救助; ``all`` plans also cover the
self-pay parts (全自费, 超限价自费, 先行自付), as international insurers' plans do for foreign
residents, most of whom have no basic insurance (the Yiwu report, shared/seeds/000: 22
international insurers settle directly, "签字刷卡即结算").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from ..policy_data import text_field
from .policy_file import (
    PolicyError,
    check_contiguous,
    check_fields,
    money,
    period,
    ratio,
    read_data_file,
)

PACKAGED_FILE = Path(__file__).resolve().parent / "data" / "commercial_plans.json"

COVERS = ("in-scope", "all")
_FIELDS = frozenset(
    {"id", "insurer", "name", "international", "direct_billing", "covers", "deductible_per_year"}
    | {"ratio", "cap_per_year", "valid_from", "valid_to", "source"}
)


@dataclass(frozen=True, slots=True)
class CommercialPlan:
    """One version of one plan; ``insurer`` is the id of the insurer's Organization."""

    id: str
    insurer: str
    name: str
    international: bool
    direct_billing: bool
    covers: str
    deductible: Decimal
    ratio: Decimal
    cap: Decimal
    valid_from: date
    valid_to: date | None
    line: int
    source: str

    def in_force(self, day: date) -> bool:
        """This version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class PlanBook:
    """Every version of every plan in the file."""

    path: Path
    plans: tuple[CommercialPlan, ...]

    def plans_on(self, day: date) -> dict[str, CommercialPlan]:
        """The plans in force on ``day``, by id."""
        return {p.id: p for p in self.plans if p.in_force(day)}

    def plan(self, plan_id: str, day: date) -> CommercialPlan | None:
        """The version of plan ``plan_id`` in force on ``day``."""
        return self.plans_on(day).get(plan_id)

    def for_insurer(self, insurer: str, day: date) -> CommercialPlan | None:
        """The plan in force on ``day`` of the insurer whose Organization id is ``insurer``
        (the ``payor`` of a commercial Coverage); the first in the file if it has several."""
        return next((p for p in self.plans if p.insurer == insurer and p.in_force(day)), None)


def commercial_plans() -> PlanBook:
    """The packaged plans, read and checked once per process."""
    return _read(str(PACKAGED_FILE))


@cache
def _read(path: str) -> PlanBook:
    return load_plans(Path(path))


def load_plans(path: Path = PACKAGED_FILE) -> PlanBook:
    """Read and check a commercial plan file.

    Raises:
        PolicyError: naming the file, the line of the entry and the fault — two versions of a
            plan in force on one day, money or ratio as in :mod:`.policy_file`, an unknown
            ``covers``, a plan that does not bill directly (the engine settles direct billing
            only), a missing or unknown field.
    """
    file = read_data_file(path, "plans")
    plans = tuple(_plan(line, raw, path) for line, raw in file.entries("plans"))
    by_id: dict[str, list[tuple[int, date, date | None]]] = {}
    for p in plans:
        by_id.setdefault(p.id, []).append((p.line, p.valid_from, p.valid_to))
    for plan_id, spans in by_id.items():
        check_contiguous(spans, f"plan {plan_id}", path, gaps=True)
    return PlanBook(path, plans)


def _plan(line: int, raw: Any, path: Path) -> CommercialPlan:
    head = raw if isinstance(raw, dict) else {}
    where = f"{path}: line {line}: plan {head.get('id')} valid from {head.get('valid_from')}"
    raw = check_fields(raw, where, _FIELDS, frozenset({"notes"}))
    if raw["covers"] not in COVERS:
        raise PolicyError(f"{where}: covers {raw['covers']!r} must be one of {', '.join(COVERS)}")
    for flag in ("international", "direct_billing"):
        if not isinstance(raw[flag], bool):
            raise PolicyError(f"{where}: {flag} must be true or false")
    if not raw["direct_billing"]:
        raise PolicyError(f"{where}: only plans that bill directly (直付) are settled here")
    valid_from, valid_to = period(raw, where)
    return CommercialPlan(
        id=text_field(raw, "id", where, PolicyError),
        insurer=text_field(raw, "insurer", where, PolicyError),
        name=text_field(raw, "name", where, PolicyError),
        international=raw["international"],
        direct_billing=True,
        covers=raw["covers"],
        deductible=money(raw, "deductible_per_year", where),
        ratio=ratio(raw, "ratio", where),
        cap=money(raw, "cap_per_year", where),
        valid_from=valid_from,
        valid_to=valid_to,
        line=line,
        source=text_field(raw, "source", where, PolicyError),
    )
