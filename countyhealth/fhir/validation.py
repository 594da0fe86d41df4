"""Structural validation of FHIR R4 resources in their JSON form.

:func:`validate_resource` checks a parsed JSON resource against the R4 definitions shipped in
:mod:`countyhealth.fhir.definitions` and returns every problem found as an
:class:`~countyhealth.errors.Issue`; :func:`check_resource` raises them as an
:class:`~countyhealth.errors.OperationOutcomeError`.

What is checked (https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/datatypes.html,
https://hl7.org/fhir/R4/elementdefinition.html):

* a JSON object with a known, concrete ``resourceType`` (``CH-2004``) and a valid ``id``
  (``[A-Za-z0-9\\-\\.]{1,64}``, ``CH-2007``);
* only defined properties (``CH-3002``): choice elements ``value[x]`` appear as
  ``valueString``, ``valueQuantity`` … with one of the allowed types, and ``_name`` companions
  of primitives carry ``id``/``extension`` (an object, or for repeating primitives an array of
  objects or nulls aligned with the value array);
* cardinality (``CH-3003``/``CH-3004``): a single value where max is 1, a non-empty array where
  max is more than 1, no nulls in arrays except for primitive alignment, required elements
  present (a primitive is present when either ``x`` or ``_x`` is), one type per choice
  element, no empty objects (ele-1);
* JSON types (``CH-3008``) and lexical forms (``CH-3005``) of primitives, see
  :mod:`countyhealth.fhir.primitives`;
* complex types, backbone elements, ``contentReference`` and inline resources (``contained``,
  ``Bundle.entry.resource``, ``Parameters.parameter.resource``), recursively;
* codes of required bindings (``CH-3006``) on ``code`` elements and on ``Coding.code`` /
  ``CodeableConcept.coding.code`` when the coding's system is part of the value set; value
  sets that cannot be expanded from the R4 package (BCP-13 mime types, ISO 4217 currencies,
  UCUM units, LOINC answer lists) are not checked;
* ``Reference.reference`` forms and target types (``CH-3007``), see
  :mod:`countyhealth.fhir.references`;
* identifier values of Patient, RelatedPerson and Practitioner against the rule of their
  system (identity numbers, permits, passports; ``CH-3005``), see
  :mod:`countyhealth.fhir.identifiers`.

Not checked: invariants (FHIRPath constraints other than ele-1), profiles, extension
definitions, value sets of other binding strengths, and whether referenced resources exist.

Every issue's ``expression`` is a FHIRPath location with array indexes, for example
``Patient.name[0].given[1]``; choice elements use ``ofType``
(``Observation.value.ofType(Quantity).code``) and the ``_name`` companion of a primitive is
addressed through the primitive (``Patient.birthDate.extension[0].url``).

Each type is compiled once, on first use, into dicts of closures; validating walks the JSON
once without compiling anything.
"""

from __future__ import annotations

import threading
from typing import Any

from countyhealth.errors import Issue, OperationOutcomeError
from countyhealth.fhir import definitions
from countyhealth.fhir.element_checks import (
    ConditionalReferenceIssue,
    Issues,
    PostCheck,
    Spec,
    binding_post,
    chain,
    companion_field,
    describe,
    forbidden_field,
    identifier_post,
    ignore_field,
    object_field,
    primitive_field,
    reference_check,
    target_check,
)
from countyhealth.fhir.identifiers import VALIDATED_RESOURCES
from countyhealth.fhir.primitives import INVALID, checker

__all__ = ["check_resource", "precompile", "validate_resource"]

#: Bundle types whose entries may use conditional references (https://hl7.org/fhir/R4/http.html#trules).
CONDITIONAL_BUNDLE_TYPES = frozenset({"transaction", "batch"})
#: Elements whose Identifiers are checked against their system's rule (docs/identifiers.md).
IDENTIFIER_PATHS = frozenset(f"{name}.identifier" for name in VALIDATED_RESOURCES)


# --------------------------------------------------------------------------- compiler


