"""Fixtures for the FHIR tests: the official R4 example instances."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fhir_package import PACKAGE, example_instances


@pytest.fixture(scope="session")
def r4_examples() -> list[tuple[str, dict[str, Any]]]:
    """(file name, resource) of every example instance of hl7.fhir.r4.examples@4.0.1 that is
    not a conformance resource or a Bundle; skips when the tarball is absent."""
    if not PACKAGE.exists():
        pytest.skip(f"{PACKAGE} is missing; fetch it with npm pack hl7.fhir.r4.examples@4.0.1")
    return example_instances()
