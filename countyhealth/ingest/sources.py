"""What an import reads: NDJSON files, Bundles and single resources, from files or folders.

* ``*.ndjson`` / ``*.jsonl`` (optionally ``.gz``): one resource per line, as FHIR Bulk Data
  writes them (https://hl7.org/fhir/uv/bulkdata/export.html#file-format);
* ``*.json``: a Bundle or a single resource. The resources of a ``collection`` (or any
  Bundle that is not a request) are imported one by one; a ``transaction`` or ``batch``
  Bundle is processed as one request with the rules of https://hl7.org/fhir/R4/http.html.

A folder stands for the files under it, in name order, so that an import is reproducible.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from ..errors import error

_NDJSON = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")
_JSON = (".json", ".json.gz")


@dataclass(frozen=True, slots=True)
class Source:
    """One input file, numbered in import order."""

    index: int
    path: Path
    size: int
    #: how reports name the file: as given, or relative to the folder given (so that the
    #: server's folders do not show in the rejects of an $import job)
    name: str = ""

    @property
    def is_ndjson(self) -> bool:
        return self.path.name.lower().endswith(_NDJSON)


@dataclass(frozen=True, slots=True)
class Position:
    """Where an item is: source number, line (NDJSON) or entry number, and how many bytes of
    all sources are behind it (for progress)."""

    source: int
    item: int
    bytes_done: int


def find_sources(paths: list[Path]) -> list[Source]:
    """The files to import for ``paths`` (files, or folders searched recursively)."""
    files: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _importable(p.name))
            files.extend((p, str(Path(path.name) / p.relative_to(path))) for p in found)
        elif path.is_file():
            files.append((path, str(path)))
        else:
            raise error("CH-1006", f"{path} does not exist")
    return [Source(i, p, p.stat().st_size, name) for i, (p, name) in enumerate(files)]


def fingerprint(sources: list[Source]) -> str:
    """Identifies an input set: paths, sizes and modification times."""
    digest = hashlib.sha256()
    for s in sources:
        stat = s.path.stat()
        digest.update(f"{s.path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _importable(name: str) -> bool:
    return name.lower().endswith(_NDJSON + _JSON)


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def ndjson_lines(source: Source, offset: int) -> Iterator[tuple[Position, bytes]]:
    """Non-empty lines of an NDJSON source (1-based line numbers), with progress positions."""
    done = 0
    with _open(source.path) as stream:
        for number, line in enumerate(stream, start=1):
            done += len(line)
            if line.strip():
                yield Position(source.index, number, offset + min(done, source.size)), line


def read_json(source: Source) -> Any:
    """The parsed content of a JSON source (a Bundle or one resource)."""
    with _open(source.path) as stream:
        data = stream.read()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise error("CH-1001", f"{source.name}: not valid JSON: {exc}") from None


def is_request_bundle(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("resourceType") == "Bundle"
        and document.get("type") in ("transaction", "batch")
    )


def bundle_resources(document: dict[str, Any]) -> list[tuple[int, Any]]:
    """(entry number, resource) of a Bundle that is not a request, or the resource itself."""
    if document.get("resourceType") != "Bundle":
        return [(0, document)]
    entries = document.get("entry") or []
    return [
        (i, e.get("resource"))
        for i, e in enumerate(entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and e.get("resource") is not None
    ]
