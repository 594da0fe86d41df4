"""A compiled evaluator for the FHIRPath subset used by R4 SearchParameter expressions.

R4 search parameters locate their values with FHIRPath (https://hl7.org/fhir/R4/fhirpath.html,
https://hl7.org/fhirpath/N1/). The expressions in the official definitions use a small part of
the language: paths, ``|`` unions, ``as``/``as()``/``ofType()`` type filters, ``where(...)``
with ``resolve() is T``, equality on a child, ``exists()``, and array indexes. This module
compiles such an expression once into Python closures that run directly on the JSON form of a
resource. Anything outside the subset raises :class:`UnsupportedExpression` at compile time,
so callers can report the parameter as unsupported instead of returning wrong results.

Values carry the FHIR type they were reached through, so that choice elements
(``Observation.value`` → ``valueQuantity``) can be filtered by type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .references import reference_target


class UnsupportedExpression(ValueError):
    """The expression uses FHIRPath beyond the supported subset."""


@dataclass(frozen=True, slots=True)
class Node:
    """A value reached by a path, with the FHIR type name when the path fixed it."""

    value: Any
    type: str | None = None


#: A compiled step: the nodes a path reaches from the given nodes (lists, not generators:
#: the expressions are short and the lists small, so eager evaluation is the faster one).
Evaluator = Callable[[list[Node]], list[Node]]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
    r"|(?P<op>!=|[().|\[\],=]))"
)


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UnsupportedExpression(f"cannot read {text[pos:]!r}")
        out.append(m.group(m.lastgroup or "op").strip())
        pos = m.end()
    return out


def _choice_key(obj: dict[str, Any], name: str) -> Iterator[tuple[str, str]]:
    """Keys of ``obj`` that realise the choice element ``name[x]`` and their type suffix."""
    n = len(name)
    for key in obj:
        if key.startswith(name) and len(key) > n and key[n].isupper():
            suffix = key[n:]
            # complex types keep their capital; primitive types are lower-case in FHIR
            # (valueString → string, effectiveDateTime → dateTime)
            type_name = suffix if suffix in _COMPLEX else suffix[0].lower() + suffix[1:]
            yield key, type_name


# Complex type names that start with a capital and stay so (all complex types do); primitive
# suffixes are lower-cased. Listing the complex ones avoids lower-casing e.g. "Quantity".
_COMPLEX = {
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "CodeableConcept",
    "Coding",
    "ContactPoint",
    "Count",
    "Distance",
    "Duration",
    "HumanName",
    "Identifier",
    "Money",
    "Period",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "SampledData",
    "Signature",
    "Timing",
    "ContactDetail",
    "Contributor",
    "DataRequirement",
    "Expression",
    "ParameterDefinition",
    "RelatedArtifact",
    "TriggerDefinition",
    "UsageContext",
    "Dosage",
    "Meta",
}


def _child(name: str) -> Evaluator:
    def step(nodes: list[Node]) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            obj = node.value
            if type(obj) is not dict:
                continue
            value = obj.get(name)
            if value is not None:
                if type(value) is list:
                    out.extend([Node(item) for item in value if item is not None])
                else:
                    out.append(Node(value))
            elif name not in obj:
                for key, type_name in _choice_key(obj, name):
                    value = obj[key]
                    for item in value if isinstance(value, list) else [value]:
                        out.append(Node(item, type_name))
        return out

    return step


def _is_type(node: Node, type_name: str) -> bool:
    if node.type is not None:
        return node.type == type_name or (
            type_name == "Quantity"
            and node.type in ("Age", "Count", "Distance", "Duration", "Money")
        )
    if isinstance(node.value, dict):
        rt = node.value.get("resourceType")
        if rt is not None:
            return bool(rt == type_name or type_name in ("Resource", "DomainResource"))
    return False


def _of_type(type_name: str) -> Evaluator:
    def step(nodes: list[Node]) -> list[Node]:
        return [n for n in nodes if _is_type(n, type_name)]

    return step


def _resolves_to(type_name: str) -> Callable[[Node], bool]:
    def test(node: Node) -> bool:
        ref = node.value.get("reference") if isinstance(node.value, dict) else None
        if not isinstance(ref, str):
            return False
        target = reference_target(ref)
        return target is not None and target[0] == type_name

    return test


class _Parser:
    def __init__(self, text: str, relative: bool = False) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.relative = relative

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise UnsupportedExpression(f"{self.text!r}: expected {expected!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Evaluator:
        ev = self.union()
        if self.peek() is not None:
            raise UnsupportedExpression(f"{self.text!r}: unexpected {self.peek()!r}")
        return ev

    def union(self) -> Evaluator:
        parts = [self.as_expr()]
        while self.peek() == "|":
            self.take("|")
            parts.append(self.as_expr())
        if len(parts) == 1:
            return parts[0]

        def step(nodes: list[Node]) -> list[Node]:
            out: list[Node] = []
            for p in parts:
                out.extend(p(nodes))
            return out

        return step

    def as_expr(self) -> Evaluator:
        ev = self.path()
        while self.peek() in ("as", "is"):
            op = self.take()
            if op == "is":
                raise UnsupportedExpression(f"{self.text!r}: 'is' outside where()")
            ev = _compose(ev, _of_type(self.type_name()))
        return ev

    def type_name(self) -> str:
        name = self.take()
        if self.peek() == ".":  # FHIR.Quantity / System.String
            self.take(".")
            name = self.take()
        return name.strip("`")

    def path(self) -> Evaluator:
        tok = self.peek()
        if tok == "(":
            self.take("(")
            ev = self.union()
            self.take(")")
        elif tok is not None and tok[0].isupper() and not self.relative:
            # the resource type that starts every search expression
            root = self.take()
            ev = _of_type(root)
        elif tok is not None and self.relative and (tok[0].isalpha() or tok[0] == "`"):
            # a path relative to the current node (composite components)
            ev = self.member()
        else:
            raise UnsupportedExpression(f"{self.text!r}: cannot start with {tok!r}")
        return self.steps(ev)

    def steps(self, ev: Evaluator) -> Evaluator:
        while True:
            tok = self.peek()
            if tok == ".":
                self.take(".")
                ev = _compose(ev, self.member())
            elif tok == "[":
                self.take("[")
                index = int(self.take())
                self.take("]")
                ev = _compose(ev, _index(index))
            else:
                return ev

    def member(self) -> Evaluator:
        name = self.take().strip("`")
        if self.peek() != "(":
            return _child(name)
        self.take("(")
        if name in ("as", "ofType"):
            t = self.type_name()
            self.take(")")
            return _of_type(t)
        if name == "where":
            test = self.condition()
            self.take(")")
            return lambda nodes: [n for n in nodes if test(n)]
        if name == "exists":
            self.take(")")
            return lambda nodes: [Node(bool(nodes), "boolean")]
        if name == "first":
            self.take(")")
            return _index(0)
        raise UnsupportedExpression(f"{self.text!r}: function {name}() not supported")

    def condition(self) -> Callable[[Node], bool]:
        tok = self.peek()
        if tok == "resolve":
            self.take()
            self.take("(")
            self.take(")")
            self.take("is")
            return _resolves_to(self.type_name())
        name = self.take()
        op = self.take()
        if op not in ("=", "!="):
            raise UnsupportedExpression(f"{self.text!r}: condition {name} {op}")
        literal = self.take()
        if not literal.startswith("'"):
            raise UnsupportedExpression(f"{self.text!r}: literal {literal}")
        want = literal[1:-1]
        child = _child(name)

        def test(node: Node) -> bool:
            found = any(n.value == want for n in child([node]))
            return found if op == "=" else not found

        return test


def _compose(first: Evaluator, second: Evaluator) -> Evaluator:
    return lambda nodes: second(first(nodes))


def _index(i: int) -> Evaluator:
    def step(nodes: list[Node]) -> list[Node]:
        return nodes[i : i + 1]

    return step


def compile_expression(text: str) -> Evaluator:
    """Compile a SearchParameter expression; raises UnsupportedExpression outside the subset."""
    return _Parser(text).parse()


def compile_relative(text: str) -> Evaluator:
    """Compile an expression evaluated on a node rather than a resource (``value.as(Quantity)``)."""
    return _Parser(text, relative=True).parse()


def evaluate(evaluator: Evaluator, resource: dict[str, Any]) -> list[Node]:
    """Run a compiled expression on a resource (as parsed JSON)."""
    return evaluator([Node(resource)])
