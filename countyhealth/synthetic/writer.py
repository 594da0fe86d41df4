"""Content hashes of generated and stored resources.

Per resource type, a count and an order-independent hash: the sum modulo 2²⁵⁶ of the SHA-256
of each resource's canonical JSON without ``meta`` (the server sets ``versionId`` and
``lastUpdated``). Two runs, or a run and what a database holds, can so be compared without
keeping anything in memory.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson

_MODULUS = 1 << 256


def resource_digest(resource: dict[str, Any]) -> int:
    """SHA-256 of a resource's canonical JSON (sorted keys, ``meta`` left out) as an integer."""
    body = {k: v for k, v in resource.items() if k != "meta"}
    return int.from_bytes(
        hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).digest(), "big"
    )


class HashSet:
    """Order-independent hashes and counts per resource type."""

    def __init__(self) -> None:
        self.sums: dict[str, int] = {}
        self.counts: Counter[str] = Counter()

    def add(self, resource: dict[str, Any]) -> None:
        rtype = resource["resourceType"]
        self.sums[rtype] = (self.sums.get(rtype, 0) + resource_digest(resource)) % _MODULUS
        self.counts[rtype] += 1

    def hexdigests(self) -> dict[str, str]:
        return {t: f"{s:064x}" for t, s in sorted(self.sums.items())}


def content_hash(resources: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Per-type hashes of ``resources`` (e.g. read back from a database), as the writer makes them."""
    hashes = HashSet()
    for r in resources:
        hashes.add(r)
    return hashes.hexdigests()
