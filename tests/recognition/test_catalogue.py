"""The recognition item catalogue: the packaged file, lookups by code, LOINC and date, its
agreement with the synthetic county's lab table, and the checks that refuse a bad catalogue."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from countyhealth.config import Settings
from countyhealth.recognition import CatalogueError, catalogue, load_catalogue
from countyhealth.recognition.catalogue import PACKAGED_FILE
from countyhealth.synthetic import datafiles

DAY = date(2026, 3, 1)


def packaged() -> dict[str, Any]:
    """A fresh copy of the packaged catalogue to alter."""
    data: dict[str, Any] = orjson.loads(PACKAGED_FILE.read_bytes())
    return copy.deepcopy(data)


def entry(data: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in data["items"] if i["code"] == code)
    return found


def test_the_packaged_file_loads_with_its_mark() -> None:
    cat = catalogue(Settings(environment="development"))
    assert cat.mark.code == "ZJHR"
    assert cat.mark.display == "浙HR"
    assert "health-centre" in cat.mark.issuer_kinds
    assert len(cat.items_on(DAY)) == 18
    assert cat.sources and any("国卫医发〔2022〕6号" in s for s in cat.sources)


@pytest.mark.parametrize(
    ("code", "loinc", "window"),
    [("ZJHR-HBA1C", "4548-4", 60), ("ZJHR-K", "2823-3", 7), ("ZJHR-GLU", "14771-0", 30)],
)
def test_windows_by_loinc_and_by_code(code: str, loinc: str, window: int) -> None:
    cat = catalogue(Settings(environment="development"))
    by_loinc = cat.by_loinc(loinc, DAY)
    assert by_loinc is not None
    assert by_loinc.code == code
    assert by_loinc.window_days == window
    assert by_loinc.kind == "lab"
    assert by_loinc.recognisable
    assert cat.item(code, DAY) == by_loinc


def test_money_is_decimal_and_every_entry_has_a_source() -> None:
    cat = catalogue(Settings(environment="development"))
    hba1c = cat.item("ZJHR-HBA1C", DAY)
    assert hba1c is not None
    assert hba1c.price == Decimal("60.00")
    assert isinstance(hba1c.price, Decimal)
    assert all("UNVERIFIED" in i.source for i in cat.items)


def test_nothing_is_in_force_before_the_catalogue_starts() -> None:
    cat = catalogue(Settings(environment="development"))
    assert cat.items_on(date(2023, 12, 31)) == ()
    assert cat.item("ZJHR-GLU", date(2023, 12, 31)) is None
    assert cat.item("ZJHR-GLU", date(2024, 1, 1)) is not None
    assert cat.item("ZJHR-NOPE", DAY) is None
    assert cat.by_loinc("718-7", DAY) is None  # haemoglobin: not in the catalogue


def test_a_new_version_replaces_the_old_one_on_its_first_day() -> None:
    data = packaged()
    old = entry(data, "ZJHR-K")
    old["valid_to"] = "2025-06-30"
    new = {**old, "valid_from": "2025-07-01", "valid_to": None, "window_days": 3}
    new["price_cny"] = "5.50"
    data["items"].append(new)
    cat = load_catalogue(data)
    before, after = cat.item("ZJHR-K", date(2025, 6, 30)), cat.item("ZJHR-K", date(2025, 7, 1))
    assert before is not None and after is not None
    assert (before.window_days, before.price) == (7, Decimal("5.00"))
    assert (after.window_days, after.price) == (3, Decimal("5.50"))
    assert cat.by_loinc("2823-3", date(2025, 7, 1)) == after
    on_day = [i for i in cat.items_on(date(2025, 7, 1)) if i.code == "ZJHR-K"]
    assert on_day == [after]
    assert [i.valid_from for i in cat.items if i.code == "ZJHR-K"] == [
        date(2024, 1, 1),
        date(2025, 7, 1),
    ]


def test_an_item_ends_after_its_valid_to() -> None:
    data = packaged()
    entry(data, "ZJHR-TG")["valid_to"] = "2025-12-31"
    cat = load_catalogue(data)
    assert cat.item("ZJHR-TG", date(2025, 12, 31)) is not None
    assert cat.item("ZJHR-TG", date(2026, 1, 1)) is None
    assert "ZJHR-TG" not in {i.code for i in cat.items_on(date(2026, 1, 1))}


def test_exam_items_are_listed_but_not_recognisable() -> None:
    cat = catalogue(Settings(environment="development"))
    exams = {i.code: i for i in cat.items_on(DAY) if i.kind == "exam"}
    assert set(exams) == {
        "ZJHR-CHEST-DR",
        "ZJHR-HEAD-CT",
        "ZJHR-CHEST-CT",
        "ZJHR-ABDOMEN-US",
        "ZJHR-HEAD-MR",
    }
    assert all(e.window_days is None and not e.recognisable for e in exams.values())
    head_ct = cat.by_loinc("30799-1", DAY)
    assert head_ct is not None and head_ct.code == "ZJHR-HEAD-CT"
    assert "none published" in head_ct.source and "UNVERIFIED" in head_ct.source


def test_the_six_national_reasons_and_other_needs_text() -> None:
    cat = catalogue(Settings(environment="development"))
    assert [r.code for r in cat.reasons] == [
        "disease-change",
        "fast-changing",
        "major-intervention",
        "emergency",
        "assessment",
        "other",
    ]
    other = cat.reason("other")
    assert other is not None and other.needs_text
    assert [r.code for r in cat.reasons if r.needs_text] == ["other"]
    emergency = cat.reason("emergency")
    assert emergency is not None and "急诊" in emergency.zh and emergency.en
    assert cat.reason("patient-asked") is None


def test_the_catalogue_agrees_with_the_synthetic_lab_table() -> None:
    labs = datafiles.load("labs")
    cat = catalogue(Settings(environment="development"))
    effective = date.fromisoformat(labs["effective"])
    recognisable = {k: v for k, v in labs["items"].items() if v["recognition"]}
    assert len(recognisable) == 7
    for key, spec in recognisable.items():
        item = cat.item(spec["recognition"]["code"], effective)
        assert item is not None, key
        assert item.valid_from == effective
        assert (item.loinc, item.window_days, item.kind) == (
            spec["loinc"],
            spec["recognition"]["window_days"],
            "lab",
        ), key
    for key, spec in labs["items"].items():
        if spec["recognition"] is None:
            assert cat.by_loinc(spec["loinc"], effective) is None, key
    assert cat.mark.code == labs["mark"]["code"]
    assert cat.mark.display == labs["mark"]["display"]
    assert cat.mark.issuer_kinds == frozenset(labs["mark"]["facility_kinds"])


def test_a_county_file_named_by_the_setting_replaces_the_packaged_one(tmp_path: Path) -> None:
    data = packaged()
    entry(data, "ZJHR-CHEST-DR")["window_days"] = 180
    entry(data, "ZJHR-CHEST-DR")["source"] = "县卫健局 2026 互认目录 (test county)"
    path = tmp_path / "county.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cat = catalogue(Settings(environment="development", recognition_catalogue_path=str(path)))
    chest = cat.item("ZJHR-CHEST-DR", DAY)
    assert chest is not None and chest.recognisable and chest.window_days == 180
    default = catalogue(Settings(environment="development")).item("ZJHR-CHEST-DR", DAY)
    assert default is not None and not default.recognisable


def test_a_broken_county_file_is_named(tmp_path: Path) -> None:
    data = packaged()
    entry(data, "ZJHR-LDL")["window_days"] = 0
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        catalogue(Settings(environment="development", recognition_catalogue_path=str(path)))
    assert str(path) in str(raised.value)
    assert "ZJHR-LDL (valid from 2024-01-01)" in str(raised.value)
    missing = tmp_path / "absent.json"
    with pytest.raises(CatalogueError, match="cannot be read"):
        catalogue(Settings(environment="development", recognition_catalogue_path=str(missing)))


def rejected(data: dict[str, Any]) -> str:
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(data)
    return str(raised.value)


def test_an_entry_without_a_source_is_refused() -> None:
    data = packaged()
    entry(data, "ZJHR-GLU")["source"] = "  "
    assert (
        rejected(data) == "recognition item ZJHR-GLU (valid from 2024-01-01): no source "
        "(say where the window and price come from)"
    )
    del entry(data, "ZJHR-GLU")["source"]
    assert rejected(data) == "recognition item ZJHR-GLU (valid from 2024-01-01): missing source"


def test_overlapping_versions_of_one_code_are_refused() -> None:
    data = packaged()
    old = entry(data, "ZJHR-K")
    old["valid_to"] = "2025-06-30"
    data["items"].append({**old, "valid_from": "2025-06-30", "valid_to": None})
    message = rejected(data)
    assert message.startswith("recognition item ZJHR-K (valid from 2025-06-30): overlaps")
    assert "valid from 2024-01-01" in message
    # two open-ended versions overlap from the later start on
    data = packaged()
    data["items"].append({**entry(data, "ZJHR-K"), "valid_from": "2027-01-01"})
    assert "ZJHR-K (valid from 2027-01-01): overlaps" in rejected(data)


def test_valid_to_before_valid_from_is_refused() -> None:
    data = packaged()
    entry(data, "ZJHR-TC")["valid_to"] = "2023-12-31"
    assert rejected(data) == (
        "recognition item ZJHR-TC (valid from 2024-01-01): valid_to 2023-12-31 is before valid_from"
    )


@pytest.mark.parametrize(
    ("price", "fault"),
    [
        (45.0, "must be a decimal string like '45.00'"),
        (45, "must be a decimal string like '45.00'"),
        ("-1.00", "must be zero or more"),
        ("forty", "is not a decimal number"),
        ("NaN", "must be zero or more"),
        ("4.505", "more than two decimals"),
    ],
)
def test_a_price_must_be_a_non_negative_decimal_string(price: object, fault: str) -> None:
    data = packaged()
    entry(data, "ZJHR-HDL")["price_cny"] = price
    message = rejected(data)
    assert message.startswith(
        f"recognition item ZJHR-HDL (valid from 2024-01-01): price_cny {price!r}"
    )
    assert fault in message


def test_unknown_kind_scope_and_fields_are_refused() -> None:
    data = packaged()
    entry(data, "ZJHR-HEAD-CT")["kind"] = "pathology"
    assert rejected(data) == (
        "recognition item ZJHR-HEAD-CT (valid from 2024-01-01): unknown kind 'pathology' "
        "(lab or exam)"
    )
    data = packaged()
    entry(data, "ZJHR-HEAD-CT")["scope"] = "nation"
    assert "ZJHR-HEAD-CT (valid from 2024-01-01): unknown scope 'nation'" in rejected(data)
    data = packaged()
    entry(data, "ZJHR-GLU")["windows_days"] = 30
    assert rejected(data).endswith("ZJHR-GLU (valid from 2024-01-01): unknown field windows_days")


@pytest.mark.parametrize("window", [0, -7, 7.5, "7", True])
def test_a_window_is_a_positive_whole_number_of_days(window: object) -> None:
    data = packaged()
    entry(data, "ZJHR-K")["window_days"] = window
    assert rejected(data) == (
        f"recognition item ZJHR-K (valid from 2024-01-01): window_days {window!r} must be a "
        "positive whole number of days or null"
    )


def test_one_loinc_on_two_items_in_force_together_is_refused() -> None:
    data = packaged()
    entry(data, "ZJHR-TP")["loinc"] = "2823-3"
    message = rejected(data)
    assert "LOINC 2823-3 is also on ZJHR-K (valid from 2024-01-01)" in message
    assert message.startswith("recognition item ZJHR-TP (valid from 2024-01-01)")
    # the same LOINC on two codes one after the other is a renamed item, not a clash
    data = packaged()
    entry(data, "ZJHR-K")["valid_to"] = "2025-12-31"
    renamed = {**entry(data, "ZJHR-K"), "code": "ZJHR-KAL", "valid_from": "2026-01-01"}
    data["items"].append({**renamed, "valid_to": None})
    item = load_catalogue(data).by_loinc("2823-3", DAY)
    assert item is not None and item.code == "ZJHR-KAL"


def test_a_mistyped_loinc_fails_its_check_digit() -> None:
    data = packaged()
    entry(data, "ZJHR-GLU")["loinc"] = "14771-1"
    assert "loinc '14771-1' is not a LOINC code" in rejected(data)


def test_reasons_must_be_exactly_the_six_national_ones() -> None:
    data = packaged()
    data["retest_reasons"].append({"code": "patient-asked", "zh": "患者要求", "en": "Asked"})
    message = rejected(data)
    assert message.startswith("recognition re-test reasons: codes disease-change,")
    assert "patient-asked" in message and "must be exactly the six national ones" in message
    data = packaged()
    data["retest_reasons"] = data["retest_reasons"][:5]
    assert "must be exactly the six national ones" in rejected(data)
    data = packaged()
    data["retest_reasons"][5]["needs_text"] = False
    assert rejected(data) == (
        "recognition re-test reason other: `other` needs free text (needs_text: true)"
    )


def test_a_mark_without_issuer_kinds_is_refused() -> None:
    data = packaged()
    data["mark"]["issuer_kinds"] = []
    assert rejected(data).startswith("recognition mark ZJHR: no issuer kinds")
