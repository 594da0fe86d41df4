"""Smart triage (智能导诊) against the dated rules table."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.scheduling.rules import DATA_DIR
from countyhealth.scheduling.triage import (
    DEPARTMENTS,
    advice,
    picklist,
    rules_effective,
    triage,
    validate_rules,
)


def _departments(text: str, picks: tuple[str, ...] = (), age: int | None = None) -> list[str]:
    return [s.department for s in triage(text, picks, age_years=age).suggestions]


def _table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "triage_rules.json").read_text("utf-8"))
    return data


def test_cough_with_phlegm_goes_to_respiratory_medicine() -> None:
    result = triage("头痛发烧三天，咳嗽有痰")
    first = result.suggestions[0]
    assert (first.department, first.level, first.urgency) == ("03.01", "township", "routine")
    assert first.fallbacks[0] == "03" and set(first.matched) == {"咳嗽", "有痰"}
    assert "03" in _departments("头痛发烧三天，咳嗽有痰") and not result.emergency
    assert result.rules_effective == rules_effective() == "2026-11-23"


@pytest.mark.parametrize(
    "text,rule",
    [
        ("胸痛，出冷汗", "red-chest"),
        ("胸闷，一直出冷汗", "red-chest-sweat"),
        ("突然口角歪斜，说话不清", "red-stroke"),
        ("剧烈头痛，还呕吐了", "red-headache"),
        ("喘不上气", "red-breath"),
        ("老人叫不醒了", "red-conscious"),
        ("喝了农药", "red-poisoning"),
    ],
)
def test_red_flags_are_emergencies_first(text: str, rule: str) -> None:
    result = triage(text, age_years=50)
    first = result.suggestions[0]
    assert result.emergency and first.department == "20" and first.urgency == "emergency"
    assert first.rule == rule
    assert "120" in (advice(first.rule) or {}).get("zh", "")


def test_emergency_outranks_a_higher_score() -> None:
    result = triage("牙疼，牙龈肿，有蛀牙，心慌出冷汗", age_years=60)
    scores = {s.department: s.score for s in result.suggestions}
    assert scores["12"] > scores["20"]  # three dental keywords against one red flag
    assert result.suggestions[0].department == "20"


def test_headache_with_vomiting_is_urgent_not_an_emergency() -> None:
    result = triage("头痛，呕吐", age_years=40)
    assert not result.emergency
    assert result.suggestions[0].department == "03.03"
    assert result.suggestions[0].urgency == "urgent"
    assert not triage("头痛", age_years=40).emergency


@pytest.mark.parametrize("text", ["不发烧，牙疼", "没有发烧，牙疼", "牙疼，无发热", "没发烧牙疼"])
def test_negation_cancels_a_keyword(text: str) -> None:
    result = triage(text, age_years=35)
    found = [s.department for s in result.suggestions]
    assert found == ["12"]
    assert not {"16", "03.01", "03"} & set(found)
    assert all("发烧" not in s.matched for s in result.suggestions)


def test_a_negation_elsewhere_does_not_cancel() -> None:
    assert _departments("不停地咳嗽", age=30)[0] == "03.01"


def test_children_go_to_paediatrics() -> None:
    assert _departments("发烧咳嗽", age=4) == ["07"]
    assert _departments("发烧咳嗽", age=40)[0] == "03.01"
    # age unknown: a child named in the text counts as a child
    assert _departments("宝宝发烧")[0] == "07"


def test_child_with_fever_and_convulsions_is_an_emergency() -> None:
    result = triage("孩子高烧，抽搐", age_years=2)
    first = result.suggestions[0]
    assert result.emergency and first.department == "20"
    assert first.rule == "red-febrile-seizure" and first.fallbacks[0] == "07"
    assert [s.department for s in result.suggestions][1] == "07"


def test_injured_child_goes_to_paediatric_surgery() -> None:
    assert _departments("摔伤了，可能骨折", age=8)[:2] == ["08", "04.03"]
    assert _departments("摔伤了，可能骨折", age=30)[0] == "04.03"


def test_one_suggestion_per_department_and_limit() -> None:
    result = triage("胸痛，口角歪斜，头晕", age_years=60, limit=2)
    departments = [s.department for s in result.suggestions]
    assert len(departments) == 2 == len(set(departments))
    assert departments[0] == "20"
    merged = result.suggestions[0]  # two red-flag rules, one suggestion for 20
    assert merged.score == 20.0 and merged.rule == "red-chest"
    assert merged.fallbacks == ("03.04", "03.03", "04.02")


def test_picks_count_like_typed_text() -> None:
    result = triage("", picks=["toothache"])
    assert result.suggestions[0].department == "12" and result.picks == ("toothache",)
    assert triage("", picks=["chest-pain"]).emergency
    # a trailing 不 in the text does not negate a ticked symptom
    assert _departments("说不", ("toothache",))[0] == "12"
    assert triage("牙疼", ["toothache", "toothache"]).picks == ("toothache",)


@pytest.mark.parametrize("code", [p["code"] for p in picklist()])
def test_every_picklist_code_resolves(code: str) -> None:
    result = triage("", [code])
    assert result.suggestions and result.suggestions[0].rule != "default"


def test_picklist_shape() -> None:
    items = picklist()
    assert 25 <= len(items) <= 40
    assert all(set(p) == {"code", "zh", "en"} and all(p.values()) for p in items)
    assert len({p["code"] for p in items}) == len(items)


def test_nothing_matched_suggests_general_practice() -> None:
    result = triage("说不清哪里不舒服")
    assert len(result.suggestions) == 1
    only = result.suggestions[0]
    assert (only.department, only.level, only.score, only.rule) == (
        "02",
        "township",
        0.0,
        "default",
    )
    assert only.matched == () and not result.emergency


def test_text_is_normalised() -> None:
    assert triage("  牙疼，ＯＫ  ").text == "牙疼,ok"


@pytest.mark.parametrize(
    "text,picks,kwargs,expression",
    [
        ("", (), {}, "text"),
        ("   ", (), {}, "text"),
        ("痛" * 501, (), {}, "text"),
        ("头痛", ("nope",), {}, "picks"),
        ("头痛", (), {"limit": 0}, "limit"),
        ("头痛", (), {"age_years": -1}, "age"),
    ],
)
def test_bad_input(
    text: str, picks: tuple[str, ...], kwargs: dict[str, int], expression: str
) -> None:
    with pytest.raises(OperationOutcomeError) as exc:
        triage(text, picks, **kwargs)  # type: ignore[arg-type]
    assert exc.value.code == "CH-1006" and exc.value.status == 400
    assert exc.value.issues[0].expression == [expression]
    if picks:
        assert "nope" in exc.value.issues[0].diagnostics


def test_the_rules_file_validates() -> None:
    data = _table()
    validate_rules(data)
    assert data["effective"] == "2026-11-23" and data["sources"] and data["notes"]
    for rule in data["rules"]:
        assert {rule["department"], *rule["fallback_departments"]} <= DEPARTMENTS
        if rule["urgency"] == "emergency":
            assert rule["department"] == "20" and "120" in rule["advice"]["zh"]


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d["rules"][0].update(department="13"), "red-chest: unknown department 13"),
        (lambda d: d["rules"][1].update(fallback_departments=["50.14"]), "unknown department"),
        (lambda d: d["rules"][2].update(level="province"), "red-breath: unknown level"),
        (lambda d: d["rules"][-1].update(urgency="soon"), "prevention: unknown urgency"),
        (lambda d: d["rules"][-1].update(urgency="emergency"), "prevention: an emergency"),
        (lambda d: d["rules"].append(dict(d["rules"][-1])), "duplicate rule id"),
        (lambda d: d["picklist"][0].update(keywords=["无关"]), "symptom fever"),
    ],
)
def test_a_broken_table_is_refused(change: Any, message: str) -> None:
    data = copy.deepcopy(_table())
    change(data)
    with pytest.raises(ValueError, match=message):
        validate_rules(data)
