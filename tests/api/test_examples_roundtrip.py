"""Every official R4 example instance round-trips through PUT and GET.

The examples come from hl7.fhir.r4.examples@4.0.1 (conformance resources and Bundles excluded;
Bundles belong to the transaction tests). Examples that break an R4 rule are listed with the
rule in tests/fhir/known_invalid_examples.py and docs/conformance.md, and must be rejected.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fhir.known_invalid_examples import KNOWN_INVALID_EXAMPLES
from tests.support.fhir_package import example_instances, skip_reason

_REASON = skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def without_server_meta(resource: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    meta = out.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del out["meta"]
    return out


def test_every_example_round_trips(client: TestClient) -> None:
    examples = example_instances()
    assert len(examples) > 650
    stored = rejected = 0
    mismatches: list[str] = []
    for name, example in examples:
        path = f"/fhir/{example['resourceType']}/{example['id']}"
        r = client.put(path, json=example)
        if name in KNOWN_INVALID_EXAMPLES:
            assert r.status_code == 400, f"{name} was accepted but is listed as invalid"
            rejected += 1
            continue
        assert r.status_code in (200, 201), f"{name}: {r.status_code} {r.text[:500]}"
        back = client.get(path)
        assert back.status_code == 200
        if without_server_meta(back.json()) != without_server_meta(example):
            mismatches.append(name)
        stored += 1
    assert mismatches == []
    assert stored + rejected == len(examples)
