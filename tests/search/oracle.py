"""A brute-force search oracle: which resources an R4 search should return, computed without
the server's code.

The parameter definitions come from the official package (``Bundle-searchParams.json`` of
hl7.fhir.r4.examples@4.0.1), the values from evaluating each definition's FHIRPath expression
with ``fhirpathpy`` (R4 model), and the matching rules are written here from
https://hl7.org/fhir/R4/search.html:

* string — case- and accent-insensitive match at the start of any part (HumanName: family,
  given, prefix, suffix, text; Address: line, city, district, state, postalCode, country,
  text); ``:exact`` compares the whole part as written; ``:contains`` matches anywhere.
* token — ``code``, ``system|code``, ``|code`` (no system) and ``system|`` against Coding,
  each coding of a CodeableConcept, Identifier (system|value), ContactPoint (value, no system),
  code, id, uri, string and boolean; ``:not`` is the complement (resources without the
  element included); ``:text`` matches CodeableConcept.text, Coding.display and
  Identifier.type.text like a string.
* date — each value denotes the range its precision implies (a Period its start..end, open
  ends unbounded, a Timing its outer limits); the prefixes are the range relations of
  search.html#prefix. Values without an offset are read in the server's zone (UTC+08:00).
* number, quantity — the search value denotes the range its precision implies (``100`` is
  [99.5, 100.5)), stored values are points (a Range its low..high); ``|system|code`` /
  ``||code`` select the unit (code or unit text when no system is given), and UCUM units
  with metric prefixes are compared in their base unit.
* reference — ``Type/id`` and ``id`` match literal relative references (and absolute ones to
  the server's own base), an absolute URL or canonical matches that URL (any version unless
  ``|version`` is given), ``:Type`` restricts the type, ``:identifier`` matches
  Reference.identifier like a token.
* uri — exact match; ``:below`` matches the value and the URIs under it by path, ``:above``
  the value and the URIs it is under.
* ``:missing=true`` — the resource has no value the parameter can match (the expression
  selects nothing, or only elements without such a value: a Reference with only an
  identifier or display, a Timing without events or bounds, SampledData).
"""

from __future__ import annotations

import re
import tarfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import orjson

SEARCH_TYPES = ("token", "string", "date", "reference", "quantity", "number", "uri")
SERVER_TZ = timezone(timedelta(hours=8))
UCUM = "http://unitsofmeasure.org"
INF = float("inf")

# ---------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Definition:
    """One search parameter as it applies to one resource type."""

    code: str
    type: str
    url: str
    resource_type: str
    branches: tuple[str, ...]  # FHIRPath, one per union branch, rooted at the resource type
    resource_level: bool  # defined on Resource / DomainResource


