"""Basic medical insurance policy (基本医疗保险) per insurance area (统筹区) and scheme, as dated
data (``data/insurance_policy.json``), and :func:`policy_for`, which gathers what the
settlement engine needs for one person's visit on one day.

Each entry of the file is one version of the rules of one (area, scheme), in force from
``valid_from`` to ``valid_to`` (both inclusive; null: open). The versions of an (area, scheme)
must follow each other without gap or overlap: a visit on any day after the first version has
exactly one set of rules. The schemes are 职工基本医疗保险 (``employee``, insurance type 310)
and 城乡居民基本医疗保险 (``resident``, 390); the levels of facility are ``primary`` (基层:
乡镇卫生院, 社区卫生服务中心), ``secondary`` (二级, the county hospitals) and ``tertiary``
(三级). DOMAIN.md §2(e) lists the parameters; the file's sources say where each number comes
from and which are configuration only.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from ..policy_data import text_field
from .plans import CommercialPlan, PlanBook, commercial_plans
from .policy_file import (
    DataFile,
    PolicyError,
    check_contiguous,
    check_fields,
    money,
    period,
    ratio,
    read_data_file,
)
from .prices import PriceCatalogue, price_catalogue

PACKAGED_FILE = Path(__file__).resolve().parent / "data" / "insurance_policy.json"

SCHEMES = ("employee", "resident")
#: Coverage.type codes of the basic insurance (countyhealth/synthetic/data/codesystems.json).
SCHEME_OF_INSURANCE_TYPE = {"310": "employee", "390": "resident"}
LEVELS = ("primary", "secondary", "tertiary")
SETTINGS = ("outpatient", "inpatient")
ROUNDING_MODES = frozenset(
    {"ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_UP", "ROUND_DOWN"}
)
QUANTA = frozenset({Decimal("0.01"), Decimal("0.1"), Decimal("1")})

_VERSION_FIELDS = frozenset(
    {"area", "scheme", "valid_from", "valid_to", "source", "deductible", "fund_ratio"}
    | {"fund_cap", "class_b_self_pay_ratio", "catastrophic", "assistance", "personal_account"}
)
_OPTIONAL = frozenset({"area_name", "notes"})


@dataclass(frozen=True, slots=True)
class Rounding:
    """How every amount of a settlement is rounded: ``mode`` of :mod:`decimal` to ``quantum``."""

    mode: str
    quantum: Decimal

    def __call__(self, value: Decimal) -> Decimal:
        return value.quantize(self.quantum, rounding=self.mode)

    def down(self, value: Decimal) -> Decimal:
        """``value`` rounded towards zero (used to share an amount out over lines)."""
        return value.quantize(self.quantum, rounding=decimal.ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class Band:
    """A band of 大病保险: ``ratio`` of the burden from ``over`` above its deductible."""

    over: Decimal
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class Catastrophic:
    """大病保险 (职工: 大额/大病): pays by bands on the year's in-scope personal burden above
    ``deductible``, counting settlements of ``settings`` only, at most ``cap`` a year."""

    deductible: Decimal
    bands: tuple[Band, ...]
    cap: Decimal
    settings: frozenset[str]


@dataclass(frozen=True, slots=True)
class AssistanceCategory:
    """A category of 医疗救助: ``ratio`` of the in-scope burden left, ``cap`` a year."""

    code: str
    name: str
    ratio: Decimal
    cap: Decimal


@dataclass(frozen=True, slots=True)
class SchemePolicy:
    """One version of the rules of one scheme in one insurance area."""

    area: str
    scheme: str
    valid_from: date
    valid_to: date | None
    line: int
    source: str
    #: 起付线 of outpatient care, per person per year, by facility level.
    outpatient_deductible: Mapping[str, Decimal]
    #: 起付线 of inpatient care, per admission (one settlement), by facility level.
    inpatient_deductible: Mapping[str, Decimal]
    #: 统筹基金支付比例 by setting, then level.
    fund_ratio: Mapping[str, Mapping[str, Decimal]]
    #: 门诊统筹 annual limit; the fund pays outpatient care up to it.
    outpatient_fund_cap: Decimal
    #: 统筹基金最高支付限额: the fund pays all care of the year up to it.
    annual_fund_cap: Decimal
    #: 先行自付: share of a 乙类 item the patient pays before the item counts as in scope.
    class_b_self_pay: Decimal
    catastrophic: Catastrophic | None
    assistance: Mapping[str, AssistanceCategory]
    personal_account: bool

    @property
    def key(self) -> str:
        """Names the version, e.g. ``339001/resident/2025-01-01`` (kept with a settlement)."""
        return f"{self.area}/{self.scheme}/{self.valid_from.isoformat()}"

    def in_force(self, day: date) -> bool:
        """This version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def deductible(self, setting: str, level: str) -> Decimal:
        """The full 起付线 of ``setting`` at ``level`` (per year outpatient, per admission inpatient)."""
        table = self.outpatient_deductible if setting == "outpatient" else self.inpatient_deductible
        return table[level]


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every version in the file, and the rounding rule it states."""

    path: Path
    rounding: Rounding
    sources: tuple[str, ...]
    versions: tuple[SchemePolicy, ...]

    def version(self, area: str, scheme: str, day: date) -> SchemePolicy | None:
        """The rules of ``scheme`` in ``area`` in force on ``day``."""
        return next(
            (v for v in self.versions if v.area == area and v.scheme == scheme and v.in_force(day)),
            None,
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything a settlement of one person's visit on ``day`` is computed with.

    ``basic`` is None for a person without basic insurance (self-pay); ``plans`` are the
    commercial plans in force, by id; ``limits`` the 医保 price limits (限价) by item code.
    """

    area: str
    scheme: str | None
    day: date
    rounding: Rounding
    basic: SchemePolicy | None
    plans: Mapping[str, CommercialPlan]
    limits: Mapping[str, Decimal]