class _Compiler:
    """Builds :class:`Spec` objects from the derived definitions; not thread-safe itself."""

    def __init__(self) -> None:
        self.paths: dict[str, Spec] = {}
        self.children: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.primitives = definitions.primitive_types()

    def _children_of(self, type_name: str) -> dict[str, list[dict[str, Any]]]:
        index = self.children.get(type_name)
        if index is None:
            index = {}
            for element in definitions.structure(type_name)["elements"]:
                parent = element["path"].rsplit(".", 1)[0]
                index.setdefault(parent, []).append(element)
            self.children[type_name] = index
        return index

    def type_spec(self, type_name: str) -> Spec:
        return self.path_spec(type_name, type_name)

    def path_spec(self, type_name: str, path: str) -> Spec:
        spec = self.paths.get(path)
        if spec is not None:
            return spec
        is_resource = path == type_name and definitions.structure(type_name)["kind"] == "resource"
        spec = Spec(path, is_resource)
        self.paths[path] = spec  # registered first: definitions are recursive
        if is_resource:
            spec.fields["resourceType"] = ignore_field
        for element in self._children_of(type_name).get(path, []):
            self._add_element(spec, type_name, element)
        return spec

    def _add_element(self, spec: Spec, type_name: str, element: dict[str, Any]) -> None:
        path: str = element["path"]
        name = path.rsplit(".", 1)[1]
        low: int = element["min"]
        high = None if element["max"] == "*" else int(element["max"])
        many = high is None or high > 1
        if high == 0:
            spec.fields[name] = forbidden_field(name)
            return
        if "contentReference" in element or path in self._children_of(type_name):
            target = element.get("contentReference", "#" + path)[1:]
            child = self.path_spec(type_name, target)
            spec.fields[name] = object_field(name, child.validate, many, low, high, None, target)
            if low >= 1:
                spec.required.append(((name,), name))
            return

        choice = name.endswith("[x]")
        base = name[:-3] if choice else name
        types: list[dict[str, Any]] = element["type"]
        if choice:
            spec.choice_types[base] = [t["code"] for t in types]
        satisfying: list[str] = []
        binding: str | None = element.get("binding")
        for type_ in types:
            code: str = type_["code"]
            key = base + code[0].upper() + code[1:] if choice else name
            seg = f"{base}.ofType({code})" if choice else name
            keys = [key]
            if code in self.primitives:
                codes = definitions.required_codes(binding) if binding else None
                resource_id = spec.is_resource and name == "id"
                extra = reference_check if path == "Reference.reference" else None
                spec.fields[key] = primitive_field(
                    key,
                    seg,
                    checker(code),
                    many,
                    low,
                    high,
                    codes,
                    binding or "",
                    extra,
                    "CH-2007" if resource_id else INVALID,
                )
                if not type_.get("attribute") and code != "xhtml":
                    element_spec = self.type_spec("Element")
                    spec.fields["_" + key] = companion_field(key, seg, element_spec, many)
                    keys.append("_" + key)
            elif code == "Resource":
                spec.fields[key] = object_field(
                    seg, _validate_inline_resource, many, low, high, None, "a resource"
                )
            else:
                child = self.type_spec(code)
                post: PostCheck | None = None
                if binding and code in ("Coding", "CodeableConcept"):
                    post = binding_post(code, binding)
                targets = type_.get("targets")
                if code == "Reference" and targets and "Resource" not in targets:
                    post = chain(post, target_check(frozenset(targets), path))
                if code == "Identifier" and path in IDENTIFIER_PATHS:
                    post = chain(post, identifier_post)
                spec.fields[key] = object_field(seg, child.validate, many, low, high, post, code)
            if choice:
                for k in keys:
                    spec.choice_of[k] = base
            satisfying.extend(keys)
        if low >= 1:
            spec.required.append((tuple(satisfying), base))


_LOCK = threading.Lock()
_COMPILER: _Compiler | None = None
#: Fully compiled resource specs; read without the lock.
_READY: dict[str, Spec] = {}


