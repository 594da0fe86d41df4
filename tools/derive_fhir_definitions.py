"""Derive the compact FHIR R4 definitions CountyHealth validates and searches with.

Reads the official package ``hl7.fhir.r4.examples@4.0.1`` (npm, CC0-1.0) straight from its
tarball, checks the tarball's SHA-256 and writes to ``countyhealth/fhir/definitions/r4/``:

``structure.json.gz``
    Every StructureDefinition that *defines* a type (derivation ``specialization``, or the
    base types Element and Resource that have no derivation) of kind resource, complex-type or
    primitive-type: the snapshot elements with path, min, max, type codes (with Reference
    target types), contentReference, required binding and the summary flag; the concrete and
    abstract resource type names; the primitive-type regexes and the string maximum length.
    See https://hl7.org/fhir/R4/structuredefinition.html and
    https://hl7.org/fhir/R4/elementdefinition.html.
``valuesets.json.gz``
    For every value set used by a required binding: its expansion, by code system, when the
    package holds what is needed to expand it; otherwise the reason it is not expandable
    (those value sets are not checked by the validator). See
    https://hl7.org/fhir/R4/valueset.html#compositions.
``search_parameters.json.gz``
    Every SearchParameter of ``Bundle-searchParams.json`` (https://hl7.org/fhir/R4/searchparameter.html).
``compartments.json.gz``
    The five CompartmentDefinitions: for each compartment, resource type to the search
    parameter codes that place a resource in it (https://hl7.org/fhir/R4/compartmentdefinition.html).
``PROVENANCE.json``
    Package name, version, tarball SHA-256, licence, derivation date, script and counts.

Usage::

    .venv/bin/python tools/derive_fhir_definitions.py [--package PATH_TO_TGZ]

When the default tarball is missing it is fetched with
``npm pack hl7.fhir.r4.examples@4.0.1 --pack-destination .cache/fhir``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_NAME = "hl7.fhir.r4.examples"
PACKAGE_VERSION = "4.0.1"
PACKAGE_SHA256 = "dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682"
DEFAULT_PACKAGE = ROOT / ".cache" / "fhir" / f"{PACKAGE_NAME}-{PACKAGE_VERSION}.tgz"
OUTPUT_DIR = ROOT / "countyhealth" / "fhir" / "definitions" / "r4"

SD_BASE = "http://hl7.org/fhir/StructureDefinition/"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."
#: FHIRPath system types to the FHIR primitive used when no fhir-type extension says better.
SYSTEM_TYPES = {
    "String": "string",
    "Boolean": "boolean",
    "Integer": "integer",
    "Decimal": "decimal",
    "Date": "date",
    "DateTime": "dateTime",
    "Time": "time",
}
COMPARTMENTS = ("patient", "encounter", "relatedPerson", "practitioner", "device")
#: Bundles in the package that also carry ValueSets and CodeSystems (used to fill gaps only).
TERMINOLOGY_BUNDLES = (
    "Bundle-valuesets.json",
    "Bundle-v2-valuesets.json",
    "Bundle-v3-valuesets.json",
)


# --------------------------------------------------------------------------- package access


def ensure_package(path: Path) -> Path:
    """Return the tarball path, fetching the default package with npm when it is missing."""
    if path.exists():
        return path
    if path != DEFAULT_PACKAGE:
        sys.exit(f"package tarball not found: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"{path} missing; running npm pack", file=sys.stderr)
    subprocess.run(
        [
            "npm",
            "pack",
            f"{PACKAGE_NAME}@{PACKAGE_VERSION}",
            "--pack-destination",
            str(path.parent),
        ],
        check=True,
    )
    if not path.exists():
        sys.exit(f"npm pack did not produce {path}")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_package(path: Path) -> dict[str, Any]:
    """All ``package/*.json`` members of the tarball, parsed, keyed by file name."""
    files: dict[str, Any] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            name = member.name.split("/", 1)[-1]
            if "/" in name:
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            files[name] = orjson.loads(fh.read())
    return files


def resources_of(files: dict[str, Any], resource_type: str) -> Iterator[dict[str, Any]]:
    prefix = resource_type + "-"
    for name in sorted(files):
        doc = files[name]
        if (
            name.startswith(prefix)
            and isinstance(doc, dict)
            and doc.get("resourceType") == resource_type
        ):
            yield doc


# --------------------------------------------------------------------------- structure


def is_type_definition(sd: dict[str, Any]) -> bool:
    """True for the StructureDefinitions that define a type (not profiles, not logical models)."""
    if sd.get("kind") not in ("resource", "complex-type", "primitive-type"):
        return False
    derivation = sd.get("derivation")
    if derivation == "specialization":
        return True
    return derivation is None and "baseDefinition" not in sd


def _ext(items: Iterable[dict[str, Any]], url: str) -> Any:
    for ext in items:
        if ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def resolve_type_code(sd: dict[str, Any], path: str, type_: dict[str, Any]) -> str:
    """The FHIR type of one ElementDefinition.type entry.

    FHIRPath ``System.*`` types (used for ``Element.id``, ``Extension.url``, a resource's ``id``
    and the ``value`` of primitive types) are mapped to the FHIR primitive whose rules apply:
    the ``structuredefinition-fhir-type`` extension when present, the primitive itself for
    ``<primitive>.value``, and ``id`` for a resource's ``id`` (https://hl7.org/fhir/R4/resource.html#id;
    the 4.0.1 snapshots say ``string`` there, the resource page says ``id``).
    """
    code: str = type_["code"]
    if not code.startswith(SYSTEM_PREFIX):
        return code
    type_name = sd["type"]
    if sd["kind"] == "primitive-type" and path == f"{type_name}.value":
        return str(type_name)
    if sd["kind"] == "resource" and path == f"{type_name}.id":
        return "id"
    fhir_type = _ext(type_.get("extension", []), FHIR_TYPE_EXT)
    if isinstance(fhir_type, str):
        return fhir_type
    return SYSTEM_TYPES[code[len(SYSTEM_PREFIX) :]]


def derive_element(sd: dict[str, Any], element: dict[str, Any]) -> dict[str, Any]:
    path = element["path"]
    if "sliceName" in element:
        raise ValueError(f"unexpected slice in a type definition: {element['id']}")
    out: dict[str, Any] = {"path": path, "min": element["min"], "max": element["max"]}
    types: list[dict[str, Any]] = []
    for type_ in element.get("type", []):
        entry: dict[str, Any] = {"code": resolve_type_code(sd, path, type_)}
        if type_["code"].startswith(SYSTEM_PREFIX) and entry["code"] != "id":
            # An XML attribute in FHIR (Element.id, Extension.url, primitive values): it has
            # no id or extensions of its own, so no ``_name`` in JSON.
            entry["attribute"] = True
        if type_["code"] == "Reference" and type_.get("targetProfile"):
            entry["targets"] = sorted(
                p.removeprefix(SD_BASE) for p in type_["targetProfile"] if p.startswith(SD_BASE)
            )
        types.append(entry)
    if types:
        out["type"] = types
    if "contentReference" in element:
        out["contentReference"] = element["contentReference"]
    binding = element.get("binding")
    if binding and binding.get("strength") == "required" and binding.get("valueSet"):
        out["binding"] = binding["valueSet"].split("|", 1)[0]
    if element.get("isSummary"):
        out["summary"] = True
    return out


def derive_structure(files: dict[str, Any]) -> dict[str, Any]:
    types: dict[str, Any] = {}
    regexes: dict[str, str] = {}
    max_length: dict[str, int] = {}
    for sd in resources_of(files, "StructureDefinition"):
        if not is_type_definition(sd):
            continue
        name = sd["type"]
        if name in types:
            raise ValueError(f"two definitions of type {name}")
        elements = sd["snapshot"]["element"]
        if elements[0]["path"] != name:
            raise ValueError(f"snapshot of {name} does not start at its root")
        entry: dict[str, Any] = {
            "kind": sd["kind"],
            "abstract": bool(sd.get("abstract")),
            "elements": [derive_element(sd, e) for e in elements[1:]],
        }
        if sd.get("baseDefinition"):
            entry["base"] = sd["baseDefinition"].removeprefix(SD_BASE)
        types[name] = entry
        if sd["kind"] == "primitive-type":
            for element in elements:
                if element["path"] != f"{name}.value":
                    continue
                for type_ in element.get("type", []):
                    regex = _ext(type_.get("extension", []), REGEX_EXT)
                    if isinstance(regex, str):
                        regexes[name] = regex
                if "maxLength" in element:
                    max_length[name] = element["maxLength"]
    resources = sorted(n for n, t in types.items() if t["kind"] == "resource")
    return {
        "fhirVersion": PACKAGE_VERSION,
        "resourceTypes": [n for n in resources if not types[n]["abstract"]],
        "abstractResourceTypes": [n for n in resources if types[n]["abstract"]],
        "complexTypes": sorted(n for n, t in types.items() if t["kind"] == "complex-type"),
        "primitiveTypes": sorted(n for n, t in types.items() if t["kind"] == "primitive-type"),
        "primitiveRegex": dict(sorted(regexes.items())),
        "primitiveMaxLength": dict(sorted(max_length.items())),
        "types": dict(sorted(types.items())),
    }


# --------------------------------------------------------------------------- value sets


class NotExpandable(Exception):
    """A value set that cannot be expanded from the package alone."""


class CodeSystemIndex:
    """Concepts of the package's complete CodeSystems, with their is-a hierarchy."""

    def __init__(self, code_systems: dict[str, dict[str, Any]]) -> None:
        self.systems = code_systems
        self._codes: dict[str, list[str]] = {}
        self._children: dict[str, dict[str, list[str]]] = {}
        self._properties: dict[str, dict[str, dict[str, list[Any]]]] = {}

    def _load(self, system: str) -> None:
        if system in self._codes:
            return
        cs = self.systems.get(system)
        if cs is None:
            raise NotExpandable(f"code system {system} is not in the package")
        if cs.get("content") != "complete":
            raise NotExpandable(f"code system {system} has content '{cs.get('content')}'")
        codes: list[str] = []
        children: dict[str, list[str]] = {}
        properties: dict[str, dict[str, list[Any]]] = {}

        def walk(concepts: list[dict[str, Any]], parent: str | None) -> None:
            for concept in concepts:
                code = concept["code"]
                codes.append(code)
                if parent is not None:
                    children.setdefault(parent, []).append(code)
                props = properties.setdefault(code, {})
                for prop in concept.get("property", []):
                    value = next((v for k, v in prop.items() if k.startswith("value")), None)
                    props.setdefault(prop["code"], []).append(value)
                    if prop["code"] in ("parent", "subsumedBy") and isinstance(value, str):
                        children.setdefault(value, []).append(code)
                walk(concept.get("concept", []), code)

        walk(cs.get("concept", []), None)
        self._codes[system] = codes
        self._children[system] = children
        self._properties[system] = properties

    def all_codes(self, system: str) -> set[str]:
        self._load(system)
        return set(self._codes[system])

    def descendants(self, system: str, code: str) -> set[str]:
        self._load(system)
        if code not in self._properties[system]:
            raise NotExpandable(f"filter refers to unknown code {code} of {system}")
        found: set[str] = set()
        stack = list(self._children[system].get(code, []))
        while stack:
            child = stack.pop()
            if child not in found:
                found.add(child)
                stack.extend(self._children[system].get(child, []))
        return found

    def with_property(self, system: str, prop: str, value: str) -> set[str]:
        self._load(system)
        out = set()
        for code, props in self._properties[system].items():
            if any(str(v).lower() == value.lower() for v in props.get(prop, [])):
                out.add(code)
        return out


class ValueSetExpander:
    """Expands ``ValueSet.compose`` (https://hl7.org/fhir/R4/valueset.html#compositions).

    Supported: whole code systems (``content = complete``), explicit concept lists (for any
    system), filters ``is-a``, ``descendent-of``, ``is-not-a``, ``=`` on a concept property
    and ``in`` on ``concept``, imports of other value sets, and excludes. Anything else makes
    the value set not expandable.
    """

    def __init__(
        self, value_sets: dict[str, dict[str, Any]], code_systems: CodeSystemIndex
    ) -> None:
        self.value_sets = value_sets
        self.code_systems = code_systems
        self._done: dict[str, dict[str, set[str]] | str] = {}

    def expand(self, url: str) -> dict[str, set[str]] | str:
        """Codes by system, or the reason the value set is not expandable."""
        if url not in self._done:
            self._done[url] = "value set includes itself"
            try:
                self._done[url] = self._expand(url)
            except NotExpandable as exc:
                self._done[url] = str(exc)
        return self._done[url]

    def _expand(self, url: str) -> dict[str, set[str]]:
        vs = self.value_sets.get(url)
        if vs is None:
            raise NotExpandable(f"value set {url} is not in the package")
        compose = vs.get("compose")
        if not compose:
            raise NotExpandable(f"value set {url} has no compose")
        result: dict[str, set[str]] = {}
        for include in compose.get("include", []):
            for system, codes in self._component(include).items():
                result.setdefault(system, set()).update(codes)
        for exclude in compose.get("exclude", []):
            for system, codes in self._component(exclude).items():
                if system in result:
                    result[system] -= codes
        return result

    def _component(self, component: dict[str, Any]) -> dict[str, set[str]]:
        imported: list[dict[str, set[str]]] = []
        for ref in component.get("valueSet", []):
            expansion = self.expand(ref.split("|", 1)[0])
            if isinstance(expansion, str):
                raise NotExpandable(f"imports {ref}: {expansion}")
            imported.append(expansion)
        system = component.get("system")
        if system is None:
            if not imported:
                raise NotExpandable("include without system or valueSet")
            merged = imported[0]
            for other in imported[1:]:
                merged = {s: c & other.get(s, set()) for s, c in merged.items()}
            return merged
        if "concept" in component:
            codes = {c["code"] for c in component["concept"]}
        elif "filter" in component:
            codes = self.code_systems.all_codes(system)
            for filt in component["filter"]:
                codes &= self._filter(system, filt)
        else:
            codes = self.code_systems.all_codes(system)
        for expansion in imported:
            codes &= expansion.get(system, set())
        return {system: codes}

    def _filter(self, system: str, filt: dict[str, Any]) -> set[str]:
        prop, op, value = filt.get("property"), filt.get("op"), filt.get("value", "")
        index = self.code_systems
        if prop == "concept" and op == "is-a":
            return index.descendants(system, value) | {value}
        if prop == "concept" and op == "descendent-of":
            return index.descendants(system, value)
        if prop == "concept" and op == "is-not-a":
            return index.all_codes(system) - index.descendants(system, value) - {value}
        if prop == "concept" and op == "in":
            return {v.strip() for v in value.split(",")}
        if op == "=" and isinstance(prop, str):
            return index.with_property(system, prop, value)
        raise NotExpandable(f"filter {prop} {op} {value} on {system} is not supported")


def index_terminology(files: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Canonical URL to resource; individual files first, the terminology bundles fill gaps."""
    out: dict[str, dict[str, Any]] = {}
    for resource in resources_of(files, resource_type):
        out.setdefault(resource["url"], resource)
    for bundle_name in TERMINOLOGY_BUNDLES:
        for entry in files.get(bundle_name, {}).get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == resource_type and "url" in resource:
                out.setdefault(resource["url"], resource)
    return out


def required_binding_urls(structure: dict[str, Any]) -> set[str]:
    return {
        element["binding"]
        for type_ in structure["types"].values()
        for element in type_["elements"]
        if "binding" in element
    }


def derive_valuesets(files: dict[str, Any], structure: dict[str, Any]) -> dict[str, Any]:
    value_sets = index_terminology(files, "ValueSet")
    code_systems = index_terminology(files, "CodeSystem")
    expander = ValueSetExpander(value_sets, CodeSystemIndex(code_systems))
    expanded: dict[str, dict[str, list[str]]] = {}
    not_expandable: dict[str, str] = {}
    for url in sorted(required_binding_urls(structure)):
        result = expander.expand(url)
        if isinstance(result, str):
            not_expandable[url] = result
        else:
            expanded[url] = {system: sorted(codes) for system, codes in sorted(result.items())}
    return {"expanded": expanded, "notExpandable": not_expandable}


# --------------------------------------------------------------------------- search, compartments

SEARCH_KEYS = (
    "id",
    "url",
    "code",
    "base",
    "type",
    "expression",
    "target",
    "modifier",
    "comparator",
    "multipleOr",
    "multipleAnd",
    "chain",
)


def derive_search_parameters(files: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in files["Bundle-searchParams.json"]["entry"]:
        sp = entry["resource"]
        item = {key: sp[key] for key in SEARCH_KEYS if key in sp}
        if "component" in sp:
            item["component"] = [
                {"definition": c["definition"], "expression": c["expression"]}
                for c in sp["component"]
            ]
        out.append(item)
    return out


def derive_compartments(files: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Compartment code to {resource type: [param, ...]}; types with no param are left out."""
    out: dict[str, dict[str, list[str]]] = {}
    for cd in resources_of(files, "CompartmentDefinition"):
        if cd.get("url") not in {
            f"http://hl7.org/fhir/CompartmentDefinition/{c}" for c in COMPARTMENTS
        }:
            continue
        out[cd["code"]] = {
            r["code"]: list(r["param"]) for r in cd.get("resource", []) if r.get("param")
        }
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- output


def write_gz(path: Path, data: Any) -> int:
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    with (
        path.open("wb") as fh,
        gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(raw)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE, help="package tarball")
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR, help="output directory")
    args = parser.parse_args(argv)

    package = ensure_package(args.package)
    digest = sha256_of(package)
    if digest != PACKAGE_SHA256:
        sys.exit(f"sha256 mismatch for {package}: {digest} != {PACKAGE_SHA256}")
    files = read_package(package)
    manifest = files.get("package.json", {})
    if manifest.get("name") != PACKAGE_NAME or manifest.get("version") != PACKAGE_VERSION:
        sys.exit(f"{package} is not {PACKAGE_NAME}@{PACKAGE_VERSION}")

    structure = derive_structure(files)
    valuesets = derive_valuesets(files, structure)
    search = derive_search_parameters(files)
    compartments = derive_compartments(files)

    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    sizes = {
        "structure.json.gz": write_gz(out / "structure.json.gz", structure),
        "valuesets.json.gz": write_gz(out / "valuesets.json.gz", valuesets),
        "search_parameters.json.gz": write_gz(out / "search_parameters.json.gz", search),
        "compartments.json.gz": write_gz(out / "compartments.json.gz", compartments),
    }
    kinds = [t["kind"] for t in structure["types"].values()]
    provenance = {
        "package": PACKAGE_NAME,
        "version": PACKAGE_VERSION,
        "fhirVersion": PACKAGE_VERSION,
        "sha256": digest,
        "license": manifest.get("license", "CC0-1.0"),
        "source": f"https://registry.npmjs.org/{PACKAGE_NAME}/-/{PACKAGE_NAME}-{PACKAGE_VERSION}.tgz",
        "derived": dt.date.today().isoformat(),
        "script": "tools/derive_fhir_definitions.py",
        "counts": {
            "typeDefinitions": len(structure["types"]),
            "resourceTypes": len(structure["resourceTypes"]),
            "abstractResourceTypes": len(structure["abstractResourceTypes"]),
            "complexTypes": kinds.count("complex-type"),
            "primitiveTypes": kinds.count("primitive-type"),
            "elements": sum(len(t["elements"]) for t in structure["types"].values()),
            "primitiveRegexes": len(structure["primitiveRegex"]),
            "requiredValueSets": len(valuesets["expanded"]) + len(valuesets["notExpandable"]),
            "expandedValueSets": len(valuesets["expanded"]),
            "notExpandableValueSets": len(valuesets["notExpandable"]),
            "searchParameters": len(search),
            "compartments": len(compartments),
        },
        "files": dict(sorted(sizes.items())),
    }
    (out / "PROVENANCE.json").write_bytes(
        orjson.dumps(provenance, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    for name, size in sorted(sizes.items()):
        print(f"{name:28} {size:>9,} bytes")
    print(orjson.dumps(provenance["counts"], option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