def split_union(expression: str) -> list[str]:
    """Top-level branches of ``a | b | c`` (parentheses and quotes respected)."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(expression):
        if ch == "'" and (i == 0 or expression[i - 1] != "\\"):
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


def _root(branch: str) -> str:
    return re.split(r"[.\s]", branch.lstrip("("), maxsplit=1)[0]


@cache
def package_definitions(package: Path) -> tuple[dict[str, Any], ...]:
    """The 1,375 SearchParameter resources of the R4 registry, read from the package."""
    with tarfile.open(package) as tar:
        member = tar.extractfile("package/Bundle-searchParams.json")
        assert member is not None
        bundle = orjson.loads(member.read())
    return tuple(e["resource"] for e in bundle["entry"])


def definitions_for(package: Path, rtype: str) -> list[Definition]:
    out: list[Definition] = []
    for sp in package_definitions(package):
        if sp["type"] not in SEARCH_TYPES or not sp.get("expression"):
            continue
        bases = sp["base"]
        generic = bool({"Resource", "DomainResource"} & set(bases))
        if rtype not in bases and not generic:
            continue
        branches = []
        for branch in split_union(sp["expression"]):
            root = _root(branch)
            if root == rtype:
                branches.append(branch)
            elif generic and root in ("Resource", "DomainResource"):
                branches.append(
                    re.sub(r"^(\(*)(Resource|DomainResource)\.", rf"\1{rtype}.", branch)
                )
        if branches:
            out.append(
                Definition(sp["code"], sp["type"], sp["url"], rtype, tuple(branches), generic)
            )
    return out


# ---------------------------------------------------------------------- evaluation

_AS = re.compile(r"([A-Za-z][\w.]*) as ([A-Za-z]+)")
_RESOLVE = re.compile(r"^\(?(?P<inner>.+)\.where\(resolve\(\) is (?P<type>[A-Za-z]+)\)\)?$")


@dataclass(frozen=True)
class Node:
    type: str  # FHIR type name as the R4 model gives it ('CodeableConcept', 'dateTime', ...)
    value: Any


def reference_type(ref: dict[str, Any], container: dict[str, Any]) -> str | None:
    """The type a Reference resolves to, from its literal form or the contained resource."""
    literal = ref.get("reference")
    if not isinstance(literal, str):
        return None
    if literal.startswith("#"):
        for contained in container.get("contained") or []:
            if contained.get("id") == literal[1:]:
                return str(contained.get("resourceType"))
        return None
    path = literal.split("/_history/")[0].rstrip("/").split("/")
    return path[-2] if len(path) >= 2 else None


class Evaluator:
    """Compiled branches of one definition; ``nodes(resource)`` gives the typed values."""

    def __init__(self, definition: Definition) -> None:
        import fhirpathpy
        from fhirpathpy.models import models

        model = models["r4"]
        self.parts: list[tuple[Callable[..., list[Any]], str | None]] = []
        for branch in definition.branches:
            m = _RESOLVE.match(branch)
            expression, wanted = (m["inner"], m["type"]) if m else (branch, None)
            # R4 applies `as` to collections, which FHIRPath N1 allows on singletons only:
            # read `x as T` as `x.ofType(T)`, as the R5 definitions do
            expression = _AS.sub(r"\1.ofType(\2)", expression).replace(".as(", ".ofType(")
            fn = fhirpathpy.compile(expression, model, {"returnRawData": True})
            self.parts.append((fn, wanted))

    def nodes(self, resource: dict[str, Any]) -> list[Node]:
        out: list[Node] = []
        for fn, wanted in self.parts:
            for item in fn(resource):
                node = _node(item)
                if node is None:
                    continue
                if wanted is not None and (
                    not isinstance(node.value, dict)
                    or reference_type(node.value, resource) != wanted
                ):
                    continue
                out.append(node)
        return out


def _node(item: Any) -> Node | None:
    data = getattr(item, "data", item)
    path = getattr(item, "path", None)
    if data is None:
        return None
    if isinstance(data, dict) and list(data) == ["extension"]:
        return None  # a primitive that only carries an extension has no value
    if path is None:
        if isinstance(data, bool):
            path = "boolean"
        elif isinstance(data, int | float):
            path = "decimal"
        else:
            path = "string"
    return Node(str(path), data)


# ---------------------------------------------------------------------- text


def fold(text: str) -> str:
    """Case- and accent-insensitive form (compatibility forms unified, spaces collapsed)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFC", stripped).split())


def split_unescaped(value: str, sep: str) -> list[str]:
    parts, cur, i = [], "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            cur += value[i + 1]
            i += 2
            continue
        if value[i] == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += value[i]
        i += 1
    parts.append(cur)
    return parts


