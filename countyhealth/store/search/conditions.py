"""SQL conditions for search criteria, over the typed index tables.

Each criterion becomes a condition on a ``resource`` row (``res_pk IN (SELECT res_pk FROM idx_…
WHERE …)``); OR-values go inside the subquery, AND-criteria are separate conditions. Matching
rules follow https://hl7.org/fhir/R4/search.html per parameter type, with the prefix semantics
of ranges (search.html#prefix): a search value denotes the range its precision implies, and
each prefix is a relation between that range and the range of the stored value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.expression import literal

from ...errors import error
from ...fhir.indexing import cut
from ...fhir.instant import parse_period
from ...fhir.pinyin import query_key
from ...fhir.references import reference_target
from ...fhir.search_params import SearchParam
from ...fhir.search_request import Criterion, prefix_of, split_escaped
from ...fhir.text import normalize
from ...fhir.ucum import canonical
from ..dialect import starts_with
from ..schema import INDEX_TABLES, idx_reference, idx_token, resource

_NUMBER_PARTS = re.compile(r"^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$")
_BIG = 1e300


def like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ConditionBuilder:
    """Builds conditions for one search; ``base_url`` makes absolute local references local."""

    def __init__(self, base_url: str, types: Sequence[str], backend: str = "sqlite") -> None:
        self.base_url = base_url.rstrip("/")
        self.backend = backend
        self.types = list(types)
        self._drive = True
        self._top: FromClause | None = None
        self._types_now: list[str] = self.types
        #: After a top-level ``condition(drive=True)``: the subquery of res_pk it selects from,
        #: when it has one, so the caller can join on it instead of filtering by IN.
        self.driver: Select[Any] | None = None

    # ------------------------------------------------------------------ entry point

    def condition(
        self,
        crit: Criterion,
        res: FromClause,
        types: Sequence[str] | None = None,
        *,
        drive: bool = True,
    ) -> ColumnElement[bool]:
        """The condition of one criterion on the rows of ``res``.

        ``drive``: the criterion selects the candidate rows (``res_pk IN (…)``, and
        :attr:`driver` holds that subquery); otherwise it is checked per candidate row through
        the res_pk index (``EXISTS (… WHERE res_pk = …)``).
        """
        if self._top is None:
            self._top = res
            self.driver = None
            try:
                return self.condition(crit, res, types, drive=drive)
            finally:
                self._top = None
        self._drive = drive
        types = list(types or self.types)
        self._types_now = types
        param = crit.param
        if crit.has is not None:
            return self._has(crit, res, types)
        if crit.chain is not None:
            return self._chain(crit, res, types)
        if param.code == "_id":
            return self._id(crit, res)
        if param.code == "_lastUpdated":
            return self._last_updated(crit, res)
        table = INDEX_TABLES["string" if param.phonetic else param.type]
        if crit.modifier == "missing":
            cond = exists().where(table.c.res_pk == res.c.res_pk, table.c.param == param.code)
            return not_(cond) if crit.values[0] == "true" else cond
        if param.type == "reference" and crit.modifier == "identifier":
            return self._subquery(
                idx_token,
                types,
                f"{param.code}:identifier",
                res,
                [self._token_match(idx_token, v, None) for v in crit.values],
            )
        if param.type == "token" and crit.modifier == "of-type":
            return self._subquery(
                idx_token,
                types,
                f"{param.code}:of-type",
                res,
                [self._of_type(v) for v in crit.values],
            )
        try:
            if param.type == "reference" and not param.phonetic:
                matches = self._references(crit)
            elif param.type == "token" and crit.modifier is None and len(crit.values) > 1:
                matches = self._tokens(table, crit.values, param)
            else:
                matches = [self._value(param, crit, table, v) for v in crit.values]
        except (ValueError, OverflowError) as exc:
            raise error("CH-6003", f"{param.code}: {exc}", param.code) from exc
        if param.type == "token" and crit.modifier == "not":
            # a negation never selects candidates: it is checked per row
            self._drive = False
            return not_(self._subquery(table, types, param.code, res, matches))
        return self._subquery(table, types, param.code, res, matches)

    def _scope(self, table: FromClause, types: Sequence[str], code: str) -> ColumnElement[bool]:
        type_cond = table.c.res_type == types[0] if len(types) == 1 else table.c.res_type.in_(types)
        return and_(type_cond, table.c.param == code)

    def _subquery(
        self,
        table: FromClause,
        types: Sequence[str],
        code: str,
        res: FromClause,
        matches: list[ColumnElement[bool]],
    ) -> ColumnElement[bool]:
        if self._drive:
            sub = select(table.c.res_pk).where(self._scope(table, types, code), or_(*matches))
            if res is self._top:
                self.driver = sub
            return res.c.res_pk.in_(sub)
        return exists().where(table.c.res_pk == res.c.res_pk, table.c.param == code, or_(*matches))

    # ------------------------------------------------------------------ per type

    def _value(
        self, param: SearchParam, crit: Criterion, table: FromClause, raw: str
    ) -> ColumnElement[bool]:
        kind = param.type
        if param.phonetic:
            key = query_key(split_escaped(raw, "\x00")[0])
            if not key:
                raise error(
                    "CH-6003", f"phonetic: {raw[:40]!r} has no letters or Chinese characters"
                )
            return starts_with(table.c.value_norm, key, self.backend)
        if kind == "string":
            text = split_escaped(raw, "\x00")[0]
            if crit.modifier == "exact":
                return table.c.value_exact == text
            norm = normalize(text)
            if crit.modifier == "contains":
                return table.c.value_norm.like("%" + like_prefix(norm) + "%", escape="\\")
            return starts_with(table.c.value_norm, norm, self.backend)
        if kind == "token":
            if crit.modifier == "text":
                norm = normalize(split_escaped(raw, "\x00")[0])
                return starts_with(table.c.text_norm, norm, self.backend)
            return self._token_match(table, raw, param)
        if kind == "reference":
            return self._reference(crit, raw)
        if kind == "date":
            prefix, rest = prefix_of(raw)
            low, high = parse_period(rest)
            return range_relation(prefix, low, high, table.c.low_us, table.c.high_us, point=False)
        if kind == "number":
            prefix, rest = prefix_of(raw)
            nlow, nhigh, exact = number_range(rest)
            return number_relation(
                prefix, nlow, nhigh, exact, table.c.value_low, table.c.value_high
            )
        if kind == "quantity":
            return self._quantity(table, raw)
        if kind == "uri":
            return self._uri(table, crit, split_escaped(raw, "\x00")[0])
        if kind == "composite":
            return self._composite(param, table, raw)
        if kind == "special":
            return self._near(table, raw)
        raise error("CH-6001", f"{param.code}: {kind} parameters are not supported")

    def _token_match(
        self, table: FromClause, raw: str, param: SearchParam | None
    ) -> ColumnElement[bool]:
        parts = split_escaped(raw, "|")
        if len(parts) == 1:
            code = parts[0]
            if param is not None and _is_boolean_param(param):
                code = code.lower()
            return table.c.code == cut(code)
        system, code = parts[0], "|".join(parts[1:])
        conds = []
        conds.append(table.c.system.is_(None) if system == "" else table.c.system == cut(system))
        if code != "":
            conds.append(table.c.code == cut(code))
        return and_(*conds)

    def _tokens(
        self, table: FromClause, values: Sequence[str], param: SearchParam
    ) -> list[ColumnElement[bool]]:
        """The values of a token criterion (OR). ``system|code`` values of one system become
        one ``system = s AND code IN (…)``: an OR of (system, code) pairs lets SQLite use only
        the leading columns of the token index (every identifier of the type is read)."""
        by_system: dict[str, list[str]] = {}
        out: list[ColumnElement[bool]] = []
        for raw in values:
            parts = split_escaped(raw, "|")
            if len(parts) == 2 and parts[0] and parts[1]:
                by_system.setdefault(parts[0], []).append(str(cut(parts[1])))
            else:
                out.append(self._token_match(table, raw, param))
        for system, codes in by_system.items():
            code = table.c.code == codes[0] if len(codes) == 1 else table.c.code.in_(codes)
            out.append(and_(table.c.system == cut(system), code))
        return out

    def _of_type(self, raw: str) -> ColumnElement[bool]:
        parts = split_escaped(raw, "|")
        if len(parts) != 3:
            raise error("CH-6003", "identifier:of-type takes system|code|value")
        system, code, value = parts
        cond = idx_token.c.code == cut(f"{code}|{value}")
        return and_(idx_token.c.system == cut(system), cond) if system else cond

    def _references(self, crit: Criterion) -> list[ColumnElement[bool]]:
        """The values of a reference criterion (OR). Plain ``Type/id`` values are grouped per
        type into one ``target_id IN (…)``: an OR of (type, id) pairs keeps SQLite from using
        more than the index's leading columns, so ``result=Observation/a,Observation/b``
        scanned every DiagnosticReport.result row."""
        by_type: dict[str, list[str]] = {}
        others: list[ColumnElement[bool]] = []
        for raw in crit.values:
            target = self._plain_target(raw)
            if target is not None and crit.target_type in (None, target[0]):
                by_type.setdefault(target[0], []).append(target[1])
            else:
                others.append(self._reference(crit, raw))
        r = idx_reference
        grouped = [
            and_(r.c.target_type == rtype, r.c.target_id.in_(ids))
            if len(ids) > 1
            else and_(r.c.target_type == rtype, r.c.target_id == ids[0])
            for rtype, ids in by_type.items()
        ]
        return [*grouped, *others]

    def _plain_target(self, raw: str) -> tuple[str, str] | None:
        """(type, id) of a value that names a local resource without a version."""
        value = split_escaped(raw, "\x00")[0]
        if value.startswith(self.base_url + "/"):
            value = value[len(self.base_url) + 1 :]
        if "://" in value or value.startswith(("urn:", "#")) or "/_history/" in value:
            return None
        return reference_target(value) if "/" in value else None

    def _reference(self, crit: Criterion, raw: str) -> ColumnElement[bool]:
        value = split_escaped(raw, "\x00")[0]
        r = idx_reference
        if value.startswith(self.base_url + "/"):
            value = value[len(self.base_url) + 1 :]
        if "://" in value or value.startswith(("urn:", "#")):
            url, _, version = value.partition("|")
            cond = r.c.target_url == url
            return and_(cond, r.c.target_version == version) if version else cond
        target = reference_target(value) if "/" in value else None
        if target is not None:
            rtype, rid = target
            if crit.target_type is not None and crit.target_type != rtype:
                return false()
            cond = and_(r.c.target_type == rtype, r.c.target_id == rid)
            if "/_history/" in value:
                cond = and_(cond, r.c.target_version == value.rsplit("/", 1)[1])
            return cond
        if "/" in value:
            raise error("CH-6003", f"{crit.param.code}: {value[:60]!r} is not a reference")
        cond = r.c.target_id == value
        if crit.target_type is not None:
            cond = and_(cond, r.c.target_type == crit.target_type)
        return cond

    def _quantity(self, table: FromClause, raw: str) -> ColumnElement[bool]:
        prefix, rest = prefix_of(raw)
        parts = split_escaped(rest, "|")
        number, system, code = (
            parts[0],
            (parts[1] if len(parts) > 1 else ""),
            ("|".join(parts[2:]) if len(parts) > 2 else ""),
        )
        low, high, exact = number_range(number)
        rel = number_relation(prefix, low, high, exact, table.c.value_low, table.c.value_high)
        conversion = canonical(code) if code else None
        if conversion is not None and system in ("http://unitsofmeasure.org", ""):
            factor, base = conversion
            in_canonical = and_(
                table.c.canonical_code == base,
                number_relation(
                    prefix,
                    low * factor,
                    high * factor,
                    exact * factor,
                    table.c.canonical_low,
                    table.c.canonical_high,
                ),
            )
            if system:
                return in_canonical
            # value||code: the code or unit as written, whatever the system (search.html#quantity)
            return or_(in_canonical, and_(rel, or_(table.c.code == code, table.c.unit == code)))
        conds = [rel]
        if system:
            conds.append(table.c.system == system)
        if code:
            conds.append(
                or_(table.c.code == code, table.c.unit == code)
                if not system
                else table.c.code == code
            )
        return and_(*conds)

    def _uri(self, table: FromClause, crit: Criterion, value: str) -> ColumnElement[bool]:
        if crit.modifier == "below":
            # by path: .../ValueSet/county covers .../ValueSet/county/x, not .../countyside
            stem = value.rstrip("/")
            return or_(table.c.value == stem, starts_with(table.c.value, stem + "/", self.backend))
        if crit.modifier == "above":
            prefixes, current = [], value
            while current:
                prefixes.append(current)
                if "/" not in current.rstrip("/"):
                    break
                current = current.rstrip("/").rsplit("/", 1)[0]
            return table.c.value.in_(prefixes)
        return table.c.value == value

    def _composite(self, param: SearchParam, table: FromClause, raw: str) -> ColumnElement[bool]:
        parts = split_escaped(raw.replace("\\$", "\x01"), "$")
        if len(parts) != 2:
            raise error("CH-6003", f"{param.code}: write the two parts as first$second")
        first, second = (p.replace("\x01", "$") for p in parts)
        c1 = self._token_match_cols(table.c.c1_system, table.c.c1_code, first)
        kind = param.components[1].param_type
        if kind == "token":
            c2 = self._token_match_cols(table.c.c2_system, table.c.c2_code, second)
        elif kind in ("quantity", "number"):
            prefix, rest = prefix_of(second)
            pieces = split_escaped(rest, "|")
            low, high, exact = number_range(pieces[0])
            c2 = number_relation(prefix, low, high, exact, table.c.c2_low, table.c.c2_high)
            if len(pieces) > 2 and pieces[2]:
                c2 = and_(c2, table.c.c2_code == pieces[2])
        elif kind == "date":
            prefix, rest = prefix_of(second)
            lo, hi = parse_period(rest)
            c2 = range_relation(
                prefix, float(lo), float(hi), table.c.c2_low, table.c.c2_high, point=False
            )
        else:
            c2 = starts_with(table.c.c2_code, normalize(second), self.backend)
        return and_(c1, c2)

    @staticmethod
    def _token_match_cols(system_col: Any, code_col: Any, raw: str) -> ColumnElement[bool]:
        parts = split_escaped(raw, "|")
        if len(parts) == 1:
            return code_col == cut(parts[0])  # type: ignore[no-any-return,unused-ignore]
        system, code = parts[0], "|".join(parts[1:])
        conds = [system_col.is_(None) if system == "" else system_col == cut(system)]
        if code:
            conds.append(code_col == cut(code))
        return and_(*conds)

    def _near(self, table: FromClause, raw: str) -> ColumnElement[bool]:
        parts = split_escaped(raw, "|")
        lat, lon = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else 1.0
        unit = parts[3] if len(parts) > 3 and parts[3] else "km"
        km = {"km": 1.0, "m": 0.001, "mi": 1.609344, "[mi_i]": 1.609344}.get(unit)
        if km is None:
            raise error("CH-6003", f"near: unit {unit!r} not supported (km, m, [mi_i])")
        radius = distance * km
        dlat = radius / 111.32
        dlon = radius / (111.32 * max(math.cos(math.radians(lat)), 1e-6))
        # box first (index), then the equirectangular distance (accurate at county scale)
        kx = 111.32 * math.cos(math.radians(lat))
        dx = (table.c.longitude - lon) * kx
        dy = (table.c.latitude - lat) * 111.32
        return and_(
            table.c.latitude.between(lat - dlat, lat + dlat),
            table.c.longitude.between(lon - dlon, lon + dlon),
            dx * dx + dy * dy <= radius * radius,
        )

    # ------------------------------------------------------------------ columns of resource

    def _id(self, crit: Criterion, res: FromClause) -> ColumnElement[bool]:
        if crit.modifier == "missing":
            return false() if crit.values[0] == "true" else true()
        ids = [split_escaped(v, "\x00")[0] for v in crit.values]
        cond = res.c.res_id.in_(ids)
        if crit.modifier == "not":
            return not_(cond)
        if self._drive and res is self._top:
            by_id = resource.alias()
            self.driver = select(by_id.c.res_pk).where(
                by_id.c.res_type.in_(self._types_now),
                by_id.c.res_id.in_(ids),
                by_id.c.deleted == false(),
            )
        return cond

    def _last_updated(self, crit: Criterion, res: FromClause) -> ColumnElement[bool]:
        conds = []
        for raw in crit.values:
            prefix, rest = prefix_of(raw)
            low, high = parse_period(rest)
            col = res.c.last_updated_us
            conds.append(range_relation(prefix, low, high, col, col, point=True))
        return or_(*conds)

    # ------------------------------------------------------------------ chains

    def _nested(
        self, crit: Criterion, rows: FromClause, rtype: str
    ) -> tuple[ColumnElement[bool], Select[Any] | None]:
        """The condition of a criterion on another alias of ``resource`` (chains, _has), and
        the res_pk subquery it selects from when it has one."""
        saved = (self._top, self.driver, self._drive)
        self._top, self.driver = rows, None
        try:
            cond = self.condition(crit, rows, [rtype], drive=True)
            return cond, self.driver
        finally:
            self._top, self.driver, self._drive = saved

    def _chain(self, crit: Criterion, res: FromClause, types: Sequence[str]) -> ColumnElement[bool]:
        assert crit.chain is not None and crit.target_type is not None
        target = resource.alias()
        inner, driver = self._nested(crit.chain, target, crit.target_type)
        alive = and_(target.c.res_type == crit.target_type, target.c.deleted == false())
        if driver is not None:
            # look the (few) matching targets up by key instead of scanning the type; index
            # rows exist only for live resources of the type, so no further test is needed
            d = driver.subquery()
            targets = select(target.c.res_id).select_from(
                d.join(target, target.c.res_pk == d.c.res_pk)
            )
        else:
            targets = select(target.c.res_id).where(alive, inner)
        r = idx_reference
        return self._subquery(
            r,
            types,
            crit.param.code,
            res,
            [and_(r.c.target_type == crit.target_type, r.c.target_id.in_(targets))],
        )

    def _has(self, crit: Criterion, res: FromClause, types: Sequence[str]) -> ColumnElement[bool]:
        has = crit.has
        assert has is not None
        source = resource.alias()
        inner, driver = self._nested(has.criterion, source, has.source_type)
        r = idx_reference
        refs = and_(
            r.c.res_type == has.source_type,
            r.c.param == has.reference_param.code,
            r.c.target_type.in_(types),
            source.c.deleted == false(),
        )
        if driver is not None:
            # the driver holds live sources only (see _chain)
            d = driver.subquery()
            sub = (
                select(r.c.target_id)
                .select_from(d.join(r, r.c.res_pk == d.c.res_pk))
                .where(
                    r.c.res_type == has.source_type,
                    r.c.param == has.reference_param.code,
                    r.c.target_type.in_(types),
                )
            )
        else:
            sub = (
                select(r.c.target_id).join(source, source.c.res_pk == r.c.res_pk).where(refs, inner)
            )
        return res.c.res_id.in_(sub)


def selectivity(crit: Criterion) -> int:
    """A rough rank of how few rows a criterion selects (lower: fewer). The best-ranked
    criterion drives the query; the others are checked per candidate row."""
    param = crit.param
    if crit.modifier in ("missing", "not") or any(
        v.startswith("ne") for v in crit.values if param.type in ("date", "number", "quantity")
    ):
        return 9
    if param.code == "_id":
        return 0
    if crit.has is not None:
        return 4
    if crit.chain is not None:
        return 2 + selectivity(crit.chain)
    if param.code == "identifier" or crit.modifier in ("identifier", "of-type"):
        return 1
    if param.type == "reference":
        return 1
    if param.type == "string":
        return 2 if crit.modifier == "exact" else 3
    if param.type in ("uri", "token", "composite", "special"):
        return 3
    if param.type == "date" and all(_within_a_day(v) for v in crit.values):
        return 2  # a day (a birth date) names few rows; a token such as gender names half
    return 5


def _within_a_day(value: str) -> bool:
    """An ``eq`` date search value of day precision or finer (``2005-06-03``, ``eq2005-06-03``)."""
    text = value[2:] if value[:2] == "eq" else value
    return len(text) >= 10 and text[:1].isdigit()


def _is_boolean_param(param: SearchParam) -> bool:
    return param.code in ("active", "deceased", "actual", "experimental")


def number_range(text: str) -> tuple[float, float, float]:
    """The range [low, high) a decimal search value implies by its precision, and its value."""
    m = _NUMBER_PARTS.match(text)
    if m is None or not (m.group(2) or m.group(3)):
        raise error("CH-6003", f"{text[:40]!r} is not a number")
    value = float(text)
    decimals = len(m.group(3) or "")
    exponent = int(m.group(4) or 0)
    if not math.isfinite(value) or abs(exponent - decimals) > 300:
        raise error("CH-6003", f"{text[:40]!r} is out of the range of numbers this server compares")
    half = 0.5 * 10.0 ** (exponent - decimals)
    return value - half, value + half, value


def range_relation(
    prefix: str, sl: int | float, sh: int | float, tl: Any, th: Any, *, point: bool
) -> ColumnElement[bool]:
    """The R4 prefix relation between search range [sl, sh] and stored range [tl, th].

    ``eq`` also states ``tl <= sh`` (implied, since a stored range never ends before it
    starts): it bounds the index range on (low, high) from both sides, so that a day's
    birth dates are read as a short range rather than every later date.
    """
    eq = and_(tl >= sl, tl <= sh, th <= sh)
    if prefix == "eq":
        return eq
    if prefix == "ne":
        return not_(eq)
    if prefix == "gt":
        return th > sh
    if prefix == "lt":
        return tl < sl
    if prefix == "ge":
        return or_(th > sh, eq) if not point else tl >= sl
    if prefix == "le":
        return or_(tl < sl, eq) if not point else th <= sh
    if prefix == "sa":
        return tl > sh
    if prefix == "eb":
        return th < sl
    if prefix == "ap":
        import time

        now = time.time() * 1e6
        margin = max(abs(now - sl), abs(now - sh)) * 0.1 + (sh - sl)
        # integer bounds for the integer date columns (a float would make PostgreSQL compare
        # as numeric and skip the index)
        return and_(tl <= type(sh)(sh + margin), th >= type(sl)(sl - margin))
    raise error("CH-6003", f"unknown prefix {prefix}")


def number_relation(
    prefix: str, low: float, high: float, exact: float, tl: Any, th: Any
) -> ColumnElement[bool]:
    """Prefix relation for numbers and quantities: eq/ne/ap use the precision range."""
    if prefix == "eq":
        return and_(tl >= low, th < high)
    if prefix == "ne":
        return not_(and_(tl >= low, th < high))
    if prefix == "gt":
        return th > exact
    if prefix == "lt":
        return tl < exact
    if prefix == "ge":
        return th >= exact
    if prefix == "le":
        return tl <= exact
    if prefix == "sa":
        return tl > exact
    if prefix == "eb":
        return th < exact
    if prefix == "ap":
        margin = abs(exact) * 0.1
        return and_(tl <= exact + margin, th >= exact - margin)
    raise error("CH-6003", f"unknown prefix {prefix}")


__all__ = ["ConditionBuilder", "exists", "like_prefix", "literal", "number_range"]
