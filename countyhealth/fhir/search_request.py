"""Parsing of FHIR search requests into a checked, typed form (no SQL here).

Follows https://hl7.org/fhir/R4/search.html: ``name[:modifier]=value[,value]`` with OR by comma
and AND by repetition; escaping of ``\\,`` ``\\|`` ``\\$`` and ``\\\\``; prefixes on ordered
types; chained parameters (``subject:Patient.name``) and reverse chains
(``_has:Observation:patient:code``); result parameters ``_sort``, ``_count``, ``_include``,
``_revinclude``, ``_summary``, ``_elements``, ``_total``. Unknown parameters are an error under
``Prefer: handling=strict`` and reported as warnings otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import Issue, OperationOutcomeError, error
from . import definitions
from .instant import parse_period
from .search_params import ORDERED_TYPES, PREFIXES, SearchParam, params_for

MAX_CHAIN_DEPTH = 3
MAX_HAS_DEPTH = 2
MAX_VALUES = 100

#: Parameters that shape the result rather than select resources.
RESULT_PARAMS = frozenset(
    {
        "_sort",
        "_count",
        "_include",
        "_revinclude",
        "_summary",
        "_elements",
        "_total",
        "_page",
        "_format",
        "_pretty",
        "_type",
    }
)
_SUMMARY = ("true", "false", "text", "data", "count")
_TOTAL = ("none", "estimate", "accurate")
_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[-+0-9.])")


@dataclass(frozen=True)
class Criterion:
    """One parameter occurrence: values are ORed; criteria of a request are ANDed."""

    param: SearchParam
    modifier: str | None
    values: tuple[str, ...]  # raw values, escaping still in place (see split_escaped)
    chain: Criterion | None = None  # for chained references: the criterion on the target
    target_type: str | None = None  # reference type restriction (:Type or chain type)
    has: HasClause | None = None


@dataclass(frozen=True)
class HasClause:
    """``_has:Type:param:...``: resources referred to by ``Type.param`` whose criterion holds."""

    source_type: str
    reference_param: SearchParam
    criterion: Criterion


@dataclass(frozen=True)
class Include:
    source_type: str
    param: str  # a reference parameter code or "*"
    target_type: str | None
    iterate: bool


@dataclass(frozen=True)
class SortKey:
    param: SearchParam | None  # None for _id / _lastUpdated columns
    code: str
    descending: bool


@dataclass
class SearchRequest:
    resource_types: tuple[str, ...]  # one type, or several for system search
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = 50
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    summary: str | None = None
    elements: tuple[str, ...] = ()
    total: str | None = None  # None: not asked (a total is given when it costs nothing)
    page: str | None = None
    warnings: list[Issue] = field(default_factory=list)


def split_escaped(value: str, sep: str, *, keep_escapes: bool = False) -> list[str]:
    """Split at unescaped ``sep`` (search.html#escaping); escapes are removed unless
    ``keep_escapes`` (OR-splitting leaves them for the typed parsers)."""
    parts, current, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2] if keep_escapes else value[i + 1])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _split_or(value: str) -> list[str]:
    return split_escaped(value, ",", keep_escapes=True)


def prefix_of(value: str) -> tuple[str, str]:
    """Split an ordered value into (prefix, rest); the default prefix is ``eq``."""
    m = _PREFIX.match(value)
    if m is None:
        if value[:2].isalpha() and value[:2] not in PREFIXES and value[:2].islower():
            raise error(
                "CH-6003",
                f"{value[:40]!r}: unknown prefix {value[:2]!r}; use one of {', '.join(PREFIXES)}",
            )
        return "eq", value
    return m.group(1), value[2:]


class _Parser:
    def __init__(self, strict: bool, max_count: int, default_count: int) -> None:
        self.strict = strict
        self.max_count = max_count
        self.default_count = default_count
        self.warnings: list[Issue] = []

    def unknown(self, name: str, why: str, code: str = "CH-6001") -> None:
        if self.strict:
            raise error(code, why, name)
        self.warnings.append(Issue(code, f"ignored: {why}", [name], severity="warning"))

    def criterion(
        self, rtype: str, name: str, values: list[str], depth: int = 0
    ) -> Criterion | None:
        if name.startswith("_has:"):
            return self.has(rtype, name, values, depth)
        head, dot, rest = name.partition(".")
        code, _, modifier = head.partition(":")
        param = params_for(rtype).get(code)
        if param is None:
            self.unknown(name, f"{rtype} has no search parameter {code!r}")
            return None
        mod: str | None = modifier or None
        target_type = None
        if mod is not None and param.type == "reference" and mod[0].isupper():
            if mod not in definitions.resource_types():
                raise error("CH-6002", f"{name}: {mod} is not a resource type", name)
            if param.targets and mod not in param.targets:
                raise error("CH-6002", f"{name}: {code} cannot refer to a {mod}", name)
            target_type, mod = mod, None
        if mod is not None and mod not in param.modifiers:
            raise error(
                "CH-6002",
                f"{name}: modifier :{mod} is not supported for {param.type} parameter {code}",
                name,
            )
        if dot:
            if param.type != "reference":
                raise error(
                    "CH-6004",
                    f"{name}: {code} is a {param.type} parameter; only references can be chained",
                    name,
                )
            if depth >= MAX_CHAIN_DEPTH:
                raise error(
                    "CH-6004", f"{name}: chains are limited to {MAX_CHAIN_DEPTH} levels", name
                )
            targets = [target_type] if target_type else list(param.targets)
            if len(targets) != 1:
                usable = [
                    t for t in targets if rest.partition(".")[0].partition(":")[0] in params_for(t)
                ]
                if len(usable) != 1:
                    raise error(
                        "CH-6004",
                        f"{name}: say which type {code} refers to, e.g. "
                        f"{code}:{(usable or targets or ['Patient'])[0]}.{rest}",
                        name,
                    )
                targets = usable
            inner = self.criterion(targets[0], rest, values, depth + 1)
            if inner is None:
                return None
            return Criterion(param, None, (), chain=inner, target_type=targets[0])
        if len(values) > MAX_VALUES:
            raise error("CH-6003", f"{name}: at most {MAX_VALUES} values", name)
        for v in values:
            self.check_value(param, mod, name, v)
        return Criterion(param, mod, tuple(values), target_type=target_type)

    def has(self, rtype: str, name: str, values: list[str], depth: int) -> Criterion | None:
        parts = name.split(":", 3)
        if len(parts) < 4:
            raise error("CH-6006", f"{name}: write _has:Type:reference:parameter=value", name)
        _, source, ref_code, rest = parts
        if depth >= MAX_HAS_DEPTH:
            raise error("CH-6006", f"{name}: _has may be nested at most {MAX_HAS_DEPTH} deep", name)
        if source not in definitions.resource_types():
            raise error("CH-6006", f"{name}: {source} is not a resource type", name)
        ref = params_for(source).get(ref_code)
        if ref is None or ref.type != "reference":
            raise error("CH-6006", f"{name}: {source} has no reference parameter {ref_code}", name)
        if ref.targets and rtype not in ref.targets:
            raise error("CH-6006", f"{name}: {source}.{ref_code} does not refer to {rtype}", name)
        inner = self.criterion(source, rest, values, depth + 1)
        if inner is None:
            return None
        return Criterion(ref, None, (), has=HasClause(source, ref, inner))

    def check_value(self, param: SearchParam, modifier: str | None, name: str, raw: str) -> None:
        if raw == "":
            raise error("CH-6003", f"{name}: empty value", name)
        if modifier == "missing":
            if raw not in ("true", "false"):
                raise error("CH-6003", f"{name}: :missing takes true or false", name)
            return
        if param.type in ORDERED_TYPES:
            _, rest = prefix_of(raw)
            if param.type == "date":
                try:
                    parse_period(rest)
                except ValueError as exc:
                    raise error("CH-6003", f"{name}: {rest[:40]!r} is not a date", name) from exc
            else:
                number = split_escaped(rest, "|")[0]
                if not _NUMBER.match(number):
                    raise error("CH-6003", f"{name}: {number[:40]!r} is not a number", name)
        if param.type == "special" and param.code == "near":
            parts = split_escaped(raw, "|")
            numbers = parts[:2] + [p for p in parts[2:3] if p]
            if len(parts) < 2 or not all(_NUMBER.match(p) for p in numbers):
                raise error("CH-6003", f"{name}: write latitude|longitude|distance|unit", name)
        if param.type == "composite" and param.components:
            parts = split_escaped(raw.replace("\\$", "\x01"), "$")
            if len(parts) != 2 or not all(parts):
                raise error("CH-6003", f"{name}: write the two parts as first$second", name)
            kind = param.components[1].param_type
            second = parts[1].replace("\x01", "$")
            if kind in ORDERED_TYPES:
                _, rest = prefix_of(second)
                if kind == "date":
                    try:
                        parse_period(rest)
                    except ValueError as exc:
                        raise error(
                            "CH-6003", f"{name}: {rest[:40]!r} is not a date", name
                        ) from exc
                elif not _NUMBER.match(split_escaped(rest, "|")[0]):
                    raise error("CH-6003", f"{name}: {rest[:40]!r} is not a number", name)


_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def parse_search(
    resource_types: Iterable[str],
    params: list[tuple[str, str]],
    *,
    strict: bool = False,
    default_count: int = 50,
    max_count: int = 1000,
) -> SearchRequest:
    """Parse query parameters (in order, repeated names kept) for a search of ``resource_types``.

    Raises:
        OperationOutcomeError: CH-6xxx for malformed searches (always) and for unknown
            parameters when ``strict``.
    """
    types = tuple(resource_types)
    parser = _Parser(strict, max_count, default_count)
    req = SearchRequest(types, count=default_count)
    for name, value in params:
        base = name.partition(":")[0] if name.startswith(("_include", "_revinclude")) else name
        if base in RESULT_PARAMS:
            if name.endswith(":iterate"):
                value += ":iterate"
            _result_param(req, parser, base, value)
            continue
        if (
            name.startswith("_")
            and not name.startswith("_has:")
            and name.partition(":")[0] not in params_for(types[0])
        ):
            parser.unknown(name, f"{name.partition(':')[0]} is not supported")
            continue
        values = _split_or(value)
        crits = [parser.criterion(t, name, values) for t in types]
        found = [c for c in crits if c is not None]
        if len(found) != len(types):
            if len(types) > 1 and found:
                parser.unknown(name, f"{name} is not common to all of {', '.join(types)}")
            continue
        # One criterion serves every type: it is answered through res_pk, whatever the type.
        req.criteria.append(found[0])
    req.warnings = parser.warnings
    return req


def _result_param(req: SearchRequest, parser: _Parser, name: str, value: str) -> None:
    rtype = req.resource_types[0]
    if name == "_count":
        if not (value.isascii() and value.isdigit()):  # str.isdigit also takes "²"
            raise error("CH-6003", f"_count must be a whole number, not {value[:20]!r}", "_count")
        count = int(value)
        if count > parser.max_count:
            raise error(
                "CH-6005", f"_count={count} is above the maximum {parser.max_count}", "_count"
            )
        req.count = count
    elif name == "_sort":
        req.sort = []
        for key in value.split(","):
            desc = key.startswith("-")
            code = key[1:] if desc else key
            if code in ("_id", "_lastUpdated"):
                req.sort.append(SortKey(None, code, desc))
                continue
            param = params_for(rtype).get(code)
            if param is None or param.type not in (
                "string",
                "token",
                "date",
                "number",
                "quantity",
                "uri",
                "reference",
            ):
                raise error(
                    "CH-6007", f"_sort: {code!r} is not a sortable parameter of {rtype}", "_sort"
                )
            req.sort.append(SortKey(param, code, desc))
    elif name in ("_include", "_revinclude"):
        req_list = req.includes if name == "_include" else req.revincludes
        req_list.append(_include(name, value))
    elif name == "_summary":
        if value not in _SUMMARY:
            raise error("CH-6011", f"_summary must be one of {', '.join(_SUMMARY)}", "_summary")
        req.summary = None if value == "false" else value
    elif name == "_elements":
        req.elements = tuple(e.strip() for e in value.split(",") if e.strip())
    elif name == "_total":
        if value not in _TOTAL:
            raise error("CH-6011", f"_total must be one of {', '.join(_TOTAL)}", "_total")
        req.total = value
    elif name == "_page":
        req.page = value


def _include(name: str, value: str) -> Include:
    parts = value.split(":")
    iterate = False
    if name.endswith(":iterate") or parts[-1] == "iterate":
        iterate = True
    if parts[-1] == "iterate":
        parts = parts[:-1]
    if len(parts) not in (2, 3) or parts[0] not in definitions.resource_types():
        raise error("CH-6008", f"{name}={value[:60]}: write Type:parameter[:TargetType]", name)
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if code != "*":
        param = params_for(source).get(code)
        if param is None or param.type != "reference":
            raise error("CH-6008", f"{name}: {source} has no reference parameter {code!r}", name)
    if target is not None and target not in definitions.resource_types():
        raise error("CH-6008", f"{name}: {target} is not a resource type", name)
    return Include(source, code, target, iterate)


__all__ = [
    "Criterion",
    "HasClause",
    "Include",
    "OperationOutcomeError",
    "SearchRequest",
    "SortKey",
    "parse_search",
    "prefix_of",
    "split_escaped",
]
