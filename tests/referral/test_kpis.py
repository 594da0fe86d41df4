"""The referral KPIs on a hand-built history (SQLite and PostgreSQL): counts per direction,
status and institution, acceptance rate, median hours to acceptance, the follow-up of
down-referrals within 14 days (day 13 and day 14 count, day 15 and a planned visit do not),
the year-on-year change, one institution's view, a bad period and a role without reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.operations.referral_kpis import to_measure_report
from countyhealth.records.query import find
from countyhealth.referral.kpis import ReferralKpis, kpi_rules, referral_kpis, year_earlier
from countyhealth.scheduling.calendar import at, fhir_datetime, local_now
from countyhealth.security.roles import caller_for
from countyhealth.store import Repository, Store

COUNTY, TOWN, VILLAGE = "org-county", "org-town", "org-village"
PATIENT = "kp1"
SNOMED = "http://snomed.info/sct"


@dataclass
class History:
    first: date  # the period counted: 30 days ending a month before today
    last: date
    today: date

    @property
    def county(self) -> str:
        return f"Organization/{COUNTY}"


class _Writer:
    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.n = 0

    def referral(
        self,
        direction: str,
        made: datetime,
        sender: str,
        receiver: str,
        status: str,
        *,
        accepted_after_hours: float | None = None,
        requester: dict[str, str] | None = None,
        request_status: str | None = None,
    ) -> str:
        self.n += 1
        sr_id, task_id = f"ksr{self.n}", f"ktask{self.n}"
        self.out.append(
            {
                "resourceType": "ServiceRequest",
                "id": sr_id,
                "extension": [
                    {
                        "url": systems.EXT_REFERRAL_DIRECTION,
                        "valueCoding": {"system": systems.REFERRAL_DIRECTION, "code": direction},
                    }
                ],
                "status": request_status or "active",
                "intent": "order",
                "category": [{"coding": [{"system": SNOMED, "code": "3457005"}]}],
                "code": {"coding": [{"system": SNOMED, "code": "306206005"}]},
                "subject": {"reference": f"Patient/{PATIENT}"},
                "authoredOn": fhir_datetime(made),
                "requester": requester or {"reference": f"PractitionerRole/pr-{sender}"},
                "performer": [{"reference": f"Organization/{receiver}"}],
            }
        )
        task: dict[str, Any] = {
            "resourceType": "Task",
            "id": task_id,
            "status": status,
            "intent": "order",
            "code": {"coding": [{"system": systems.TASK_KIND, "code": "referral"}]},
            "focus": {"reference": f"ServiceRequest/{sr_id}"},
            "for": {"reference": f"Patient/{PATIENT}"},
            "authoredOn": fhir_datetime(made),
            "lastModified": fhir_datetime(made),
            "owner": {"reference": f"Organization/{receiver}"},
        }
        if accepted_after_hours is not None:
            accepted = made + timedelta(hours=accepted_after_hours)
            task["extension"] = [
                {"url": systems.EXT_REFERRAL_ACCEPTED, "valueDateTime": fhir_datetime(accepted)}
            ]
        self.out.append(task)
        return sr_id

    def visit(self, request: str, day: date, status: str = "finished") -> None:
        self.n += 1
        self.out.append(
            {
                "resourceType": "Encounter",
                "id": f"kenc{self.n}",
                "status": status,
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": {"reference": f"Patient/{PATIENT}"},
                "basedOn": [{"reference": f"ServiceRequest/{request}"}],
                "period": {"start": fhir_datetime(at(day, time(9, 30)))},
            }
        )


def _at(day: date, hour: int) -> datetime:
    return at(day, time(hour, 0))


@pytest.fixture
def history(store: Store, repo: Repository) -> History:
    today = local_now(store.clock.now_us()).date()
    base = today - timedelta(days=60)
    w = _Writer()
    out = w.out
    for org, name in [(COUNTY, "县人民医院"), (TOWN, "城关镇卫生院"), (VILLAGE, "李村卫生室")]:
        out.append({"resourceType": "Organization", "id": org, "name": name})
        out.append(
            {
                "resourceType": "PractitionerRole",
                "id": f"pr-{org}",
                "organization": {"reference": f"Organization/{org}"},
            }
        )
    out.append({"resourceType": "Patient", "id": PATIENT, "name": [{"text": "王指标"}]})
    d = lambda n: base + timedelta(days=n)  # noqa: E731
    # up: completed (4 h), accepted (24 h), rejected, still requested, cancelled before and
    # after acceptance (6 h, requester an Organization), in progress (2 h)
    w.referral("up", _at(d(1), 9), VILLAGE, COUNTY, "completed", accepted_after_hours=4)
    w.referral("up", _at(d(2), 10), VILLAGE, COUNTY, "accepted", accepted_after_hours=24)
    w.referral("up", _at(d(3), 10), TOWN, COUNTY, "rejected")
    w.referral("up", _at(d(4), 10), TOWN, COUNTY, "requested")
    w.referral("up", _at(d(5), 10), VILLAGE, COUNTY, "cancelled")
    w.referral(
        "up",
        _at(d(7), 10),
        VILLAGE,
        COUNTY,
        "cancelled",
        accepted_after_hours=6,
        requester={"reference": f"Organization/{VILLAGE}"},
    )
    w.referral("up", _at(d(6), 8), VILLAGE, COUNTY, "in-progress", accepted_after_hours=2)
    # down: followed up on day 13, on day 15 (late; a planned visit on day 2 is no visit),
    # cancelled, rejected by the village (never followed up), followed up on day 14
    on_13 = w.referral("down", _at(d(10), 10), COUNTY, TOWN, "completed", accepted_after_hours=22)
    w.visit(on_13, d(10 + 13))
    on_15 = w.referral("down", _at(d(11), 10), COUNTY, TOWN, "in-progress", accepted_after_hours=20)
    w.visit(on_15, d(11 + 2), status="planned")
    w.visit(on_15, d(11 + 15))
    w.referral("down", _at(d(12), 10), COUNTY, TOWN, "cancelled")
    w.referral("down", _at(d(13), 10), COUNTY, VILLAGE, "rejected")
    on_14 = w.referral("down", _at(d(14), 10), COUNTY, TOWN, "completed", accepted_after_hours=1)
    w.visit(on_14, d(14 + 14))
    # not counted: the day before and after the period, entered in error (request or Task)
    w.referral("up", _at(d(-1), 23), VILLAGE, COUNTY, "completed", accepted_after_hours=1)
    w.referral("up", _at(d(30), 0), VILLAGE, COUNTY, "completed", accepted_after_hours=1)
    w.referral("up", _at(d(8), 10), VILLAGE, COUNTY, "entered-in-error")
    w.referral("down", _at(d(9), 10), COUNTY, TOWN, "cancelled", request_status="entered-in-error")
    # a year earlier: two up (one from the township), one down; one entered in error
    earlier = year_earlier(d(0))
    w.referral("up", _at(earlier, 9), VILLAGE, COUNTY, "completed", accepted_after_hours=3)
    w.referral("up", _at(earlier + timedelta(days=3), 9), TOWN, COUNTY, "rejected")
    w.referral("down", _at(earlier + timedelta(days=28), 9), COUNTY, VILLAGE, "completed")
    w.referral("up", _at(earlier + timedelta(days=5), 9), TOWN, COUNTY, "entered-in-error")
    # a recent down-referral whose window is still open
    w.referral(
        "down", _at(today - timedelta(days=3), 9), COUNTY, TOWN, "accepted", accepted_after_hours=5
    )
    repo.put_many(out)
    return History(base, base + timedelta(days=29), today)


def test_counts_rates_median_follow_up_and_change(repo: Repository, history: History) -> None:
    kpis = referral_kpis(repo, history.first, history.last)
    assert (kpis.up.made, kpis.down.made, kpis.made) == (7, 5, 12)
    assert kpis.up.by_status == {
        "accepted": 1,
        "cancelled": 2,
        "completed": 1,
        "in-progress": 1,
        "rejected": 1,
        "requested": 1,
    }
    assert kpis.down.by_status == {"cancelled": 1, "completed": 2, "in-progress": 1, "rejected": 1}
    # accepted: completed, accepted, in progress and cancelled-after-acceptance up; three down
    assert (kpis.up.accepted, kpis.up.decided, kpis.down.accepted, kpis.down.decided) == (
        4,
        5,
        3,
        4,
    )
    assert (kpis.accepted, kpis.decided, kpis.acceptance_rate) == (7, 9, 77.8)
    # hours: up 2, 4, 6, 24 → 5.0; down 1, 20, 22 → 20.0; all seven → 6.0
    assert (kpis.up.median_hours, kpis.down.median_hours, kpis.median_hours) == (5.0, 20.0, 6.0)
    assert kpis.timed == 7
    # due: four not cancelled; followed up within 14 days: day 13 and day 14
    follow = kpis.follow_up
    assert (follow.days, follow.due, follow.done, follow.open) == (14, 4, 2, 0)
    assert kpis.follow_up_rate == 50.0
    assert (kpis.up.previous, kpis.down.previous, kpis.previous) == (2, 1, 3)
    assert kpis.change == 300.0
    rows = {f.organization: f for f in kpis.facilities}
    assert {
        o: (f.up_sent, f.down_sent, f.up_received, f.down_received) for o, f in rows.items()
    } == {
        f"Organization/{VILLAGE}": (5, 0, 0, 1),
        f"Organization/{TOWN}": (2, 0, 0, 4),
        f"Organization/{COUNTY}": (0, 5, 7, 0),
    }
    assert rows[f"Organization/{TOWN}"].name == "城关镇卫生院"
    assert len(kpis.series) == 30
    assert sum(s[1] for s in kpis.series) == 7 and sum(s[2] for s in kpis.series) == 5
    assert kpis.series[0][0] == history.first.isoformat()


def test_the_window_of_a_recent_down_referral_is_open(repo: Repository, history: History) -> None:
    kpis = referral_kpis(repo, history.today - timedelta(days=10), history.today)
    assert (kpis.down.made, kpis.down.accepted, kpis.down.median_hours) == (1, 1, 5.0)
    assert (kpis.follow_up.due, kpis.follow_up.done, kpis.follow_up.open) == (0, 0, 1)
    assert kpis.follow_up_rate is None
    assert kpis.change is None  # nothing a year earlier
    assert kpis.acceptance_rate == 100.0


def test_one_institution_counts_what_it_sent_or_received(
    repo: Repository, history: History
) -> None:
    town = referral_kpis(repo, history.first, history.last, f"Organization/{TOWN}")
    assert (town.up.made, town.down.made) == (2, 4)
    assert (town.accepted, town.decided) == (3, 4)  # three down accepted; one up rejected
    assert (town.follow_up.due, town.follow_up.done) == (3, 2)
    assert (town.previous, town.change) == (1, 500.0)
    assert {f.organization for f in town.facilities} == {
        f"Organization/{TOWN}",
        f"Organization/{COUNTY}",
    }
    nobody = referral_kpis(repo, history.first, history.last, "Organization/org-none")
    assert (nobody.made, nobody.acceptance_rate, nobody.median_hours, nobody.facilities) == (
        0,
        None,
        None,
        (),
    )


def test_the_measure_report(repo: Repository, history: History) -> None:
    kpis = referral_kpis(repo, history.first, history.last)
    report = to_measure_report(kpis, at(history.today, time(12, 0)))
    assert report["resourceType"] == "MeasureReport" and report["type"] == "summary"
    groups = {g["code"]["coding"][0]["code"]: g for g in report["group"]}
    assert list(groups) == [
        "referrals",
        "up-referrals",
        "down-referrals",
        "acceptance-rate",
        "time-to-acceptance",
        "follow-up-rate",
        "year-on-year",
    ]

    def counts(group: dict[str, Any]) -> dict[str, int]:
        return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}

    assert counts(groups["referrals"]) == {"initial-population": 12}
    direction = groups["referrals"]["stratifier"][0]
    assert [
        (s["value"]["coding"][0]["code"], s["population"][0]["count"]) for s in direction["stratum"]
    ] == [("up", 7), ("down", 5)]
    assert counts(groups["acceptance-rate"]) == {"numerator": 7, "denominator": 9}
    assert groups["acceptance-rate"]["measureScore"]["value"] == 77.8
    assert groups["time-to-acceptance"]["measureScore"] == {
        "value": 6.0,
        "unit": "h",
        "system": "http://unitsofmeasure.org",
        "code": "h",
    }
    assert counts(groups["follow-up-rate"]) == {"numerator": 2, "denominator": 4}
    assert counts(groups["year-on-year"]) == {"numerator": 12, "denominator": 3}
    assert groups["year-on-year"]["measureScore"]["value"] == 300.0


def test_the_follow_up_window_is_rule_data() -> None:
    assert kpi_rules().follow_up_days == 14


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 3, 2), date(2026, 3, 1)), (date(2025, 1, 1), date(2026, 1, 2))],
)
def test_a_bad_period_is_refused(repo: Repository, first: date, last: date) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        referral_kpis(repo, first, last)
    assert caught.value.code == "CH-9302"


def test_a_role_without_county_wide_reach_is_refused(store: Store, history: History) -> None:
    township = store.repository(
        caller_for(
            kind="user",
            id="township-1",
            role_codes=("township-clinician",),
            organization=f"Organization/{TOWN}",
        )
    )
    with pytest.raises(OperationOutcomeError) as caught:
        referral_kpis(township, history.first, history.last)
    assert caught.value.code == "CH-4003"


def test_counting_leaves_no_line_in_the_patients_access_log(
    store: Store, repo: Repository, history: History
) -> None:
    bureau = store.repository(
        caller_for(
            kind="user",
            id="bureau-1",
            role_codes=("bureau-admin",),
            organization="Organization/org-bureau",
        )
    )
    kpis: ReferralKpis = referral_kpis(bureau, history.first, history.last)
    assert kpis.made == 12
    store.audit.flush()
    assert [line for line in repo.access_log(PATIENT, limit=1000) if line.who == "bureau-1"] == []
    # whereas a search that returns the patient's referrals is in the log
    assert find(bureau.elevated(), "ServiceRequest", [("subject", f"Patient/{PATIENT}")]).resources
    store.audit.flush()
    assert [line.who for line in repo.access_log(PATIENT, limit=1000)].count("bureau-1") == 1
