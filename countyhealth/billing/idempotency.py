"""Idempotency keys of payments and refunds.

The record of a key is the PaymentReconciliation that the payment or refund wrote:
``identifier`` (system :data:`~.records.IDEMPOTENCY_KEY`) is the key and the
``idempotency-request`` extension the SHA-256 of the request (operation, visit or invoice,
items, reason). It is written in the same unit of work as everything the payment did, so the
key is durable exactly when the payment is, and a payment that failed leaves no key behind
(the caller may retry with it).

A service looks the key up inside its unit of work after taking two locks, in this order: the
key (so that concurrent requests with one key, even for different patients, queue) and then the
patient. The second request finds the first one's record and answers with the same result; a
different request under the same key is refused (CH-9407). On SQLite the single writer already
serialises units of work; on PostgreSQL the locks are transaction-scoped advisory locks, and
the lookup, a search at READ COMMITTED after the lock was granted, sees the first request's
commit.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from ..errors import error
from ..records.query import find
from ..store import Repository
from .records import EXT_REQUEST, IDEMPOTENCY_KEY, extension

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")


def check_key(key: object) -> str:
    """An idempotency key: 1–128 characters of letters, digits and ``. _ : -`` (CH-9401)."""
    if not isinstance(key, str) or not KEY.fullmatch(key.strip()):
        raise error(
            "CH-9401",
            "the idempotency key must be 1 to 128 letters, digits or . _ : - (e.g. a UUID)",
            "idempotencyKey",
        )
    return key.strip()


def fingerprint(request: dict[str, Any]) -> str:
    """The SHA-256 of the request's canonical JSON."""
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


def lock_key(platform: Repository, key: str) -> None:
    """Inside a unit of work: queue the requests that use ``key``."""
    platform.lock("IdempotencyKey", key)


def recorded(platform: Repository, key: str, request: str) -> dict[str, Any] | None:
    """The PaymentReconciliation recorded under ``key``; CH-9407 when it was written for
    another request than ``request``."""
    found = find(
        platform, "PaymentReconciliation", [("identifier", f"{IDEMPOTENCY_KEY}|{key}")], count=2
    )
    if not found.resources:
        return None
    record = found.resources[0]
    stored = (extension(record, EXT_REQUEST) or {}).get("valueString")
    if stored != request:
        raise error(
            "CH-9407",
            f"the idempotency key {key!r} was used for another request "
            f"(PaymentReconciliation/{record['id']})",
            "idempotencyKey",
        )
    return record


def key_parts(key: str, request: str) -> dict[str, Any]:
    """The identifier and extension that record ``key`` on a PaymentReconciliation."""
    return {
        "identifier": [{"system": IDEMPOTENCY_KEY, "value": key}],
        "extension": [{"url": EXT_REQUEST, "valueString": request}],
    }