def escape(value: str) -> str:
    """Escape a literal for use as a search value (search.html#escaping)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")


# ---------------------------------------------------------------------- values per type


@dataclass(frozen=True)
class Token:
    system: str | None
    code: str | None
    text: str | None = None  # CodeableConcept.text or Identifier.type.text
    display: str | None = None  # Coding.display
    kind: str = ""

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(x for x in (self.text, self.display) if isinstance(x, str))


@dataclass(frozen=True)
class Quantity:
    low: Decimal | float  # -INF for an open low end of a Range
    high: Decimal | float
    system: str | None
    code: str | None
    unit: str | None


@dataclass(frozen=True)
class Ref:
    type: str | None = None
    id: str | None = None
    version: str | None = None
    url: str | None = None  # absolute URL, urn:, canonical (without |version)
    local: bool = False  # a relative Type/id reference
    identifier: Token | None = None


_NAME = ("family", "given", "prefix", "suffix", "text")
_ADDRESS = ("line", "city", "district", "state", "postalCode", "country", "text")
_QUANTITIES = {
    "Quantity",
    "SimpleQuantity",
    "Age",
    "Duration",
    "Count",
    "Distance",
    "Money",
    "MoneyQuantity",
}


def strings(node: Node) -> list[str]:
    v = node.value
    if isinstance(v, str):
        return [v]
    if not isinstance(v, dict):
        return []
    keys: Iterable[str] = (
        _NAME if node.type == "HumanName" else _ADDRESS if node.type == "Address" else v.keys()
    )
    out: list[str] = []
    for k in keys:
        part = v.get(k)
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, list):
            out += [p for p in part if isinstance(p, str)]
    return out


def tokens(node: Node) -> list[Token]:
    v, t = node.value, node.type
    if isinstance(v, bool):
        return [Token(None, "true" if v else "false", kind="boolean")]
    if isinstance(v, str | int | float):
        return [Token(None, str(v), kind=t)]
    if not isinstance(v, dict):
        return []

    def s(x: Any) -> str | None:
        return x if isinstance(x, str) else None

    if t == "CodeableConcept":
        text = s(v.get("text"))
        out = [
            Token(s(c.get("system")), s(c.get("code")), text, s(c.get("display")), "Coding")
            for c in v.get("coding") or []
        ]
        if not out and text is not None:
            out.append(Token(None, None, text, None, "CodeableConcept"))
        return out
    if t == "Coding":
        return [Token(s(v.get("system")), s(v.get("code")), None, s(v.get("display")), "Coding")]
    if t == "Identifier":
        type_text = s((v.get("type") or {}).get("text"))
        return [Token(s(v.get("system")), s(v.get("value")), type_text, None, "Identifier")]
    if t == "ContactPoint":
        return [Token(None, s(v.get("value")), kind="ContactPoint")]
    return []


def _dt(text: str) -> tuple[float, float] | None:
    """Half-open [low, high) microseconds since the epoch of a FHIR date/dateTime/instant."""
    m = re.fullmatch(
        r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
        r"(Z|[+-]\d{2}:\d{2})?)?)?)?",
        text,
    )
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    zone = SERVER_TZ
    if tz == "Z":
        zone = UTC
    elif tz:
        sign = 1 if tz[0] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    if mo is None:
        low = datetime(int(y), 1, 1, tzinfo=zone)
        high = datetime(int(y) + 1, 1, 1, tzinfo=zone)
    elif d is None:
        low = datetime(int(y), int(mo), 1, tzinfo=zone)
        nxt = (int(y) + (int(mo) == 12), int(mo) % 12 + 1)
        high = datetime(nxt[0], nxt[1], 1, tzinfo=zone)
    elif hh is None:
        low = datetime(int(y), int(mo), int(d), tzinfo=zone)
        high = low + timedelta(days=1)
    else:
        micro = int((frac or "").ljust(6, "0")[:6]) if frac else 0
        low = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), micro, tzinfo=zone)
        if ss is None:
            step = timedelta(minutes=1)
        elif not frac:
            step = timedelta(seconds=1)
        else:
            step = timedelta(microseconds=10 ** max(0, 6 - len(frac)))
        high = low + step
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (low - epoch) / timedelta(microseconds=1), (high - epoch) / timedelta(microseconds=1)


def dates(node: Node) -> list[tuple[float, float]]:
    v = node.value
    if isinstance(v, str):
        r = _dt(v)
        return [r] if r else []
    if not isinstance(v, dict):
        return []
    if node.type == "Period" or "start" in v or "end" in v:
        start = _dt(v["start"]) if isinstance(v.get("start"), str) else None
        end = _dt(v["end"]) if isinstance(v.get("end"), str) else None
        return [(start[0] if start else -INF, end[1] if end else INF)]
    if node.type == "Timing":
        ranges = [r for e in v.get("event") or [] if (r := _dt(e))]
        bounds = (v.get("repeat") or {}).get("boundsPeriod")
        if isinstance(bounds, dict):
            ranges += dates(Node("Period", bounds))
        if not ranges:
            return []
        return [(min(r[0] for r in ranges), max(r[1] for r in ranges))]
    return []


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def numbers(node: Node) -> list[Decimal]:
    d = _decimal(node.value) if not isinstance(node.value, str) else None
    return [d] if d is not None else []


def quantities(node: Node) -> list[Quantity]:
    v = node.value
    if not isinstance(v, dict):
        return []
    if node.type == "Range":
        low, high = v.get("low") or {}, v.get("high") or {}
        lo, hi = _decimal(low.get("value")), _decimal(high.get("value"))
        if lo is None and hi is None:
            return []
        unit = low if lo is not None else high
        return [
            Quantity(
                lo if lo is not None else -INF,
                hi if hi is not None else INF,
                unit.get("system"),
                unit.get("code"),
                unit.get("unit"),
            )
        ]
    if node.type not in _QUANTITIES:
        return []
    value = _decimal(v.get("value"))
    if value is None:
        return []
    if node.type == "Money":
        return [Quantity(value, value, "urn:iso:std:iso:4217", v.get("currency"), None)]
    return [Quantity(value, value, v.get("system"), v.get("code"), v.get("unit"))]


def references(node: Node, base: str) -> list[Ref]:
    v = node.value
    if isinstance(v, str):  # canonical / uri
        url, _, version = v.partition("|")
        return [Ref(url=url, version=version or None)]
    if not isinstance(v, dict):
        return []
    ident = v.get("identifier")
    ident_tok = tokens(Node("Identifier", ident))[0] if isinstance(ident, dict) else None
    literal = v.get("reference")
    if not isinstance(literal, str):
        return [Ref(identifier=ident_tok)] if ident_tok else []
    if literal.startswith(base + "/"):
        literal = literal[len(base) + 1 :]
    m = re.fullmatch(
        r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]+))?", literal
    )
    if m:
        return [Ref(m[1], m[2], m[3], None, True, ident_tok)]
    return [Ref(url=literal, identifier=ident_tok)]


def uris(node: Node) -> list[str]:
    return [node.value] if isinstance(node.value, str) else []


# ---------------------------------------------------------------------- matching


def _number_range(text: str) -> tuple[Decimal, Decimal, Decimal]:
    d = Decimal(text)
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5) * Decimal(10) ** (exponent - 1)
    return d - half, d + half, d


_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)")


def prefixed(raw: str) -> tuple[str, str]:
    m = _PREFIX.match(raw)
    return (m[1], raw[2:]) if m else ("eq", raw)


def range_holds(prefix: str, s: tuple[float, float], t: tuple[float, float]) -> bool:
    """search.html#prefix for ranges: s is the search range, t the target range (half-open)."""
    eq = s[0] <= t[0] and t[1] <= s[1]
    return {
        "eq": eq,
        "ne": not eq,
        "gt": t[1] > s[1],
        "lt": t[0] < s[0],
        "ge": t[1] > s[1] or eq,
        "le": t[0] < s[0] or eq,
        "sa": t[0] >= s[1],
        "eb": t[1] <= s[0],
    }[prefix]


