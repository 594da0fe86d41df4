"""Rule-suggested referrals: emergency values and two uncontrolled follow-ups of managed
hypertension and type 2 diabetes patients, read as the caller (SQLite and PostgreSQL), and the
checks of the rule file."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from countyhealth.consent import grant
from countyhealth.fhir import systems
from countyhealth.records.query import find
from countyhealth.referral.suggestion_rules import (
    PACKAGED_FILE,
    SuggestionRulesError,
    load_suggestion_rules,
    suggestion_rules,
)
from countyhealth.referral.suggestions import referral_suggestions
from countyhealth.scheduling.calendar import fhir_datetime, local_now
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store

COUNTY, TOWN, TOWN2 = "org-county", "org-town", "org-town2"
PATIENT = "sp1"
LOINC = "http://loinc.org"


@dataclass
class Chart:
    """One patient under management at the first township centre, written as the centre's
    records (custodian tag) unless another institution is named."""

    store: Store
    repo: Repository
    now: datetime
    count: int = 0

    def clinician(self, organization: str = TOWN) -> Repository:
        return self.store.repository(
            caller_for(
                kind="user",
                id=f"township-clinician-{organization}",
                role_codes=("township-clinician",),
                organization=f"Organization/{organization}",
                actors=(f"PractitionerRole/pr-{organization}",),
            )
        )

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def _base(self, rtype: str, prefix: str, org: str) -> dict[str, Any]:
        return {
            "resourceType": rtype,
            "id": self._id(prefix),
            "meta": {"tag": [{"system": systems.CUSTODIAN, "code": org}]},
            "subject": {"reference": f"Patient/{PATIENT}"},
        }

    def condition(self, code: str, display: str, *, status: str = "active", org: str = TOWN) -> str:
        body = self._base("Condition", "c", org) | {
            "clinicalStatus": {"coding": [{"system": systems.CONDITION_CLINICAL, "code": status}]},
            "verificationStatus": {
                "coding": [{"system": systems.CONDITION_VERIFICATION, "code": "confirmed"}]
            },
            "code": {"coding": [{"system": systems.ICD_10, "code": code, "display": display}]},
            "onsetDateTime": "2019-05-01",
        }
        self.repo.put_many([body])
        return str(body["id"])

    def _observation(
        self, code: str, days_ago: float, org: str, encounter: str | None
    ) -> dict[str, Any]:
        body = self._base("Observation", "o", org) | {
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "effectiveDateTime": fhir_datetime(self.now - timedelta(days=days_ago)),
        }
        if encounter:
            body["encounter"] = {"reference": f"Encounter/{encounter}"}
        return body

    def bp(
        self,
        sbp: float,
        dbp: float,
        days_ago: float,
        *,
        org: str = TOWN,
        encounter: str | None = None,
    ) -> str:
        """A blood-pressure panel as the project records it (LOINC 85354-9 + components)."""
        body = self._observation("85354-9", days_ago, org, encounter)
        body["category"] = [
            {"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": "vital-signs"}]}
        ]
        body["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {
                    "value": value,
                    "unit": "mmHg",
                    "system": systems.UCUM,
                    "code": "mm[Hg]",
                },
            }
            for code, value in (("8480-6", sbp), ("8462-4", dbp))
        ]
        self.repo.put_many([body])
        return str(body["id"])

    def value(
        self,
        code: str,
        value: float,
        unit: str,
        days_ago: float,
        *,
        org: str = TOWN,
        encounter: str | None = None,
    ) -> str:
        body = self._observation(code, days_ago, org, encounter)
        body["valueQuantity"] = {"value": value, "unit": unit}
        self.repo.put_many([body])
        return str(body["id"])

    def glucose(self, value: float, days_ago: float, *, code: str = "14743-9") -> str:
        """The village follow-up's finger-prick glucose (mmol/L), as the project records it."""
        return self.value(code, value, "mmol/L", days_ago)


@pytest.fixture
def chart(store: Store, repo: Repository) -> Chart:
    repo.put_many(
        [
            {
                "resourceType": "Organization",
                "id": org,
                "name": name,
                "type": [{"coding": [{"system": systems.FACILITY_TYPE, "code": kind}]}],
            }
            for org, name, kind in [
                (COUNTY, "县人民医院", "general"),
                (TOWN, "城关镇卫生院", "health-centre"),
                (TOWN2, "东镇卫生院", "health-centre"),
            ]
        ]
        + [
            {
                "resourceType": "Patient",
                "id": PATIENT,
                "name": [{"text": "李转诊"}],
                "birthDate": "1955-06-01",
            }
        ]
    )
    return Chart(store, repo, local_now(store.clock.now_us()))


