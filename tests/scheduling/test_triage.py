"""Smart triage against the rules table."""

from __future__ import annotations

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.scheduling.triage import picklist, triage


def _departments(text: str, **kw: object) -> list[str]:
    return [s.department for s in triage(text, **kw).suggestions]  # type: ignore[arg-type]


def test_cough_with_phlegm_goes_to_respiratory() -> None:
    assert _departments("头痛发烧三天，咳嗽有痰")[0] == "03.01"


def test_chest_pain_is_an_emergency_first() -> None:
    result = triage("胸痛，出冷汗")
    assert result.emergency and result.suggestions[0].department == "20"


def test_negation_cancels_a_keyword() -> None:
    found = _departments("不发烧，牙疼")
    assert found[0] == "12" and "03.01" not in found


def test_children_go_to_paediatrics() -> None:
    assert _departments("发烧咳嗽", age_years=4)[0] == "07"


def test_picks_and_default() -> None:
    assert triage("", picks=["toothache"]).suggestions[0].department == "12"
    fallback = triage("说不清哪里不舒服")
    assert [s.rule for s in fallback.suggestions] == ["default"]
    assert all(p["code"] for p in picklist())


@pytest.mark.parametrize("text,picks", [("", ()), ("痛" * 501, ()), ("头痛", ("nope",))])
def test_bad_input(text: str, picks: tuple[str, ...]) -> None:
    with pytest.raises(OperationOutcomeError) as exc:
        triage(text, picks)
    assert exc.value.code == "CH-1006"
