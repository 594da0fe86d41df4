"""The Patient table Splink reads: one row of match features per Patient, in DuckDB.

Patients are read through the Repository a page at a time (``export_pages``, as the bulk export
reads them: current versions, keyset pages, audited) and appended to a DuckDB table, so memory
holds one page of resources and the columnar table (about 200 bytes a patient), not the
resources of the whole county.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from ..identity.matching.features import MatchFeatures, patient_features
from ..store import Repository
from ..store.export_read import ExportSelection

TABLE = "patients"

SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("name", pa.string()),
        ("pinyin", pa.string()),
        ("birth_date", pa.date32()),
        ("birth_year", pa.int32()),
        ("birth_swapped", pa.date32()),
        ("sex", pa.string()),
        ("id_number", pa.string()),
        ("id_valid", pa.bool_()),
        ("phones", pa.list_(pa.string())),
        ("phone", pa.string()),
        ("township", pa.string()),
        ("village", pa.string()),
        ("guardian", pa.string()),
    ]
)


def swapped(day: date | None) -> date | None:
    """The date with day and month exchanged (None when that is no date or the same date)."""
    if day is None or day.day > 12 or day.day == day.month:
        return None
    return date(day.year, day.day, day.month)


def feature_rows(features: Iterable[MatchFeatures]) -> pa.Table:
    """An Arrow table of :data:`SCHEMA` from the features (``unique_id``: the Patient id)."""
    cols: dict[str, list[Any]] = {f.name: [] for f in SCHEMA}
    for f in features:
        cols["unique_id"].append(f.id.removeprefix("Patient/"))
        cols["name"].append(f.name)
        cols["pinyin"].append(f.pinyin)
        cols["birth_date"].append(f.birth_date)
        cols["birth_year"].append(f.birth_date.year if f.birth_date else None)
        cols["birth_swapped"].append(swapped(f.birth_date))
        cols["sex"].append(f.sex)
        cols["id_number"].append(f.id_number)
        cols["id_valid"].append(f.id_valid)
        cols["phones"].append(list(f.phones))
        cols["phone"].append(f.phones[0] if f.phones else None)
        cols["township"].append(f.township)
        cols["village"].append(f.village)
        cols["guardian"].append(f.guardian)
    return pa.table(cols, schema=SCHEMA)


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    # a statement's result must be consumed before the connection runs the next one
    con.execute(sql).fetchall()


def create_table(con: duckdb.DuckDBPyConnection) -> None:
    _run(con, f"DROP TABLE IF EXISTS {TABLE}")
    empty = SCHEMA.empty_table()
    con.register("_empty_patients", empty)
    _run(con, f"CREATE TABLE {TABLE} AS SELECT * FROM _empty_patients")
    con.unregister("_empty_patients")


def merged_away(resource: dict[str, Any]) -> bool:
    """Whether the Patient was merged into another (it links ``replaced-by``): not matched."""
    return any(
        isinstance(link, dict) and link.get("type") == "replaced-by"
        for link in resource.get("link") or []
    )


def append(con: duckdb.DuckDBPyConnection, resources: Iterable[dict[str, Any]]) -> int:
    """Append the features of Patient resources (merged-away ones left out) to the table;
    returns how many were appended."""
    batch = feature_rows(patient_features(r) for r in resources if not merged_away(r))
    con.register("_batch", batch)
    _run(con, f"INSERT INTO {TABLE} SELECT * FROM _batch")
    con.unregister("_batch")
    return batch.num_rows


def load_from_store(
    repo: Repository,
    con: duckdb.DuckDBPyConnection,
    *,
    page_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Read every current Patient through ``repo`` into a fresh table; returns the count."""
    create_table(con)
    selection = ExportSelection(
        "Patient", until_us=repo.store.clock.now_us(), label="linkage dedupe"
    )
    total = 0
    for page in repo.export_pages(selection, page_size):
        added = append(con, (s.resource for s in page))
        total += added
        if progress is not None:
            progress(added)
    return total


def load_resources(con: duckdb.DuckDBPyConnection, resources: Iterable[dict[str, Any]]) -> int:
    """Patient resources held in memory (a generated county) into a fresh table."""
    create_table(con)
    total = 0
    chunk: list[dict[str, Any]] = []
    for r in resources:
        if r.get("resourceType") == "Patient":
            chunk.append(r)
        if len(chunk) >= 5000:
            total += append(con, chunk)
            chunk = []
    return total + (append(con, chunk) if chunk else 0)