@pytest.fixture
def hypertensive(chart: Chart) -> Chart:
    chart.condition("I10", "特发性（原发性）高血压")
    return chart


@pytest.fixture
def diabetic(chart: Chart) -> Chart:
    chart.condition("E11.9", "2型糖尿病，不伴有并发症")
    return chart


def _rules(chart: Chart, **kwargs: Any) -> list[tuple[str, str]]:
    return [(s.rule, s.urgency) for s in referral_suggestions(chart.clinician(), PATIENT, **kwargs)]


# ---------------------------------------------------------------------------- hypertension


def test_an_emergency_systolic_suggests_an_urgent_referral(hypertensive: Chart) -> None:
    obs = hypertensive.bp(182, 100, 1)
    [found] = referral_suggestions(hypertensive.clinician(), PATIENT)
    assert (found.rule, found.urgency) == ("hypertension-emergency", "urgent")
    assert (found.reason_code, found.reason_display) == ("I10", "特发性（原发性）高血压")
    assert found.condition.startswith("Condition/")
    assert (found.target_level, found.target_department) == ("county", "03.04")
    assert "180" in found.reason_zh and "180" in found.reason_en
    assert "第三版" in found.source
    [evidence] = found.evidence
    assert (evidence.observation, evidence.measure) == (f"Observation/{obs}", "systolic")
    assert (evidence.value, evidence.unit) == (182, "mm[Hg]")


def test_a_diastolic_of_exactly_110_is_an_emergency(hypertensive: Chart) -> None:
    hypertensive.bp(150, 110, 1)
    [found] = referral_suggestions(hypertensive.clinician(), PATIENT)
    assert found.rule == "hypertension-emergency"
    assert [(e.measure, e.value) for e in found.evidence] == [("diastolic", 110)]


def test_just_below_the_emergency_values_nothing_is_suggested(hypertensive: Chart) -> None:
    hypertensive.bp(179, 109, 1)
    assert _rules(hypertensive) == []


def test_two_consecutive_uncontrolled_visits_suggest_a_routine_referral(
    hypertensive: Chart,
) -> None:
    first = hypertensive.bp(152, 88, 30)
    second = hypertensive.bp(138, 90, 10)
    [found] = referral_suggestions(hypertensive.clinician(), PATIENT)
    assert (found.rule, found.urgency) == ("hypertension-uncontrolled", "routine")
    assert [(e.observation, e.measure, e.value) for e in found.evidence] == [
        (f"Observation/{first}", "systolic", 152),
        (f"Observation/{second}", "diastolic", 90),
    ]


@pytest.mark.parametrize(
    "readings",
    [
        [(150, 95, 30), (132, 84, 10)],  # uncontrolled, then controlled
        [(132, 84, 30), (150, 95, 10)],  # controlled, then the first uncontrolled visit
        [(150, 95, 60), (132, 84, 30), (150, 95, 10)],  # not consecutive
    ],
)
def test_without_two_consecutive_uncontrolled_visits_nothing_is_suggested(
    hypertensive: Chart, readings: list[tuple[int, int, int]]
) -> None:
    for sbp, dbp, days in readings:
        hypertensive.bp(sbp, dbp, days)
    assert _rules(hypertensive) == []


def test_readings_of_one_visit_count_once(hypertensive: Chart) -> None:
    # two raised readings in one encounter are one visit, not two consecutive ones; the
    # visit's value is its last reading, so a recheck below the emergency level counts
    hypertensive.bp(150, 95, 2, encounter="enc-1")
    hypertensive.bp(184, 100, 2 - 0.01, encounter="enc-1")
    hypertensive.bp(176, 100, 2 - 0.02, encounter="enc-1")
    assert _rules(hypertensive) == []


def test_separate_systolic_and_diastolic_observations_make_one_reading(
    hypertensive: Chart,
) -> None:
    hypertensive.value("8480-6", 160, "mm[Hg]", 1, encounter="enc-2")
    dbp = hypertensive.value("8462-4", 112, "mmHg", 1, encounter="enc-2")
    [found] = referral_suggestions(hypertensive.clinician(), PATIENT)
    assert found.rule == "hypertension-emergency"
    assert [e.observation for e in found.evidence] == [f"Observation/{dbp}"]


def test_the_urgent_suggestion_supersedes_the_routine_one(hypertensive: Chart) -> None:
    hypertensive.bp(150, 95, 30)
    hypertensive.bp(185, 112, 1)
    [found] = referral_suggestions(hypertensive.clinician(), PATIENT)
    assert found.rule == "hypertension-emergency"
    assert {e.measure for e in found.evidence} == {"systolic", "diastolic"}