def point_holds(prefix: str, text: str, low: Decimal | float, high: Decimal | float) -> bool:
    """Number/quantity prefixes: the stored value is the point (or range) [low, high]."""
    s_low, s_high, exact = _number_range(text)
    eq = low >= s_low and high < s_high
    return {
        "eq": eq,
        "ne": not eq,
        "gt": high > exact,
        "lt": low < exact,
        "ge": high >= exact,
        "le": low <= exact,
        "sa": low > exact,
        "eb": high < exact,
    }[prefix]


_METRIC = {
    "": Decimal(1),
    "k": Decimal(1000),
    "h": Decimal(100),
    "da": Decimal(10),
    "d": Decimal("0.1"),
    "c": Decimal("0.01"),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
}
_UNITS = {"g": "g", "L": "L", "l": "L", "m": "m", "mol": "mol", "s": "s", "Pa": "Pa"}
_TIME = {
    "min": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
    "wk": Decimal(604800),
}


def ucum_base(code: str) -> tuple[Decimal, str] | None:
    """(factor, base unit) for a metric-prefixed simple UCUM unit or a time unit."""
    if code in _TIME:
        return _TIME[code], "s"
    for unit, base in _UNITS.items():
        if code.endswith(unit):
            prefix = code[: -len(unit)]
            if prefix in _METRIC:
                return _METRIC[prefix], base
    return None


def quantity_holds(raw: str, q: Quantity) -> bool:
    prefix, rest = prefixed(raw)
    parts = split_unescaped(rest, "|")
    number = parts[0]
    system = parts[1] if len(parts) > 1 else ""
    code = "|".join(parts[2:]) if len(parts) > 2 else ""
    if not code:
        return (not system or q.system == system) and point_holds(prefix, number, q.low, q.high)
    plain = (
        (q.code == code or q.unit == code)
        if not system
        else (q.system == system and q.code == code)
    )
    if plain and point_holds(prefix, number, q.low, q.high):
        return True
    search_base = ucum_base(code) if system in ("", UCUM) else None
    target_base = ucum_base(q.code) if q.system == UCUM and q.code else None
    if search_base and target_base and search_base[1] == target_base[1] and q.code != code:
        factor = target_base[0] / search_base[0]
        low = q.low * factor if isinstance(q.low, Decimal) else q.low
        high = q.high * factor if isinstance(q.high, Decimal) else q.high
        # the search value's precision carries over to the target unit
        return point_holds(prefix, number, low, high)
    return False


def token_holds(raw: str, tok: Token) -> bool:
    parts = split_unescaped(raw, "|")
    if len(parts) == 1:
        return tok.code is not None and tok.code == parts[0]
    system, code = parts[0], "|".join(parts[1:])
    if system == "":
        if tok.system is not None:
            return False
    elif tok.system != system:
        return False
    return code == "" or tok.code == code


