"""Where an interrupted import resumes: the last item whose chunk committed.

The state file is replaced atomically after every committed chunk. A crash between the
commit and the replacement replays one chunk, which the store recognises as unchanged
content (no new versions), so resuming never duplicates data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass(slots=True)
class Checkpoint:
    fingerprint: str
    source: int = -1  # the last source fully or partly imported
    item: int = -1  # the last item of that source whose chunk committed
    complete: bool = False
    #: what the runs so far did (created, updated, unchanged, rejected, bundles)
    counts: dict[str, int] = field(default_factory=dict)

    def covers(self, source: int, item: int) -> bool:
        """Whether (source, item) was committed by an earlier run."""
        return self.complete or (source, item) <= (self.source, self.item)


def load(path: Path, fingerprint: str) -> Checkpoint:
    """The saved state for this input, or a fresh one when there is none or the input changed."""
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return Checkpoint(fingerprint)
    if data.get("fingerprint") != fingerprint:
        return Checkpoint(fingerprint)
    counts = {str(k): int(v) for k, v in (data.get("counts") or {}).items()}
    return Checkpoint(fingerprint, data["source"], data["item"], data["complete"], counts)


def save(path: Path, state: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(
        orjson.dumps(
            {
                "fingerprint": state.fingerprint,
                "source": state.source,
                "item": state.item,
                "complete": state.complete,
                "counts": state.counts,
            }
        )
    )
    os.replace(tmp, path)