def test_an_emergency_value_long_ago_is_not_suggested_now(hypertensive: Chart) -> None:
    hypertensive.bp(190, 115, 20)
    assert _rules(hypertensive) == []
    # ... but was, a few days after it was measured
    earlier = hypertensive.now - timedelta(days=18)
    assert _rules(hypertensive, at=earlier) == [("hypertension-emergency", "urgent")]


def test_readings_after_the_moment_asked_about_are_not_used(hypertensive: Chart) -> None:
    hypertensive.bp(190, 115, 1)
    assert _rules(hypertensive, at=hypertensive.now - timedelta(days=2)) == []


def test_without_the_condition_no_rule_applies(chart: Chart) -> None:
    chart.bp(195, 120, 1)
    chart.glucose(20.1, 1)
    chart.condition("I10", "特发性（原发性）高血压", status="resolved")
    chart.condition("J44.9", "慢性阻塞性肺疾病")
    assert _rules(chart) == []


def test_a_diabetic_with_emergency_blood_pressure_is_referred_urgently(diabetic: Chart) -> None:
    # the diabetes norm lists the same BP criterion; the routine BP rule is for hypertension
    diabetic.bp(150, 95, 30)
    diabetic.bp(181, 95, 1)
    [found] = referral_suggestions(diabetic.clinician(), PATIENT)
    assert (found.rule, found.reason_code) == ("hypertension-emergency", "E11.9")
    diabetic.bp(150, 95, 0.5)
    assert _rules(diabetic) == []


# ---------------------------------------------------------------------------- diabetes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (16.7, [("diabetes-emergency", "urgent")]),
        (16.6, []),
        (3.9, [("diabetes-emergency", "urgent")]),
        (4.0, []),
    ],
)
def test_glucose_emergency_boundaries(
    diabetic: Chart, value: float, expected: list[tuple[str, str]]
) -> None:
    diabetic.glucose(value, 1)
    assert _rules(diabetic) == expected


def test_glucose_in_mass_units_is_converted(diabetic: Chart) -> None:
    obs = diabetic.value("2345-7", 301, "mg/dL", 1)  # 16.71 mmol/L
    [found] = referral_suggestions(diabetic.clinician(), PATIENT)
    assert found.rule == "diabetes-emergency"
    assert (found.target_department, found.reason_code) == ("03.07", "E11.9")
    assert [(e.observation, e.value, e.unit) for e in found.evidence] == [
        (f"Observation/{obs}", 16.71, "mmol/L")
    ]
    diabetic.value("2339-0", 70, "mg/dL", 0.5)  # 3.89 mmol/L
    assert _rules(diabetic) == [("diabetes-emergency", "urgent")]


def test_a_glucose_in_an_unknown_unit_is_not_judged(diabetic: Chart) -> None:
    diabetic.value("14771-0", 400, "g/L", 1)
    assert _rules(diabetic) == []


def test_two_consecutive_uncontrolled_fasting_glucoses(diabetic: Chart) -> None:
    diabetic.glucose(7.0, 40)
    diabetic.glucose(8.2, 12, code="14771-0")
    assert _rules(diabetic) == [("diabetes-uncontrolled", "routine")]
    # a random glucose is no follow-up fasting glucose, and 6.9 is controlled
    diabetic.value("2345-7", 150, "mg/dL", 5)
    assert _rules(diabetic) == [("diabetes-uncontrolled", "routine")]
    diabetic.glucose(6.9, 2)
    assert _rules(diabetic) == []


def test_a_patient_with_both_diseases_may_get_two_suggestions(diabetic: Chart) -> None:
    diabetic.condition("I10", "特发性（原发性）高血压")
    diabetic.bp(150, 92, 40)
    diabetic.bp(146, 90, 12)
    diabetic.glucose(17.5, 1)
    assert _rules(diabetic) == [
        ("diabetes-emergency", "urgent"),
        ("hypertension-uncontrolled", "routine"),
    ]


# ---------------------------------------------------------------------------- access rule


def test_readings_the_clinician_may_not_read_suggest_nothing(hypertensive: Chart) -> None:
    # the county hospital measured 186/104; the township centre has the problem list only
    hypertensive.bp(186, 104, 1, org=COUNTY)
    assert _rules(hypertensive) == []
    # the platform itself sees the reading
    assert [s.rule for s in referral_suggestions(hypertensive.repo, PATIENT)] == [
        "hypertension-emergency"
    ]
    # once the patient lets the centre read their results, it is suggested to it too
    grant(hypertensive.repo, PATIENT, f"Organization/{TOWN}", category_code="results")
    assert _rules(hypertensive) == [("hypertension-emergency", "urgent")]
    # the other centre reads neither the problem list nor the reading
    other = hypertensive.clinician(TOWN2)
    assert referral_suggestions(other, PATIENT) == []


