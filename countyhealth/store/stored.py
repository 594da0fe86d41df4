"""The value the Repository hands back: one stored resource version."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate
from functools import cached_property
from typing import Any

import orjson

from ..fhir.instant import format_instant


@dataclass(frozen=True)
class Stored:
    """A resource version as stored, with its raw JSON (served without re-serialising)."""

    type: str
    id: str
    version: int
    last_updated_us: int
    deleted: bool
    content: bytes | None
    method: str | None = None

    @property
    def etag(self) -> str:
        """Weak ETag of the version (https://hl7.org/fhir/R4/http.html#versioning)."""
        return f'W/"{self.version}"'

    @property
    def last_modified(self) -> str:
        """HTTP-date of lastUpdated for the Last-Modified header."""
        return formatdate(self.last_updated_us / 1_000_000, usegmt=True)

    @property
    def last_updated(self) -> str:
        return format_instant(self.last_updated_us)

    @property
    def reference(self) -> str:
        return f"{self.type}/{self.id}"

    @cached_property
    def resource(self) -> dict[str, Any]:
        if self.content is None:
            raise ValueError(f"{self.reference} version {self.version} is a deletion")
        parsed: dict[str, Any] = orjson.loads(self.content)
        return parsed
