"""The pay-at-most-once KPIs (``data/billing_kpis.json``): visits with charges and visits
settled, the smart-settlement rate (智慧结算率) of outpatient visits and of wards, payments per
visit (target 1.0), the time from a visit's last charge to its payment (median and 90th
percentile), refunds and the visits on credit, for the bureau's page and as a summary FHIR
MeasureReport (https://hl7.org/fhir/R4/measurereport.html).

The figures are counted from the stored billing records in a few paged searches over the
period — ChargeItems entered in it, the PaymentReconciliations recorded in it — and batched
reads of what those name (ClaimResponses by id, ChargeItems by visit, Coverages by person), so
the number of searches grows with the visits by the hundred, not one per visit. The reads run
for the platform in aggregate mode (:meth:`Repository.elevated`): the AuditEvents record the
queries without naming every counted patient, so only counts, rates and times leave this
module. The definitions (and why they read the seed reports this way) are in the data file.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ..errors import forbidden
from ..fhir import systems
from ..fhir.measure_report import population, summary_report
from ..records.query import find_all
from ..scheduling.calendar import at, fhir_datetime, local_now, parse_datetime
from ..scheduling.calendar import check_period as period_check
from ..store import Repository
from .charges import ON_BILL
from .policy import SCHEME_OF_INSURANCE_TYPE, SETTINGS
from .records import (
    CLAIM_TYPE,
    EXT_CREDIT_DUE,
    EXT_SETTLEMENT_TOTALS,
    IDEMPOTENCY_KEY,
    PAYMENT_TYPE,
    VISIT_ACCOUNT,
    code_in,
    extension,
    identifier_value,
    reference_of,
)

MAX_DAYS = 366
KPI_SYSTEM = f"{systems.BASE}/CodeSystem/billing-kpi"
MEASURE = f"{systems.BASE}/Measure/billing-kpis"
_DATA = Path(__file__).parent / "data" / "billing_kpis.json"
_ERROR = "CH-9401"
#: values per search parameter (the search parser's limit)
_BATCH = 100
_UCUM = "http://unitsofmeasure.org"


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(_DATA.read_bytes())
    return data


def definitions() -> tuple[dict[str, Any], ...]:
    """The KPI definitions in report order (id, zh, en, scoring, unit, reference, wording)."""
    return tuple(_data()["kpis"])


@dataclass(frozen=True, slots=True)
class KpiRules:
    """The rule data of the definitions."""

    percentile: int
    inpatient_claim_types: frozenset[str]
    not_insured_statuses: frozenset[str]


@cache
def kpi_rules() -> KpiRules:
    """The rules of ``data/billing_kpis.json``."""
    r = _data()["rules"]
    return KpiRules(
        percentile=int(r["percentile"]),
        inpatient_claim_types=frozenset(r["inpatient_claim_types"]),
        not_insured_statuses=frozenset(r["not_insured_statuses"]),
    )


@dataclass(frozen=True, slots=True)
class SettingCounts:
    """The visits of one setting (``outpatient`` or ``inpatient``) settled in the period."""

    setting: str
    settled: int
    insured: int  # of those, of persons insured on the day of the settlement
    smart: int  # of the insured, settled with the 医保 split at payment

    @property
    def smart_rate(self) -> float | None:
        """Smart settlements / insured visits settled, percent to two decimals."""
        return _rate(self.smart, self.insured)


@dataclass(frozen=True, slots=True)
class BillingKpis:
    """The billing KPIs over ``first``..``last`` (county days, inclusive) for the county or
    the visits of one institution; raw counts beside every figure."""

    first: date
    last: date
    organization: str | None
    visits_charged: int
    visits_settled: int
    outpatient: SettingCounts
    inpatient: SettingCounts
    payments: int
    refunds: int
    timed: int  # settled visits with a charge entered before their payment
    median_minutes: float | None
    p90_minutes: float | None
    credit_open: int  # at the time of the report
    credit_overdue: int

    @property
    def payments_per_visit(self) -> float | None:
        """Payments / visits settled, to two decimals (target 1.0)."""
        return round(self.payments / self.visits_settled, 2) if self.visits_settled else None

    def setting(self, name: str) -> SettingCounts:
        return self.inpatient if name == "inpatient" else self.outpatient


def check_period(first: date, last: date) -> None:
    """CH-9401 unless ``first``..``last`` is a period of 1 to :data:`MAX_DAYS` days."""
    period_check(first, last, _ERROR, MAX_DAYS)


def billing_kpis(
    repo: Repository, first: date, last: date, organization: str | None = None
) -> BillingKpis:
    """The billing KPIs over the county days ``first``..``last`` (inclusive).

    Args:
        repo: the caller's Repository; the caller needs MeasureReport read and a role that
            reaches all patients' data.
        first: the first day of the period.
        last: the last day (at most :data:`MAX_DAYS` days after ``first``, inclusive).
        organization: ``Organization/id`` to count the visits that institution holds (and
            settles); None for the county.

    Raises:
        OperationOutcomeError: CH-4003 without MeasureReport read or county-wide reach,
            CH-9401 for a period that is reversed or too long.
    """
    repo.require("MeasureReport", "read")
    # The aggregate reads below reach every patient's billing; a role confined to its own
    # organisation's or consenting patients must not learn county-wide counts through them.
    if repo.caller.access != "all" and repo.caller.kind != "system":
        raise forbidden("the billing KPIs are for roles that reach all patients' data")
    check_period(first, last)
    reader = repo.elevated(aggregate=True)
    rules = kpi_rules()
    now = local_now(repo.store.clock.now_us())
    start, end = at(first, time(0, 0)), at(last + timedelta(days=1), time(0, 0))

    charged = _visits_charged(reader, start, end, organization)
    payments, refunds = _movements(reader, start, end, organization)
    settled = _settlements(reader, [p.response for p in payments], rules)
    paid_at: dict[str, datetime] = {}  # visit → its (first) payment in the period
    settlement_of: dict[str, _Settled] = {}
    for p in sorted(payments, key=lambda p: p.created):
        s = settled.get(p.response)
        if s is not None and s.visit not in paid_at:
            paid_at[s.visit] = p.created
            settlement_of[s.visit] = s
    insured = _insured(reader, settlement_of.values(), rules)
    minutes = _minutes_to_payment(reader, paid_at)
    by_setting = {
        name: SettingCounts(
            name,
            settled=sum(1 for s in settlement_of.values() if s.setting == name),
            insured=sum(1 for v, s in settlement_of.items() if s.setting == name and insured[v]),
            smart=sum(
                1 for v, s in settlement_of.items() if s.setting == name and insured[v] and s.policy
            ),
        )
        for name in SETTINGS
    }
    open_, overdue = _credit(reader, organization, now.date())
    return BillingKpis(
        first=first,
        last=last,
        organization=organization,
        visits_charged=len(charged),
        visits_settled=len(paid_at),
        outpatient=by_setting["outpatient"],
        inpatient=by_setting["inpatient"],
        payments=sum(1 for p in payments if p.response in settled),
        refunds=refunds,
        timed=len(minutes),
        median_minutes=_round(statistics.median(minutes)) if minutes else None,
        p90_minutes=_round(_nearest_rank(minutes, rules.percentile)) if minutes else None,
        credit_open=open_,
        credit_overdue=overdue,
    )


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Payment:
    id: str
    created: datetime
    response: str  # ClaimResponse id of the settlement it paid


@dataclass(frozen=True, slots=True)
class _Settled:
    visit: str  # Encounter/id
    patient: str  # Patient/id
    day: date
    setting: str
    policy: bool  # the basic-insurance policy was applied


def _window(name: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
    return [(name, f"ge{fhir_datetime(start)}"), (name, f"lt{fhir_datetime(end)}")]


def _visits_charged(
    reader: Repository, start: datetime, end: datetime, organization: str | None
) -> set[str]:
    """The visits (``Encounter/id``) with a charge on the bill entered in ``start``..``end``."""
    params = _window("entered-date", start, end)
    if organization:
        params.append(("requesting-organization", organization))
    return {
        reference_of(item.get("context"))
        for item in find_all(reader, "ChargeItem", params)
        if item.get("status") in ON_BILL and reference_of(item.get("context"))
    }


def _movements(
    reader: Repository, start: datetime, end: datetime, organization: str | None
) -> tuple[list[_Payment], int]:
    """The payments recorded in ``start``..``end`` and the number of refunds."""
    params = _window("created", start, end)
    if organization:
        params.append(("requestor", organization))
    payments: list[_Payment] = []
    refunds = 0
    for record in find_all(reader, "PaymentReconciliation", params):
        if not identifier_value(record, IDEMPOTENCY_KEY):
            continue  # not the payment of a visit (e.g. an insurer's batch)
        details = record.get("detail") or []
        kinds = {code_in(d.get("type"), PAYMENT_TYPE) for d in details}
        if "adjustment" in kinds:
            refunds += 1
            continue
        response = reference_of((details[0] if details else {}).get("response"))
        if response.startswith("ClaimResponse/"):
            payments.append(
                _Payment(
                    str(record["id"]),
                    parse_datetime(str(record["created"])),
                    response.removeprefix("ClaimResponse/"),
                )
            )
    return payments, refunds


def _by_ids(reader: Repository, rtype: str, ids: Iterable[str]) -> Iterator[dict[str, Any]]:
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), _BATCH):
        yield from find_all(reader, rtype, [("_id", ",".join(wanted[i : i + _BATCH]))])


def _settlements(reader: Repository, ids: list[str], rules: KpiRules) -> dict[str, _Settled]:
    """The settlements (ClaimResponse id → what the KPIs need) of ``ids``."""
    out: dict[str, _Settled] = {}
    for response in _by_ids(reader, "ClaimResponse", ids):
        facts = {
            e.get("url"): e
            for e in (extension(response, EXT_SETTLEMENT_TOTALS) or {}).get("extension") or []
        }
        visit = reference_of((facts.get("visit") or {}).get("valueReference"))
        day = (facts.get("day") or {}).get("valueDate")
        if not visit or not day:
            continue
        claim_type = code_in(response.get("type"), CLAIM_TYPE)
        out[str(response["id"])] = _Settled(
            visit=visit,
            patient=reference_of(response.get("patient")),
            day=date.fromisoformat(str(day)),
            setting="inpatient" if claim_type in rules.inpatient_claim_types else "outpatient",
            policy=bool((facts.get("policy") or {}).get("valueString")),
        )
    return out


def _insured(
    reader: Repository, settlements: Iterable[_Settled], rules: KpiRules
) -> dict[str, bool]:
    """Visit → whether its person held a basic-insurance Coverage on the settlement day."""
    settled = list(settlements)
    periods: dict[str, list[tuple[str, str]]] = {}
    patients = sorted({s.patient for s in settled if s.patient})
    for i in range(0, len(patients), _BATCH):
        params = [("beneficiary", ",".join(patients[i : i + _BATCH]))]
        for coverage in find_all(reader, "Coverage", params):
            if coverage.get("status") in rules.not_insured_statuses:
                continue
            if code_in(coverage.get("type"), systems.INSURANCE_TYPE) not in (
                SCHEME_OF_INSURANCE_TYPE
            ):
                continue
            period = coverage.get("period") or {}
            periods.setdefault(reference_of(coverage.get("beneficiary")), []).append(
                (str(period.get("start") or "")[:10], str(period.get("end") or "")[:10])
            )
    return {
        s.visit: any(
            (not begin or begin <= s.day.isoformat()) and (not end or s.day.isoformat() <= end)
            for begin, end in periods.get(s.patient, [])
        )
        for s in settled
    }


def _minutes_to_payment(reader: Repository, paid_at: dict[str, datetime]) -> list[float]:
    """Minutes from each visit's last charge entered before its payment to the payment."""
    last: dict[str, datetime] = {}
    visits = sorted(paid_at)
    for i in range(0, len(visits), _BATCH):
        params = [("context", ",".join(visits[i : i + _BATCH]))]
        for item in find_all(reader, "ChargeItem", params):
            visit = reference_of(item.get("context"))
            entered = item.get("enteredDate")
            if visit not in paid_at or not entered or item.get("status") not in ON_BILL:
                continue
            when = parse_datetime(str(entered))
            if when <= paid_at[visit] and (visit not in last or when > last[visit]):
                last[visit] = when
    return [(paid_at[v] - last[v]).total_seconds() / 60 for v in visits if v in last]