def reference_holds(raw: str, ref: Ref, target_type: str | None, base: str) -> bool:
    value = split_unescaped(raw, "\x00")[0]
    if value.startswith(base + "/"):
        value = value[len(base) + 1 :]
    m = re.fullmatch(r"([A-Z][A-Za-z]+)/([^/]+)(?:/_history/(.+))?", value)
    if m:
        if not ref.local or ref.type != m[1] or ref.id != m[2]:
            return False
        return m[3] is None or ref.version == m[3]
    if "/" in value or ":" in value:
        url, _, version = value.partition("|")
        return ref.url == url and (not version or ref.version == version)
    if not ref.local or ref.id != value:
        return False
    return target_type is None or ref.type == target_type


def uri_holds(raw: str, modifier: str | None, target: str) -> bool:
    if modifier == "below":
        return target == raw or target.startswith(raw.rstrip("/") + "/")
    if modifier == "above":
        return raw == target or raw.startswith(target.rstrip("/") + "/")
    return target == raw


# ---------------------------------------------------------------------- one search


@dataclass
class Values:
    """What one resource holds for one parameter."""

    nodes: list[Node]
    strings: list[str] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    dates: list[tuple[float, float]] = field(default_factory=list)
    numbers: list[Decimal] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    uris: list[str] = field(default_factory=list)

    @property
    def present(self) -> bool:
        """Whether the resource has a value for the parameter (for ``:missing``): a value the
        parameter can match; a Reference with only an identifier or a display is none."""
        return bool(
            self.strings
            or [t for t in self.tokens if t.code or t.system or t.texts]
            or self.dates
            or self.numbers
            or self.quantities
            or [r for r in self.refs if r.local or r.url]
            or self.uris
        )


def values_of(kind: str, nodes: list[Node], base: str) -> Values:
    out = Values(nodes)
    for n in nodes:
        if kind == "string":
            out.strings += strings(n)
        elif kind == "token":
            out.tokens += tokens(n)
        elif kind == "date":
            out.dates += dates(n)
        elif kind == "number":
            out.numbers += numbers(n)
        elif kind == "quantity":
            out.quantities += quantities(n)
        elif kind == "reference":
            out.refs += references(n, base)
        elif kind == "uri":
            out.uris += uris(n)
    return out


def holds(kind: str, modifier: str | None, raw_values: list[str], v: Values, base: str) -> bool:
    """Whether a resource with values ``v`` matches ``param[:modifier]=raw_values`` (ORed)."""
    if modifier == "missing":
        return (not v.present) == (raw_values[0] == "true")
    if kind == "token" and modifier == "not":
        return not any(token_holds(raw, t) for raw in raw_values for t in v.tokens)
    return any(_one(kind, modifier, raw, v, base) for raw in raw_values)


def _one(kind: str, modifier: str | None, raw: str, v: Values, base: str) -> bool:
    if kind == "string":
        text = split_unescaped(raw, "\x00")[0]
        if modifier == "exact":
            return text in v.strings
        if modifier == "contains":
            return any(fold(text) in fold(s) for s in v.strings)
        return any(fold(s).startswith(fold(text)) for s in v.strings)
    if kind == "token":
        if modifier == "text":
            text = fold(split_unescaped(raw, "\x00")[0])
            return any(fold(x).startswith(text) for t in v.tokens for x in t.texts)
        return any(token_holds(raw, t) for t in v.tokens)
    if kind == "date":
        prefix, rest = prefixed(raw)
        s = _dt(rest)
        assert s is not None, raw
        return any(range_holds(prefix, s, t) for t in v.dates)
    if kind == "number":
        prefix, rest = prefixed(raw)
        return any(point_holds(prefix, rest, n, n) for n in v.numbers)
    if kind == "quantity":
        return any(quantity_holds(raw, q) for q in v.quantities)
    if kind == "reference":
        if modifier == "identifier":
            return any(r.identifier is not None and token_holds(raw, r.identifier) for r in v.refs)
        target_type = modifier if modifier and modifier[0].isupper() else None
        if target_type and "/" not in raw:
            raw = f"{target_type}/{raw}"
        return any(reference_holds(raw, r, target_type, base) for r in v.refs)
    if kind == "uri":
        value = split_unescaped(raw, "\x00")[0]
        return any(uri_holds(value, modifier, u) for u in v.uris)
    raise AssertionError(kind)