def test_the_searches_are_audited(hypertensive: Chart) -> None:
    hypertensive.bp(182, 100, 1)
    referral_suggestions(hypertensive.clinician(), PATIENT)
    hypertensive.store.audit.flush()
    events = find(hypertensive.repo, "AuditEvent", [], count=200).resources
    queries = [
        base64.b64decode(entity["query"]).decode()
        for event in events
        for entity in event.get("entity") or []
        if "query" in entity
    ]
    ours = [q for q in queries if "(referral suggestions)" in q]
    assert any(q.startswith("Observation?") for q in ours)
    assert any(q.startswith("Condition?") for q in ours)


# ---------------------------------------------------------------------------- the rule file


def _data() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(PACKAGED_FILE.read_bytes())
    return data


def test_the_packaged_rules_load_with_their_sources() -> None:
    rules = suggestion_rules()
    assert [r.id for r in rules.rules] == [
        "hypertension-emergency",
        "hypertension-uncontrolled",
        "diabetes-emergency",
        "diabetes-uncontrolled",
    ]
    assert any("第三版" in s for s in rules.sources)
    assert all("第三版" in r.source for r in rules.rules)
    assert rules.rules_on(rules.effective) == rules.rules
    assert rules.rules_on(rules.effective - timedelta(days=1)) == ()
    emergency = rules.rules[0]
    assert [(t.measure, t.bound, t.value) for t in emergency.thresholds] == [
        ("systolic", "at_least", 180),
        ("diastolic", "at_least", 110),
    ]


def _broken(change: Any) -> str:
    data = _data()
    change(data)
    with pytest.raises(SuggestionRulesError) as caught:
        load_suggestion_rules(data)
    return str(caught.value)


def test_a_rule_without_a_source_is_rejected() -> None:
    def drop(data: dict[str, Any]) -> None:
        del data["rules"][2]["source"]

    def blank(data: dict[str, Any]) -> None:
        data["rules"][2]["source"] = " "

    for change in (drop, blank):
        message = _broken(change)
        assert "diabetes-emergency" in message and "source" in message


def test_overlapping_versions_of_a_rule_are_rejected() -> None:
    def add_version(data: dict[str, Any]) -> None:
        old = data["rules"][1]
        old["valid_to"] = "2025-12-31"
        new = copy.deepcopy(old) | {"valid_from": "2025-06-01", "valid_to": None}
        data["rules"].append(new)

    message = _broken(add_version)
    assert "hypertension-uncontrolled (valid from 2025-06-01)" in message
    assert "overlaps" in message

    def follow_on(data: dict[str, Any]) -> None:
        old = data["rules"][1]
        old["valid_to"] = "2025-12-31"
        data["rules"].append(copy.deepcopy(old) | {"valid_from": "2026-01-01", "valid_to": None})

    data = _data()
    follow_on(data)
    rules = load_suggestion_rules(data)  # one after the other is fine
    assert len(rules.rules) == 5


def test_an_unknown_urgency_is_rejected() -> None:
    def stat(data: dict[str, Any]) -> None:
        data["rules"][0]["urgency"] = "stat"

    message = _broken(stat)
    assert "hypertension-emergency" in message and "urgency 'stat'" in message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["rules"][3]["thresholds"][0].update(at_least="7.0"), "not a number"),
        (lambda d: d["rules"][3]["thresholds"][0].update(at_least=True), "not a number"),
        (lambda d: d["rules"][3]["thresholds"][0].update(unit="mg/dL"), "not 'mmol/L'"),
        (lambda d: d["rules"][3]["thresholds"][0].update(at_most=3.9), "exactly one"),
        (lambda d: d["rules"][3].update(valid_to="2016-01-01"), "before valid_from"),
        (lambda d: d["rules"][3].update(visits=0), "visits 0"),
        (lambda d: d["rules"][3].update(conditions=["diabetes"]), "not an ICD-10 code"),
        (lambda d: d["rules"][3]["reads"][0].update(measure="weight"), "unknown measure"),
        (lambda d: d["rules"][3].update(target_level="village"), "target_level"),
        (lambda d: d["rules"][3].update(supersedes=["nope"]), "unknown rule 'nope'"),
    ],
)
def test_other_faults_name_the_rule(change: Any, words: str) -> None:
    message = _broken(change)
    assert "referral rule diabetes-uncontrolled" in message and words in message


def test_a_file_without_sources_is_rejected() -> None:
    assert "no sources" in _broken(lambda d: d.update(sources=[]))
