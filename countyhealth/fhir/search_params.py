"""The search parameters the server supports, per resource type.

Built from the official R4 SearchParameter definitions (https://hl7.org/fhir/R4/searchparameter-registry.html)
shipped in the derived data. A parameter is supported for a type when its FHIRPath expression
(the branch for that type) compiles in :mod:`.fhirpath`; the CapabilityStatement lists exactly
these. ``_id`` and ``_lastUpdated`` are answered from the resource table itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from . import definitions
from .fhirpath import Evaluator, UnsupportedExpression, compile_expression, compile_relative

#: Modifiers accepted per parameter type (https://hl7.org/fhir/R4/search.html#modifiers).
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"missing", "exact", "contains"}),
    "token": frozenset({"missing", "not", "text", "of-type"}),
    "reference": frozenset({"missing", "identifier", "type"}),
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "uri": frozenset({"missing", "above", "below"}),
    "composite": frozenset({"missing"}),
    "special": frozenset(),
}

#: Prefixes of ordered types (https://hl7.org/fhir/R4/search.html#prefix).
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
ORDERED_TYPES = frozenset({"number", "date", "quantity"})

#: Parameters answered from columns of the resource table rather than index rows.
COLUMN_PARAMS = frozenset({"_id", "_lastUpdated"})

#: Parameters of the standard that this server does not offer, with the reason.
NOT_OFFERED = {
    "_query": "named queries are not defined on this server",
    "_content": "full-text search of the whole resource is not offered",
    "_text": "full-text search of the narrative is not offered",
}


@dataclass(frozen=True)
class Component:
    """One part of a composite parameter: the parameter it uses and where its value is."""

    definition: str
    evaluator: Evaluator
    param_type: str


@dataclass(frozen=True)
class SearchParam:
    """A search parameter as it applies to one resource type."""

    code: str
    type: str
    url: str
    resource_type: str
    expression: str
    evaluator: Evaluator | None
    targets: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    phonetic: bool = False
    #: First-level element names the expression reads; a resource without any of them has no
    #: value for the parameter (checked before evaluating, which is far more expensive).
    roots: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def modifiers(self) -> frozenset[str]:
        mods = MODIFIERS[self.type]
        if self.type == "token" and self.code not in ("identifier",):
            mods = mods - {"of-type"}
        return mods


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath expression at top-level ``|``."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(expression):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i])
            start = i + 1
    parts.append(expression[start:])
    return [p.strip() for p in parts if p.strip()]


def _branches_for(expression: str, rtype: str, bases: list[str]) -> str | None:
    generic = "Resource" in bases or "DomainResource" in bases
    keep = []
    for branch in split_union(expression):
        root = branch.lstrip("(").split(".", 1)[0].split(" ", 1)[0]
        if root == rtype or (generic and root in ("Resource", "DomainResource")):
            keep.append(branch)
    return " | ".join(keep) if keep else None


_ROOT = re.compile(r"(?:^|[|(\s])\(*[A-Z][A-Za-z]*\.([a-z][A-Za-z0-9]*)")


_TYPED_ROOT = re.compile(
    r"^\(*[A-Z][A-Za-z]*\.([a-z][A-Za-z0-9]*)(?:\s+as\s+|\.as\(|\.ofType\()([A-Za-z]+)"
)


def _typed_key(branch: str) -> str | None:
    """``(Observation.value as Quantity)`` → ``valueQuantity``: the JSON key of a choice
    element narrowed to one type."""
    m = _TYPED_ROOT.match(branch.strip())
    if m is None:
        return None
    name, type_name = m.groups()
    return name + type_name[0].upper() + type_name[1:]


def expression_roots(expression: str) -> frozenset[str]:
    """First-level JSON keys (or element names) each ``Type.element…`` branch of an expression
    reads; empty when a branch is the resource itself (every resource is then evaluated)."""
    roots: set[str] = set()
    for branch in split_union(expression):
        typed = _typed_key(branch)
        if typed is not None:
            roots.add(typed)
            continue
        found = _ROOT.findall(" " + branch)
        if not found:
            return frozenset()
        roots.update(found)
    return frozenset(roots)


_custom: list[dict[str, Any]] = []


def set_custom_parameters(parameters: list[dict[str, Any]]) -> bool:
    """Install SearchParameter resources posted to this server (active ones with base, code,
    type and expression) next to the official ones; a custom parameter with the URL or the
    base+code of an official one replaces it. Returns whether the set changed."""
    fields = ("url", "code", "base", "type", "expression", "target", "component")
    required = ("code", "base", "type", "expression")
    usable: list[dict[str, Any]] = []
    for p in parameters:
        if p.get("status") == "active" and all(p.get(k) for k in required):
            usable.append({k: p[k] for k in fields if k in p})
    usable.sort(key=lambda p: (str(p.get("url")), str(p["code"])))
    if usable == _custom:
        return False
    _custom[:] = usable
    params_for.cache_clear()
    params_by_root.cache_clear()
    _applicable_to_keys.cache_clear()
    return True


def custom_parameters() -> list[dict[str, Any]]:
    """The custom parameters installed by :func:`set_custom_parameters` (a copy)."""
    return [dict(p) for p in _custom]


def all_definitions() -> list[dict[str, Any]]:
    """Official definitions, overridden or extended by custom ones."""
    custom_urls = {p.get("url") for p in _custom}
    custom_keys = {(b, p["code"]) for p in _custom for b in p["base"]}
    official = [
        sp
        for sp in definitions.search_parameters()
        if sp["url"] not in custom_urls
        and not any((b, sp["code"]) in custom_keys for b in sp["base"])
    ]
    return official + [{**p, "url": p.get("url") or f"urn:custom:{p['code']}"} for p in _custom]


def definition_hash(sp: SearchParam) -> str:
    """What the index rows of a parameter depend on; a change calls for a reindex."""
    text = "|".join(
        [
            sp.type,
            sp.expression,
            *(c.definition for c in sp.components),
            *(c.param_type for c in sp.components),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _composite_roots(branch: str, components: list[dict[str, Any]]) -> frozenset[str]:
    """Roots of a composite: a branch that is the resource itself needs its last component's
    element (``value`` for code-value-quantity); other branches need their own path."""
    roots: set[str] = set()
    for part in split_union(branch):
        found = _ROOT.findall(" " + part)
        if found:
            roots.update(found)
        elif components:
            last = components[-1]["expression"].strip().lstrip("(")
            typed = _typed_key("Resource." + last)
            roots.add(typed or re.split(r"[.\s(]", last, maxsplit=1)[0])
        else:
            return frozenset()
    return frozenset(roots)


@cache
def params_by_root(
    rtype: str,
) -> tuple[dict[str, tuple[SearchParam, ...]], tuple[SearchParam, ...]]:
    """(root element → parameters that read it, parameters evaluated for every resource)."""
    by_root: dict[str, list[SearchParam]] = {}
    always: list[SearchParam] = []
    for sp in params_for(rtype).values():
        if sp.evaluator is None:
            continue
        if not sp.roots:
            always.append(sp)
        for root in sp.roots:
            by_root.setdefault(root, []).append(sp)
    return {k: tuple(v) for k, v in by_root.items()}, tuple(always)


@lru_cache(maxsize=4096)
def element_stem(key: str) -> str:
    """``valueQuantity`` → ``value``; ``_birthDate`` → ``birthDate``; ``gender`` → ``gender``."""
    key = key.lstrip("_")
    for i in range(1, len(key)):
        if key[i].isupper():
            return key[:i]
    return key


def applicable(rtype: str, resource: dict[str, Any]) -> tuple[SearchParam, ...]:
    """The parameters of ``rtype`` whose expression can find a value in ``resource``, in
    registry order (checking the resource's top-level elements, not evaluating)."""
    return _applicable_to_keys(rtype, tuple(resource))


@lru_cache(maxsize=8192)
def _applicable_to_keys(rtype: str, keys: tuple[str, ...]) -> tuple[SearchParam, ...]:
    # Resources of one kind share a handful of key sets, so the choice is cached by them.
    by_root, always = params_by_root(rtype)
    chosen: dict[int, SearchParam] = {id(sp): sp for sp in always}
    for key in keys:
        for name in (key, element_stem(key)):
            for sp in by_root.get(name, ()):
                chosen[id(sp)] = sp
    return tuple(chosen.values())


def _by_url() -> dict[str, dict[str, Any]]:
    return {sp["url"]: sp for sp in all_definitions()}


@cache
def params_for(rtype: str) -> dict[str, SearchParam]:
    """Supported search parameters of ``rtype`` by code (cached)."""
    out: dict[str, SearchParam] = {}
    urls = _by_url()
    for sp in all_definitions():
        bases = sp["base"]
        if rtype not in bases and "Resource" not in bases and "DomainResource" not in bases:
            continue
        code = sp["code"]
        if code in NOT_OFFERED:
            continue
        if code in COLUMN_PARAMS:
            out[code] = SearchParam(
                code, sp["type"], sp["url"], rtype, sp.get("expression", ""), None
            )
            continue
        expression = sp.get("expression")
        if not expression:
            continue
        branch = _branches_for(expression, rtype, bases)
        if branch is None:
            continue
        try:
            evaluator = compile_expression(branch)
        except UnsupportedExpression:
            continue
        components: list[Component] = []
        if sp["type"] == "composite":
            try:
                for comp in sp.get("component", []):
                    part = urls.get(comp["definition"])
                    if part is None:
                        raise UnsupportedExpression(comp["definition"])
                    components.append(
                        Component(
                            comp["definition"], compile_relative(comp["expression"]), part["type"]
                        )
                    )
            except UnsupportedExpression:
                continue
            if len(components) != 2:
                continue
        out[code] = SearchParam(
            code=code,
            type=sp["type"],
            url=sp["url"],
            resource_type=rtype,
            expression=branch,
            evaluator=evaluator,
            targets=tuple(sp.get("target", ())),
            components=tuple(components),
            phonetic=code == "phonetic",
            roots=_composite_roots(branch, sp.get("component", []))
            if sp["type"] == "composite"
            else expression_roots(branch),
        )
    return out


def param(rtype: str, code: str) -> SearchParam | None:
    return params_for(rtype).get(code)