def _resource_spec(resource_type: str) -> Spec:
    spec = _READY.get(resource_type)
    if spec is not None:
        return spec
    global _COMPILER
    with _LOCK:
        spec = _READY.get(resource_type)
        if spec is not None:
            return spec
        if _COMPILER is None:
            _COMPILER = _Compiler()
        try:
            spec = _COMPILER.type_spec(resource_type)
        except BaseException:
            # A failure part-way (e.g. RecursionError when first met deep in a resource) leaves
            # half-built specs behind: start again with a fresh compiler next time.
            _COMPILER = None
            raise
        _READY[resource_type] = spec  # published only once every reachable spec is built
    return spec


def precompile(resource_types: list[str] | None = None) -> None:
    """Compile the given resource types (default: all) now rather than on first use."""
    names = sorted(definitions.resource_types()) if resource_types is None else resource_types
    for name in names:
        _resource_spec(name)


# --------------------------------------------------------------------------- resources


def _validate_inline_resource(resource: dict[str, Any], path: str, issues: Issues) -> None:
    """Validate a resource held in an element (``contained``, ``Bundle.entry.resource`` …)."""
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str or resource_type not in definitions.resource_types():
        issues.append(_resource_type_issue(resource_type, path))
        return
    spec = _resource_spec(resource_type)
    if resource_type == "Bundle" and resource.get("type") in CONDITIONAL_BUNDLE_TYPES:
        found: Issues = []
        spec.validate(resource, path, found)
        issues.extend(i for i in found if not isinstance(i, ConditionalReferenceIssue))
    else:
        spec.validate(resource, path, issues)


def _resource_type_issue(resource_type: Any, path: str) -> Issue:
    if resource_type is None:
        message = "resourceType is missing"
    elif type(resource_type) is not str:
        message = f"resourceType must be a string, got {describe(resource_type)}"
    elif resource_type in definitions.abstract_resource_types():
        message = f"resourceType {resource_type!r} is abstract"
    else:
        message = f"unknown resourceType {resource_type!r}"
    if not path:
        return Issue("CH-2004", message, ["resourceType"])
    return Issue("CH-2004", f"{path}: {message}", [f"{path}.resourceType"])


def validate_resource(
    resource: object, *, allow_conditional_references: bool = False
) -> list[Issue]:
    """Validate a parsed JSON resource against the FHIR R4 definitions.

    Implements the rules of https://hl7.org/fhir/R4/json.html and the structural rules of
    https://hl7.org/fhir/R4/elementdefinition.html listed in the module documentation.

    Args:
        resource: the parsed JSON (``dict``) of one resource.
        allow_conditional_references: accept ``Type?query`` references, for a resource that
            is an entry of a transaction or batch Bundle (inside such a Bundle they are
            always accepted).

    Returns:
        Every problem found, each with an error code, a diagnostics message and a FHIRPath
        ``expression``; an empty list when the resource is valid.
    """
    if type(resource) is not dict:
        return [Issue("CH-1002", f"a resource must be a JSON object, got {describe(resource)}")]
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str or resource_type not in definitions.resource_types():
        return [_resource_type_issue(resource_type, "")]
    issues: Issues = []
    try:
        _validate_inline_resource(resource, resource_type, issues)
    except RecursionError:
        issues.append(
            Issue("CH-3001", f"{resource_type}: the resource is nested too deeply", [resource_type])
        )
    if allow_conditional_references:
        issues = [i for i in issues if not isinstance(i, ConditionalReferenceIssue)]
    return issues


def check_resource(resource: object, *, allow_conditional_references: bool = False) -> None:
    """Raise :class:`OperationOutcomeError` with every problem if ``resource`` is not valid.

    See :func:`validate_resource` (https://hl7.org/fhir/R4/validation.html).
    """
    issues = validate_resource(resource, allow_conditional_references=allow_conditional_references)
    if any(issue.severity in ("error", "fatal") for issue in issues):
        raise OperationOutcomeError(issues)