def policy_for(
    area: str,
    scheme: str | None,
    day: date,
    *,
    book: PolicyBook | None = None,
    plans: PlanBook | None = None,
    prices: PriceCatalogue | None = None,
) -> Policy:
    """The policy for a person insured in ``area`` under ``scheme`` (None: uninsured) on ``day``.

    Args:
        area: the 统筹区 code (the synthetic county's is 339001).
        scheme: ``employee``, ``resident`` or None.
        day: the day of the visit (its settlement uses the rules in force that day).
        book, plans, prices: the data to use; None: the packaged files.

    Raises:
        PolicyError: an unknown scheme, or no version of the rules in force that day.
    """
    book = book or insurance_policy()
    plans = plans or commercial_plans()
    prices = prices or price_catalogue()
    basic = None
    if scheme is not None:
        if scheme not in SCHEMES:
            raise PolicyError(f"unknown scheme {scheme!r} ({', '.join(SCHEMES)})")
        basic = book.version(area, scheme, day)
        if basic is None:
            raise PolicyError(f"no {scheme} insurance policy of area {area} in force on {day}")
    return Policy(
        area=area,
        scheme=scheme,
        day=day,
        rounding=book.rounding,
        basic=basic,
        plans=plans.plans_on(day),
        limits=prices.limits_on(day),
    )


def insurance_policy() -> PolicyBook:
    """The packaged policy file, read and checked once per process."""
    return _read(str(PACKAGED_FILE))


@cache
def _read(path: str) -> PolicyBook:
    return load_policy(Path(path))


def load_policy(path: Path = PACKAGED_FILE) -> PolicyBook:
    """Read and check an insurance policy file (``data/insurance_policy.json`` or a county's).

    Raises:
        PolicyError: naming the file, the line of the entry at fault and the fault — the
            versions of an (area, scheme) leave a gap or overlap; money that is not a string,
            not a number, negative or finer than fen; a ratio outside 0 to 1; an unknown or
            missing scheme, level, setting or field; bands of 大病保险 that do not start at 0
            or do not rise; a repeated assistance category; no sources; an unknown rounding.
    """
    file = read_data_file(path, "policies")
    data = file.data
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise PolicyError(f"{path}: `sources` must list where the numbers come from")
    versions = tuple(_version(line, raw, path) for line, raw in file.entries("policies"))
    _check_periods(file, versions)
    return PolicyBook(path, _rounding(data.get("rounding"), path), tuple(sources), versions)


def _rounding(raw: Any, path: Path) -> Rounding:
    where = f"{path}: rounding"
    raw = check_fields(raw, where, frozenset({"mode", "quantum"}), frozenset({"notes"}))
    mode = raw["mode"]
    if mode not in ROUNDING_MODES:
        raise PolicyError(
            f"{where}: mode {mode!r} must be one of {', '.join(sorted(ROUNDING_MODES))}"
        )
    quantum = money(raw, "quantum", where)
    if quantum not in QUANTA:
        raise PolicyError(f"{where}: quantum {raw['quantum']!r} must be 0.01, 0.1 or 1")
    return Rounding(mode, quantum)


