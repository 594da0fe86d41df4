"""Access to the official R4 package tarball (fetched by `make test` with npm pack)."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

PACKAGE = Path(__file__).resolve().parents[2] / ".cache/fhir/hl7.fhir.r4.examples-4.0.1.tgz"


def skip_reason() -> str | None:
    """Why tests that need the package cannot run (None when they can).

    In CI (``CI`` set) the package must be there: ``make test`` fetches it with npm.
    """
    if PACKAGE.exists():
        return None
    if os.environ.get("CI"):
        raise RuntimeError(f"{PACKAGE} is missing in CI; `make fhir-package` must fetch it")
    return f"{PACKAGE} missing (run `make fhir-package`, which needs npm)"


CONFORMANCE_TYPES = frozenset(
    {
        "StructureDefinition",
        "SearchParameter",
        "ValueSet",
        "CodeSystem",
        "ConceptMap",
        "OperationDefinition",
        "CompartmentDefinition",
        "CapabilityStatement",
        "ImplementationGuide",
        "NamingSystem",
        "StructureMap",
        "GraphDefinition",
        "MessageDefinition",
        "TerminologyCapabilities",
    }
)


def package_files() -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, resource) for every JSON resource in the package."""
    with tarfile.open(PACKAGE) as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if not member.isfile() or not name.endswith(".json") or name.startswith("."):
                continue
            if name == "package.json":
                continue
            f = tar.extractfile(member)
            assert f is not None
            data = orjson.loads(f.read())
            if isinstance(data, dict) and "resourceType" in data:
                yield name, data


def example_instances() -> list[tuple[str, dict[str, Any]]]:
    """The example instances: not conformance resources and not Bundles."""
    return [
        (name, res)
        for name, res in package_files()
        if res["resourceType"] not in CONFORMANCE_TYPES and res["resourceType"] != "Bundle"
    ]
