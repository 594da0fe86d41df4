"""The DuckDB feature table: swapped dates, merged-away records left out, one row a Patient."""

from __future__ import annotations

from datetime import date

import duckdb

from countyhealth.linkage.table import load_resources, merged_away, swapped


def test_swapped_dates() -> None:
    assert swapped(date(1980, 3, 7)) == date(1980, 7, 3)
    assert swapped(date(1980, 3, 13)) is None  # no 13th month
    assert swapped(date(1980, 5, 5)) is None  # the same date
    assert swapped(None) is None


def test_merged_away_records_are_left_out() -> None:
    kept = {"resourceType": "Patient", "id": "a", "gender": "female", "birthDate": "1980-03-07"}
    gone = {
        "resourceType": "Patient",
        "id": "b",
        "link": [{"other": {"reference": "Patient/a"}, "type": "replaced-by"}],
    }
    other = {"resourceType": "Observation", "id": "o"}
    assert merged_away(gone) and not merged_away(kept)
    con = duckdb.connect()
    assert load_resources(con, [kept, gone, other]) == 1
    rows = con.execute(
        "SELECT unique_id, sex, birth_year, birth_swapped, phones FROM patients"
    ).fetchall()
    assert rows == [("a", "female", 1980, date(1980, 7, 3), [])]