def _version(line: int, raw: Any, path: Path) -> SchemePolicy:
    head = raw if isinstance(raw, dict) else {}
    where = (
        f"{path}: line {line}: policy {head.get('area')}/{head.get('scheme')} "
        f"valid from {head.get('valid_from')}"
    )
    raw = check_fields(raw, where, _VERSION_FIELDS, _OPTIONAL)
    scheme = raw["scheme"]
    if scheme not in SCHEMES:
        raise PolicyError(f"{where}: unknown scheme {scheme!r} ({', '.join(SCHEMES)})")
    valid_from, valid_to = period(raw, where)
    deductible = check_fields(
        raw["deductible"],
        f"{where}: deductible",
        frozenset({"outpatient_per_year", "inpatient_per_admission"}),
    )
    ratios = check_fields(raw["fund_ratio"], f"{where}: fund_ratio", frozenset(SETTINGS))
    caps = check_fields(
        raw["fund_cap"], f"{where}: fund_cap", frozenset({"outpatient_per_year", "annual"})
    )
    if not isinstance(raw["personal_account"], bool):
        raise PolicyError(f"{where}: personal_account must be true or false")
    return SchemePolicy(
        area=text_field(raw, "area", where, PolicyError),
        scheme=scheme,
        valid_from=valid_from,
        valid_to=valid_to,
        line=line,
        source=text_field(raw, "source", where, PolicyError),
        outpatient_deductible=_by_level(
            deductible["outpatient_per_year"], f"{where}: deductible.outpatient_per_year", money
        ),
        inpatient_deductible=_by_level(
            deductible["inpatient_per_admission"],
            f"{where}: deductible.inpatient_per_admission",
            money,
        ),
        fund_ratio={s: _by_level(ratios[s], f"{where}: fund_ratio.{s}", ratio) for s in SETTINGS},
        outpatient_fund_cap=money(caps, "outpatient_per_year", f"{where}: fund_cap"),
        annual_fund_cap=money(caps, "annual", f"{where}: fund_cap"),
        class_b_self_pay=ratio(raw, "class_b_self_pay_ratio", where),
        catastrophic=_catastrophic(raw["catastrophic"], f"{where}: catastrophic"),
        assistance=_assistance(raw["assistance"], f"{where}: assistance"),
        personal_account=raw["personal_account"],
    )


def _by_level(
    raw: Any, where: str, read: Callable[[dict[str, Any], str, str], Decimal]
) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be an object by facility level")
    unknown = sorted(raw.keys() - set(LEVELS))
    if unknown:
        raise PolicyError(
            f"{where}: unknown level {', '.join(map(repr, unknown))} ({', '.join(LEVELS)})"
        )
    missing = [level for level in LEVELS if level not in raw]
    if missing:
        raise PolicyError(f"{where}: missing level {', '.join(missing)}")
    return {level: read(raw, level, where) for level in LEVELS}


def _catastrophic(raw: Any, where: str) -> Catastrophic | None:
    if raw is None:
        return None
    raw = check_fields(
        raw,
        where,
        frozenset({"deductible_per_year", "settings", "bands", "cap_per_year"}),
        frozenset({"notes"}),
    )
    settings = raw["settings"]
    if not isinstance(settings, list) or not settings or not set(settings) <= set(SETTINGS):
        raise PolicyError(f"{where}: settings {settings!r} must list outpatient and/or inpatient")
    bands_raw = raw["bands"]
    if not isinstance(bands_raw, list) or not bands_raw:
        raise PolicyError(f"{where}: `bands` must be a non-empty list")
    bands: list[Band] = []
    for n, band in enumerate(bands_raw, start=1):
        at = f"{where}: band {n}"
        band = check_fields(band, at, frozenset({"over", "ratio"}))
        over = money(band, "over", at)
        if not bands and over != 0:
            raise PolicyError(f"{at}: the first band must start at over '0.00'")
        if bands and over <= bands[-1].over:
            raise PolicyError(f"{at}: over {band['over']!r} must be above the band before")
        bands.append(Band(over, ratio(band, "ratio", at)))
    return Catastrophic(
        deductible=money(raw, "deductible_per_year", where),
        bands=tuple(bands),
        cap=money(raw, "cap_per_year", where),
        settings=frozenset(settings),
    )


def _assistance(raw: Any, where: str) -> dict[str, AssistanceCategory]:
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: must be a list of categories (may be empty)")
    out: dict[str, AssistanceCategory] = {}
    for item in raw:
        name = item.get("category") if isinstance(item, dict) else repr(item)
        at = f"{where}: category {name}"
        item = check_fields(item, at, frozenset({"category", "name", "ratio", "cap_per_year"}))
        code = text_field(item, "category", at, PolicyError)
        if code in out:
            raise PolicyError(f"{at}: listed twice")
        out[code] = AssistanceCategory(
            code,
            text_field(item, "name", at, PolicyError),
            ratio(item, "ratio", at),
            money(item, "cap_per_year", at),
        )
    return out


def _check_periods(file: DataFile, versions: tuple[SchemePolicy, ...]) -> None:
    groups: dict[tuple[str, str], list[tuple[int, date, date | None]]] = {}
    for v in versions:
        groups.setdefault((v.area, v.scheme), []).append((v.line, v.valid_from, v.valid_to))
    for (area, scheme), spans in groups.items():
        check_contiguous(spans, f"policy {area}/{scheme}", file.path)
