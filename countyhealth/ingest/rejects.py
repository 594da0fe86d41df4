"""The report of what an import refused: one OperationOutcome per rejected item, as NDJSON.

Each OperationOutcome carries the validation issues (https://hl7.org/fhir/R4/operationoutcome.html)
and, in every issue's ``location``, the file and line (or Bundle entry) of the item, so that a
data manager can fix the source and import the file again.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson


class RejectsFile:
    """Appends OperationOutcomes to ``path`` (or only counts them when ``path`` is None)."""

    def __init__(self, path: Path | None, *, append: bool) -> None:
        self.path = path
        self.count = 0
        self._out: IO[bytes] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = path.open("ab" if append else "wb")

    def add(self, where: str, outcome: dict[str, Any]) -> None:
        self.count += 1
        if self._out is None:
            return
        issues = [dict(issue, location=[where]) for issue in outcome.get("issue") or []]
        self._out.write(orjson.dumps({"resourceType": "OperationOutcome", "issue": issues}))
        self._out.write(b"\n")

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
