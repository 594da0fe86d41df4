"""Loading the billing data files: the packaged ones load; broken ones are refused with the
line of the entry at fault (gaps and overlaps of effective dates, money that is not a decimal
string, negative amounts, ratios outside 0–1, unknown levels, …)."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from countyhealth.billing.plans import PACKAGED_FILE as PLANS_FILE
from countyhealth.billing.plans import commercial_plans, load_plans
from countyhealth.billing.policy import (
    PACKAGED_FILE,
    PolicyError,
    insurance_policy,
    load_policy,
    policy_for,
)
from countyhealth.billing.policy_file import entry_lines
from countyhealth.billing.prices import PACKAGED_FILE as PRICES_FILE
from countyhealth.billing.prices import load_prices, price_catalogue, price_item

PACKAGED = json.loads(PACKAGED_FILE.read_text(encoding="utf-8"))
RESIDENT_2024, RESIDENT_2025, EMPLOYEE_2024, EMPLOYEE_2025 = PACKAGED["policies"]


def write_policy(tmp_path: Path, entries: list[dict[str, Any]], **top: Any) -> Path:
    """A policy file with one entry per line: entry ``i`` (from 0) is on line ``5 + i``."""
    head = {k: v for k, v in PACKAGED.items() if k != "policies"} | top
    text = "{\n"
    text += f'  "sources": {json.dumps(head["sources"], ensure_ascii=False)},\n'
    text += f'  "rounding": {json.dumps(head["rounding"], ensure_ascii=False)},\n'
    text += '  "policies": [\n'
    text += ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in entries)
    text += "\n  ]\n}\n"
    path = tmp_path / "insurance_policy.json"
    path.write_text(text, encoding="utf-8")
    return path


def edited(entry: dict[str, Any], *path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(entry)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def refused(path: Path, *fragments: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---------------------------------------------------------------------------- packaged data


def test_packaged_policy_loads_with_the_line_of_each_version() -> None:
    book = insurance_policy()
    assert [v.key for v in book.versions] == [
        "339001/resident/2024-01-01",
        "339001/resident/2025-01-01",
        "339001/employee/2024-01-01",
        "339001/employee/2025-01-01",
    ]
    lines = PACKAGED_FILE.read_text(encoding="utf-8").splitlines()
    for version in book.versions:
        assert lines[version.line - 1].strip() == "{"
        assert f'"scheme": "{version.scheme}"' in "\n".join(lines[version.line : version.line + 4])
    assert book.rounding.mode == "ROUND_HALF_UP" and book.rounding.quantum == Decimal("0.01")


def test_policy_for_picks_the_version_in_force() -> None:
    p2024 = policy_for("339001", "resident", date(2024, 12, 31))
    p2025 = policy_for("339001", "resident", date(2025, 1, 1))
    assert p2024.basic is not None and p2025.basic is not None
    assert p2024.basic.outpatient_fund_cap == Decimal("2000.00")
    assert p2025.basic.outpatient_fund_cap == Decimal("2500.00")
    employee = policy_for("339001", "employee", date(2025, 3, 1)).basic
    assert employee is not None and employee.personal_account
    assert employee.deductible("inpatient", "secondary") == Decimal("600.00")
    assert employee.fund_ratio["outpatient"]["tertiary"] == Decimal("0.70")
    uninsured = policy_for("339001", None, date(2025, 3, 1))
    assert uninsured.basic is None and "ins-3-global" in uninsured.plans
    assert uninsured.limits["DRUG-GLARGINE"] == Decimal("75.00")


def test_policy_for_refuses_what_is_not_configured() -> None:
    with pytest.raises(PolicyError, match="no resident insurance policy of area 339001"):
        policy_for("339001", "resident", date(2023, 12, 31))
    with pytest.raises(PolicyError, match="of area 330782"):
        policy_for("330782", "employee", date(2025, 1, 1))
    with pytest.raises(PolicyError, match="unknown scheme"):
        policy_for("339001", "farmer", date(2025, 1, 1))


# ---------------------------------------------------------------------------- dates


def test_a_gap_between_versions_names_the_line(tmp_path: Path) -> None:
    late = edited(RESIDENT_2025, "valid_from", value="2025-01-02")
    path = write_policy(tmp_path, [RESIDENT_2024, late, EMPLOYEE_2024, EMPLOYEE_2025])
    refused(path, "line 6:", "339001/resident", "gap", "line 5", "2025-01-01")


def test_an_overlap_names_the_line(tmp_path: Path) -> None:
    early = edited(EMPLOYEE_2025, "valid_from", value="2024-12-15")
    path = write_policy(tmp_path, [RESIDENT_2024, RESIDENT_2025, EMPLOYEE_2024, early])
    refused(path, "line 8:", "339001/employee", "overlaps the version on line 7")


def test_an_open_version_followed_by_another_overlaps(tmp_path: Path) -> None:
    open_2024 = edited(RESIDENT_2024, "valid_to", value=None)
    path = write_policy(tmp_path, [RESIDENT_2025, open_2024])
    refused(path, "line 5:", "overlaps the version on line 6", "has no end")


def test_a_version_ending_before_it_starts_is_refused(tmp_path: Path) -> None:
    backwards = edited(RESIDENT_2024, "valid_to", value="2023-12-31")
    refused(write_policy(tmp_path, [backwards]), "line 5:", "before valid_from")


def test_areas_and_schemes_have_their_own_periods(tmp_path: Path) -> None:
    other_area = edited(RESIDENT_2025, "area", value="330782")
    path = write_policy(tmp_path, [RESIDENT_2025, other_area, EMPLOYEE_2025])
    assert len(load_policy(path).versions) == 3


def test_the_line_is_found_in_the_packaged_layout(tmp_path: Path) -> None:
    """The packaged file, edited by hand the way a county would: the entry at fault is found
    in the raw text whatever the indentation."""
    text = PACKAGED_FILE.read_text(encoding="utf-8")
    marker = '"scheme": "employee",\n      "valid_from": "2025-01-01"'
    assert text.count(marker) == 1
    broken = text.replace(marker, marker.replace("2025-01-01", "2025-02-01"))
    path = tmp_path / "policy.json"
    path.write_text(broken, encoding="utf-8")
    brace = broken.rindex("{", 0, broken.index(marker.replace("2025-01-01", "2025-02-01")))
    line = broken.count("\n", 0, brace) + 1
    refused(path, f"line {line}:", "gap", "2025-01-01")


def test_entry_lines_handles_any_layout() -> None:
    text = '{"a": {"policies": [9]}, "policies":\n[ {"x": "]"},\n\n  [1, 2],\n"s"\n]}'
    assert entry_lines(text, "policies") == [2, 4, 5]
    assert entry_lines("[1]", "policies") == []


# ---------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (200.0, "must be money written as a string"),
        (200, "must be money written as a string"),
        ("-200.00", "is negative"),
        ("abc", "is not a decimal number"),
        ("Infinity", "is not a finite number"),
        ("200.001", "more than two decimals"),
    ],
)
def test_bad_money_is_refused_with_its_line(tmp_path: Path, value: Any, fragment: str) -> None:
    bad = edited(RESIDENT_2025, "deductible", "outpatient_per_year", "primary", value=value)
    path = write_policy(tmp_path, [RESIDENT_2024, bad])
    refused(path, "line 6:", "deductible.outpatient_per_year", "`primary`", fragment)


def test_bad_caps_are_refused(tmp_path: Path) -> None:
    bad = edited(EMPLOYEE_2025, "fund_cap", "annual", value="-1.00")
    refused(write_policy(tmp_path, [bad]), "line 5:", "fund_cap", "`annual`", "negative")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("1.20", "outside 0 to 1"), ("-0.10", "outside 0 to 1"), (0.6, "must be a ratio")],
)
def test_bad_ratios_are_refused(tmp_path: Path, value: Any, fragment: str) -> None:
    bad = edited(RESIDENT_2025, "fund_ratio", "inpatient", "tertiary", value=value)
    refused(write_policy(tmp_path, [bad]), "line 5:", "fund_ratio.inpatient", fragment)
    bad_b = edited(RESIDENT_2025, "class_b_self_pay_ratio", value=value)
    refused(write_policy(tmp_path, [bad_b]), "line 5:", "class_b_self_pay_ratio", fragment)


def test_unknown_and_missing_levels_are_refused(tmp_path: Path) -> None:
    ratios = dict(RESIDENT_2025["fund_ratio"]["outpatient"]) | {"quaternary": "0.30"}
    bad = edited(RESIDENT_2025, "fund_ratio", "outpatient", value=ratios)
    refused(write_policy(tmp_path, [bad]), "line 5:", "unknown level 'quaternary'")
    missing = {k: v for k, v in ratios.items() if k not in ("quaternary", "secondary")}
    bad = edited(RESIDENT_2025, "fund_ratio", "outpatient", value=missing)
    refused(write_policy(tmp_path, [bad]), "missing level secondary")


def test_unknown_scheme_setting_and_field_are_refused(tmp_path: Path) -> None:
    refused(
        write_policy(tmp_path, [edited(RESIDENT_2025, "scheme", value="farmer")]),
        "line 5:",
        "unknown scheme 'farmer'",
    )
    settings = dict(RESIDENT_2025["fund_ratio"]) | {"day-care": {}}
    refused(
        write_policy(tmp_path, [edited(RESIDENT_2025, "fund_ratio", value=settings)]),
        "unknown field day-care",
    )
    refused(
        write_policy(tmp_path, [edited(RESIDENT_2025, "copay", value="0.1")]),
        "unknown field copay",
    )
    no_source = {k: v for k, v in RESIDENT_2025.items() if k != "source"}
    refused(write_policy(tmp_path, [no_source]), "missing source")


def test_bad_catastrophic_bands_and_assistance_are_refused(tmp_path: Path) -> None:
    bands = [{"over": "100.00", "ratio": "0.60"}]
    refused(
        write_policy(tmp_path, [edited(RESIDENT_2025, "catastrophic", "bands", value=bands)]),
        "band 1",
        "must start at over '0.00'",
    )
    bands = [{"over": "0.00", "ratio": "0.60"}, {"over": "0.00", "ratio": "0.70"}]
    refused(
        write_policy(tmp_path, [edited(RESIDENT_2025, "catastrophic", "bands", value=bands)]),
        "band 2",
        "above the band before",
    )
    twice = RESIDENT_2025["assistance"] + RESIDENT_2025["assistance"][:1]
    refused(
        write_policy(tmp_path, [edited(RESIDENT_2025, "assistance", value=twice)]),
        "category destitute",
        "listed twice",
    )


def test_bad_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{\n  "policies": [\n    {"area": "339001",}\n  ]\n}\n', encoding="utf-8")
    refused(path, "line 3: not JSON")
    path.write_text('{"sources": ["s"], "sources": ["t"], "policies": []}', encoding="utf-8")
    refused(path, "'sources' appears twice")
    refused(tmp_path / "missing.json", "cannot be read")
    refused(write_policy(tmp_path, []), "`policies` must be a non-empty list")
    rounding = {"mode": "ROUND_SOMETIMES", "quantum": "0.01"}
    refused(write_policy(tmp_path, [RESIDENT_2025], rounding=rounding), "rounding", "mode")
    rounding = {"mode": "ROUND_HALF_UP", "quantum": "0.05"}
    refused(write_policy(tmp_path, [RESIDENT_2025], rounding=rounding), "quantum")
    refused(write_policy(tmp_path, [RESIDENT_2025], sources=[]), "`sources` must list")


# ---------------------------------------------------------------------------- prices and plans


def test_price_catalogue_is_dated() -> None:
    assert price_item("CONS-TERTIARY", date(2024, 12, 31)).price == Decimal("20.00")  # type: ignore[union-attr]
    assert price_item("CONS-TERTIARY", date(2025, 1, 1)).price == Decimal("25.00")  # type: ignore[union-attr]
    assert price_item("CONS-TERTIARY", date(2023, 12, 31)) is None
    assert price_item("NO-SUCH-ITEM", date(2025, 1, 1)) is None
    glargine = price_item("DRUG-GLARGINE", date(2025, 1, 1))
    assert glargine is not None and glargine.item_class == "B"
    assert glargine.limit == Decimal("75.00")
    classes = {i.item_class for i in price_catalogue().items_on(date(2025, 1, 1))}
    categories = {i.category for i in price_catalogue().items_on(date(2025, 1, 1))}
    assert classes == {"A", "B", "C"}
    assert {"registration", "consultation", "lab", "imaging", "drug"} <= categories


def _rewrite(tmp_path: Path, source: Path, old: str, new: str) -> tuple[Path, int]:
    """``source`` with the one occurrence of ``old`` replaced; the line of its entry."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    text = text.replace(old, new)
    path = tmp_path / source.name
    path.write_text(text, encoding="utf-8")
    return path, text.count("\n", 0, text.index(new)) + 1


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (
            '"price": "25.00", "limit": null, "valid_from": "2025-01-01"',
            '"price": "25.00", "limit": null, "valid_from": "2024-12-01"',
            "overlaps the version on line",
        ),
        ('"price": "268.00", "limit": null', '"price": "268.00", "limit": "100.00"', "丙类"),
        ('"price": "98.00"', '"price": 98.0', "must be money written as a string"),
        ('"price": "3.80"', '"price": "-3.80"', "negative"),
        ('"item_class": "C", "unit": "次"', '"item_class": "D", "unit": "次"', "item_class"),
    ],
)
def test_broken_price_files_name_the_line(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    path, line = _rewrite(tmp_path, PRICES_FILE, old, new)
    with pytest.raises(PolicyError) as info:
        load_prices(path)
    assert f"line {line}:" in str(info.value) and fragment in str(info.value)


def test_commercial_plans() -> None:
    plans = commercial_plans()
    global_plan = plans.for_insurer("org-ins-3", date(2025, 1, 1))
    assert global_plan is not None and global_plan.id == "ins-3-global"
    assert global_plan.international and global_plan.covers == "all"
    assert plans.plan("ins-2-huimin", date(2025, 1, 1)).deductible == Decimal("20000.00")  # type: ignore[union-attr]
    assert plans.plan("ins-2-huimin", date(2023, 1, 1)) is None
    assert {p.insurer for p in plans.plans} == {"org-ins-1", "org-ins-2", "org-ins-3", "org-ins-4"}


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (
            '"covers": "all", "deductible_per_year": "1000.00"',
            '"covers": "most", "deductible_per_year": "1000.00"',
            "covers 'most'",
        ),
        ('"ratio": "0.90"', '"ratio": "1.90"', "outside 0 to 1"),
        ('"cap_per_year": "50000.00"', '"cap_per_year": 50000', "must be money"),
        (
            '"ins-3-global", "insurer": "org-ins-3", "name": "Global Health Assurance International Plan", "international": true, "direct_billing": true',
            '"ins-3-global", "insurer": "org-ins-3", "name": "Global Health Assurance International Plan", "international": true, "direct_billing": false',
            "bill directly",
        ),
    ],
)
def test_broken_plan_files_name_the_line(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    path, line = _rewrite(tmp_path, PLANS_FILE, old, new)
    with pytest.raises(PolicyError) as info:
        load_plans(path)
    assert f"line {line}:" in str(info.value) and fragment in str(info.value)


def test_overlapping_plan_versions_name_the_later_line(tmp_path: Path) -> None:
    data = json.loads(PLANS_FILE.read_text(encoding="utf-8"))
    data["plans"].append(dict(data["plans"][0], valid_from="2025-01-01"))
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    brace = text.rindex("{", 0, text.rindex('"id": "ins-1-supplement"'))
    line = text.count("\n", 0, brace) + 1
    with pytest.raises(PolicyError, match=f"line {line}: plan ins-1-supplement"):
        load_plans(path)
