"""Compiled element checks used by :mod:`countyhealth.fhir.validation` (internal).

A :class:`Spec` is the compiled definition of one complex type, backbone element or resource:
a dict from JSON property name to a field check (a closure built once by the factories
below). Field checks implement the JSON representation rules of
https://hl7.org/fhir/R4/json.html (arrays, ``_name`` companions of primitives, nulls) and the
cardinalities of https://hl7.org/fhir/R4/elementdefinition.html; post checks add required
bindings (https://hl7.org/fhir/R4/terminologies.html#required) and reference target types
(https://hl7.org/fhir/R4/references.html).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from countyhealth.errors import Issue
from countyhealth.fhir import definitions
from countyhealth.fhir.identifiers import identifier_problem, is_validated
from countyhealth.fhir.primitives import INVALID, PrimitiveCheck
from countyhealth.fhir.primitives import json_type as describe
from countyhealth.fhir.references import reference_problem, relative_type

Issues = list[Issue]
#: ``(containing object, value, path of the containing object, issues)``.
FieldCheck = Callable[[dict[str, Any], Any, str, Issues], None]
#: Extra check after an object validated structurally: ``(object, its path, issues)``.
PostCheck = Callable[[dict[str, Any], str, Issues], None]
#: Extra check of a valid primitive value: ``(value, its path)``.
ValueCheck = Callable[[Any, str], Issue | None]


__all__ = [
    "ConditionalReferenceIssue",
    "FieldCheck",
    "Issues",
    "PostCheck",
    "Spec",
    "ValueCheck",
    "binding_post",
    "chain",
    "companion_field",
    "describe",
    "forbidden_field",
    "identifier_post",
    "ignore_field",
    "object_field",
    "primitive_field",
    "reference_check",
    "target_check",
]


class ConditionalReferenceIssue(Issue):
    """A CH-3007 for a conditional reference; dropped where those are allowed."""

    __slots__ = ()


def ignore_field(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
    """Field check of ``resourceType``, already checked by the resource dispatcher."""


class Spec:
    """The compiled definition of one complex type, backbone element or resource."""

    __slots__ = (
        "choice_of",
        "choice_types",
        "fields",
        "id_only_ok",
        "is_resource",
        "name",
        "required",
    )

    def __init__(self, name: str, is_resource: bool) -> None:
        self.name = name
        self.is_resource = is_resource
        #: ``{"id": ...}`` alone is content for a primitive's ``_name`` companion (the value
        #: is the content), not for a complex element (ele-1).
        self.id_only_ok = name == "Element"
        #: JSON property name → check.
        self.fields: dict[str, FieldCheck] = {}
        #: JSON property name of a choice element (``valueString``, ``_valueString``) → ``value``.
        self.choice_of: dict[str, str] = {}
        #: Choice element name → allowed type codes, for messages.
        self.choice_types: dict[str, list[str]] = {}
        #: Required elements: (JSON names that satisfy it, FHIRPath name).
        self.required: list[tuple[tuple[str, ...], str]] = []

    def validate(self, obj: dict[str, Any], path: str, issues: Issues) -> None:
        if len(obj) < 2 and not self.is_resource and (not obj or self._id_only(obj)):
            issues.append(
                Issue(
                    "CH-3003",
                    f"{path}: empty element; an element needs a value, child elements or "
                    "extensions (ele-1)",
                    [path],
                )
            )
        fields = self.fields
        choice_of = self.choice_of
        chosen: dict[str, str] | None = None
        for key, value in obj.items():
            check = fields.get(key)
            if check is None:
                issues.append(self._unknown(key, path))
                continue
            if choice_of:
                base = choice_of.get(key)
                if base is not None:
                    name = key[1:] if key[0] == "_" else key
                    if chosen is None:
                        chosen = {}
                    first = chosen.setdefault(base, name)
                    if first != name:
                        issues.append(
                            Issue(
                                "CH-3004",
                                f"{path}.{base}: {base}[x] takes a single type, but both "
                                f"'{first}' and '{name}' are present",
                                [f"{path}.{base}"],
                            )
                        )
            check(obj, value, path, issues)
        for keys, name in self.required:
            for key in keys:
                if key in obj:
                    break
            else:
                issues.append(
                    Issue(
                        "CH-3003",
                        f"{path}.{name}: required element missing (min 1 in {self.name})",
                        [f"{path}.{name}"],
                    )
                )

    def _id_only(self, obj: dict[str, Any]) -> bool:
        return "id" in obj and not self.id_only_ok

    def _unknown(self, key: str, path: str) -> Issue:
        where = f"{path}.{key}"
        if not isinstance(key, str):  # not from JSON, but do not crash on it
            return Issue("CH-3002", f"{path}: property names must be strings, got {key!r}", [path])
        bare = key[1:] if key.startswith("_") else key
        if key.startswith("_") and bare in self.fields and f"_{bare}" not in self.fields:
            message = (
                f"{where}: unknown element; '{bare}' is not a primitive element, so it has no "
                f"'_{bare}' companion"
            )
        else:
            message = f"{where}: unknown element '{key}' for {self.name}"
            for base, types in self.choice_types.items():
                suffix = bare[len(base) :]
                if bare.startswith(base) and suffix[:1].isupper():
                    message = (
                        f"{where}: '{bare}' is not an allowed type of {self.name}.{base}[x] "
                        f"(allowed: {', '.join(types)})"
                    )
                    break
        return Issue("CH-3002", message, [where])


# --------------------------------------------------------------------------- field checks


def _cardinality(p: str, n: int, low: int, high: int | None) -> Issue | None:
    if n < low or (high is not None and n > high):
        bound = "*" if high is None else str(high)
        return Issue("CH-3004", f"{p}: {n} values, but cardinality is {low}..{bound}", [p])
    return None


def _not_an_array(p: str, value: Any, high: int | None) -> Issue:
    bound = "*" if high is None else str(high)
    if isinstance(value, dict | str | int | float | bool):
        return Issue("CH-3004", f"{p}: repeating element (max {bound}) must be a JSON array", [p])
    return Issue("CH-3008", f"{p}: expected a JSON array, got {describe(value)}", [p])


def _single_expected(p: str, value: Any, what: str) -> Issue:
    if isinstance(value, list):
        return Issue("CH-3004", f"{p}: at most one value allowed (max 1), got an array", [p])
    return Issue("CH-3008", f"{p}: expected {what}, got {describe(value)}", [p])


def _empty_array(p: str) -> Issue:
    return Issue("CH-3004", f"{p}: empty array; omit the element instead", [p])


def _code_issue(p: str, value: Any, valueset: str) -> Issue:
    return Issue("CH-3006", f"{p}: code {value!r} is not in the required value set {valueset}", [p])


def primitive_field(
    key: str,
    seg: str,
    check: PrimitiveCheck,
    many: bool,
    low: int,
    high: int | None,
    codes: frozenset[str] | None,
    valueset: str,
    extra: ValueCheck | None,
    invalid_code: str,
) -> FieldCheck:
    """Check of the value property ``key`` of a primitive element."""
    companion = "_" + key

    def problem_issue(p: str, value: Any, problem: tuple[str, str]) -> Issue:
        if value is None:
            return Issue("CH-3008", f"{p}: null is not allowed here; omit the element", [p])
        code = invalid_code if problem[0] == INVALID else problem[0]
        return Issue(code, f"{p}: {problem[1]}", [p])

    if not many:

        def single(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
            problem = check(value)
            if problem is None:
                if codes is not None and value not in codes:
                    issues.append(_code_issue(f"{path}.{seg}", value, valueset))
                elif extra is not None:
                    issue = extra(value, f"{path}.{seg}")
                    if issue is not None:
                        issues.append(issue)
                return
            p = f"{path}.{seg}"
            if type(value) is list:
                issues.append(_single_expected(p, value, "a single value"))
            else:
                issues.append(problem_issue(p, value, problem))

        return single

    def repeated(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
        p = f"{path}.{seg}"
        if type(value) is not list:
            issues.append(_not_an_array(p, value, high))
            return
        if not value:
            issues.append(_empty_array(p))
            return
        if low > 1 or high is not None:
            issue = _cardinality(p, len(value), low, high)
            if issue is not None:
                issues.append(issue)
        ext: Any = None
        for i, item in enumerate(value):
            if item is None:
                if ext is None:
                    ext = obj.get(companion)
                    if type(ext) is not list:
                        ext = ()
                if i >= len(ext) or ext[i] is None:
                    ip = f"{p}[{i}]"
                    issues.append(
                        Issue(
                            "CH-3004",
                            f"{ip}: null without a matching entry in '{companion}'",
                            [ip],
                        )
                    )
                continue
            problem = check(item)
            if problem is None:
                if codes is not None and item not in codes:
                    issues.append(_code_issue(f"{p}[{i}]", item, valueset))
                elif extra is not None:
                    issue = extra(item, f"{p}[{i}]")
                    if issue is not None:
                        issues.append(issue)
            else:
                ip = f"{p}[{i}]"
                if type(item) is list or type(item) is dict:
                    issues.append(
                        Issue("CH-3008", f"{ip}: expected a primitive, got {describe(item)}", [ip])
                    )
                else:
                    issues.append(problem_issue(ip, item, problem))

    return repeated


def companion_field(key: str, seg: str, element: Spec, many: bool) -> FieldCheck:
    """Check of ``_key``: the id and extensions of primitive element ``key``."""
    companion = "_" + key

    if not many:

        def single(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
            p = f"{path}.{seg}"
            if type(value) is dict:
                element.validate(value, p, issues)
            else:
                issues.append(
                    _single_expected(p, value, f"an object with id/extension for '{companion}'")
                )

        return single

    def repeated(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
        p = f"{path}.{seg}"
        if type(value) is not list:
            issues.append(_not_an_array(p, value, None))
            return
        if not value:
            issues.append(_empty_array(p))
            return
        values = obj.get(key)
        if type(values) is list and len(values) != len(value):
            issues.append(
                Issue(
                    "CH-3004",
                    f"{p}: '{companion}' has {len(value)} entries but '{key}' has "
                    f"{len(values)}; the two arrays must align",
                    [p],
                )
            )
        for i, item in enumerate(value):
            if type(item) is dict:
                element.validate(item, f"{p}[{i}]", issues)
            elif item is None:
                if values is None:
                    ip = f"{p}[{i}]"
                    issues.append(
                        Issue("CH-3004", f"{ip}: null in '{companion}' and no '{key}'", [ip])
                    )
            else:
                ip = f"{p}[{i}]"
                issues.append(
                    Issue(
                        "CH-3008", f"{ip}: expected an object or null, got {describe(item)}", [ip]
                    )
                )

    return repeated


def object_field(
    seg: str,
    validate: Callable[[dict[str, Any], str, Issues], None],
    many: bool,
    low: int,
    high: int | None,
    post: PostCheck | None,
    what: str,
) -> FieldCheck:
    """Check of an element holding objects (complex type, backbone element or resource)."""
    if not many:

        def single(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
            p = f"{path}.{seg}"
            if type(value) is dict:
                validate(value, p, issues)
                if post is not None:
                    post(value, p, issues)
            else:
                issues.append(_single_expected(p, value, f"a JSON object ({what})"))

        return single

    def repeated(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
        p = f"{path}.{seg}"
        if type(value) is not list:
            issues.append(_not_an_array(p, value, high))
            return
        if not value:
            issues.append(_empty_array(p))
            return
        if low > 1 or high is not None:
            issue = _cardinality(p, len(value), low, high)
            if issue is not None:
                issues.append(issue)
        for i, item in enumerate(value):
            ip = f"{p}[{i}]"
            if type(item) is dict:
                validate(item, ip, issues)
                if post is not None:
                    post(item, ip, issues)
            elif item is None:
                issues.append(Issue("CH-3004", f"{ip}: null is not allowed in this array", [ip]))
            else:
                issues.append(
                    Issue(
                        "CH-3008",
                        f"{ip}: expected a JSON object ({what}), got {describe(item)}",
                        [ip],
                    )
                )

    return repeated


def forbidden_field(seg: str) -> FieldCheck:
    def forbidden(obj: dict[str, Any], value: Any, path: str, issues: Issues) -> None:
        p = f"{path}.{seg}"
        issues.append(Issue("CH-3004", f"{p}: element not allowed (max 0)", [p]))

    return forbidden


def reference_check(value: Any, p: str) -> Issue | None:
    """Extra check of ``Reference.reference``."""
    reason = reference_problem(value)
    if reason is None:
        return None
    if reason.startswith("conditional"):
        return ConditionalReferenceIssue("CH-3007", f"{p}: {reason}", [p])
    return Issue("CH-3007", f"{p}: {reason}", [p])


def target_check(targets: frozenset[str], element: str) -> PostCheck:
    """Post check of a Reference whose element restricts the target resource types."""
    allowed = ", ".join(sorted(targets))
    concrete = definitions.resource_types()

    def post(value: dict[str, Any], p: str, issues: Issues) -> None:
        ref = value.get("reference")
        if type(ref) is str:
            target = relative_type(ref)
            if target is not None and target not in targets and target in concrete:
                issues.append(
                    Issue(
                        "CH-3007",
                        f"{p}.reference: {ref!r} refers to {target}, but {element} allows "
                        f"only {allowed}",
                        [f"{p}.reference"],
                    )
                )

    return post


def identifier_post(value: dict[str, Any], p: str, issues: Issues) -> None:
    """Post check of an Identifier whose system has a rule (docs/identifiers.md).

    A value that breaks its system's rule is a CH-3005 at ``….value`` (at ``….system`` when
    the passport system's issuing country is wrong); ``use = "old"`` identifiers are kept as
    they are (https://hl7.org/fhir/R4/valueset-identifier-use.html).
    """
    system = value.get("system")
    if type(system) is not str or not is_validated(system):
        return
    text = value.get("value")
    if type(text) is not str or value.get("use") == "old":
        return
    problem = identifier_problem(system, text)
    if problem is not None:
        where = f"{p}.system" if problem.part == "country" else f"{p}.value"
        issues.append(Issue("CH-3005", f"{where}: {problem}", [where]))


def _coding_check(
    by_system: dict[str, frozenset[str]], valueset: str
) -> Callable[[Any, str, Issues], None]:
    def check(coding: Any, p: str, issues: Issues) -> None:
        if type(coding) is dict:
            system = coding.get("system")
            if type(system) is str:
                allowed = by_system.get(system)
                if allowed is not None:
                    code = coding.get("code")
                    if type(code) is str and code not in allowed:
                        issues.append(_code_issue(f"{p}.code", code, valueset))

    return check


def binding_post(type_code: str, valueset: str) -> PostCheck | None:
    """Post check of a Coding or CodeableConcept bound to a required value set."""
    by_system = definitions.required_codings(valueset)
    if by_system is None:
        return None
    check_coding = _coding_check(by_system, valueset)
    if type_code == "Coding":

        def coding(value: dict[str, Any], p: str, issues: Issues) -> None:
            check_coding(value, p, issues)

        return coding

    def concept(value: dict[str, Any], p: str, issues: Issues) -> None:
        codings = value.get("coding")
        if type(codings) is list:
            for i, item in enumerate(codings):
                check_coding(item, f"{p}.coding[{i}]", issues)

    return concept


def chain(first: PostCheck | None, second: PostCheck | None) -> PostCheck | None:
    if first is None or second is None:
        return first or second

    def both(value: dict[str, Any], p: str, issues: Issues) -> None:
        first(value, p, issues)
        second(value, p, issues)

    return both