def _credit(reader: Repository, organization: str | None, today: date) -> tuple[int, int]:
    """Visits on credit now, and how many of them are overdue."""
    params = [("status", "on-hold")]
    if organization:
        params.append(("owner", organization))
    open_ = overdue = 0
    for account in find_all(reader, "Account", params):
        if not identifier_value(account, VISIT_ACCOUNT):
            continue
        open_ += 1
        due = (extension(account, EXT_CREDIT_DUE) or {}).get("valueDate")
        overdue += bool(due) and date.fromisoformat(str(due)) < today
    return open_, overdue


def _nearest_rank(values: list[float], percentile: int) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(percentile / 100 * len(ordered)), 1) - 1]


def _round(minutes: float) -> float:
    return round(minutes, 1)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 2) if denominator else None


# ---------------------------------------------------------------------- MeasureReport


def to_measure_report(kpis: BillingKpis, generated: datetime) -> dict[str, Any]:
    """The KPIs as a summary MeasureReport of :data:`MEASURE`, one group per KPI.

    Counts are initial populations (the settled visits stratified by setting); a rate
    reports numerator and denominator, payments per visit the payments as numerator and the
    settled visits as denominator, the times their measure population (the timed visits).
    Scores are UCUM Quantities (``%``, ``1``, ``min``), left out where there is no
    denominator. See https://hl7.org/fhir/R4/measurereport.html.

    Args:
        kpis: the figures of :func:`billing_kpis`.
        generated: when the report was made (``MeasureReport.date``).
    """
    settled = _group("visits-settled", [population("initial-population", kpis.visits_settled)])
    settled["stratifier"] = [
        {
            "code": [{"text": "setting"}],
            "stratum": [
                {
                    "value": {"text": name},
                    "population": [population("initial-population", kpis.setting(name).settled)],
                }
                for name in SETTINGS
            ],
        }
    ]
    timed = [population("measure-population", kpis.timed)]
    return summary_report(
        MEASURE,
        fhir_datetime(generated),
        kpis.first,
        kpis.last,
        kpis.organization,
        [
            _group("visits-charged", [population("initial-population", kpis.visits_charged)]),
            settled,
            *(
                _proportion(
                    f"smart-settlement-{name}",
                    kpis.setting(name).smart,
                    kpis.setting(name).insured,
                    kpis.setting(name).smart_rate,
                    "%",
                )
                for name in SETTINGS
            ),
            _proportion(
                "payments-per-visit",
                kpis.payments,
                kpis.visits_settled,
                kpis.payments_per_visit,
                "1",
            ),
            _group("time-to-payment", timed, (kpis.median_minutes, "min")),
            _group("time-to-payment-p90", timed, (kpis.p90_minutes, "min")),
            _group("refunds", [population("initial-population", kpis.refunds)]),
            _group("credit-open", [population("initial-population", kpis.credit_open)]),
            _group("credit-overdue", [population("initial-population", kpis.credit_overdue)]),
        ],
    )


def _group(
    kpi: str, populations: list[dict[str, Any]], score: tuple[float | None, str] | None = None
) -> dict[str, Any]:
    d = next(d for d in definitions() if d["id"] == kpi)
    group: dict[str, Any] = {
        "code": {
            "coding": [{"system": KPI_SYSTEM, "code": kpi, "display": d["zh"]}],
            "text": d["en"],
        },
        "population": populations,
    }
    if score is not None and score[0] is not None:
        value, unit = score
        group["measureScore"] = {"value": value, "unit": unit, "system": _UCUM, "code": unit}
    return group


def _proportion(
    kpi: str, numerator: int, denominator: int, value: float | None, unit: str
) -> dict[str, Any]:
    populations = [population("numerator", numerator), population("denominator", denominator)]
    return _group(kpi, populations, (value, unit))
