"""$referral-kpis: the two-way referral KPIs over a period as a summary MeasureReport.

A CountyHealth operation at system level (GET or POST, it changes nothing). Inputs ``start``
and ``end`` (county days, inclusive, at most 366 days) and optionally ``organization`` (count
the referrals that institution sent or received). The KPIs and their wording are in
``countyhealth/referral/data/referral_kpis.json``; the caller needs MeasureReport read and a
role that reaches all patients' data (see :func:`countyhealth.referral.kpis.referral_kpis`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..fhir import systems
from ..fhir.measure_report import population, summary_report
from ..referral.kpis import (
    DIRECTIONS,
    KPI_SYSTEM,
    MAX_DAYS,
    MEASURE,
    ReferralKpis,
    check_period,
    definitions,
    referral_kpis,
)
from ..scheduling.calendar import fhir_datetime, local_now
from ..store import Repository
from ._kpi_params import KpiParams, kpi_definition, parse_kpi_params
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION = kpi_definition(
    "referral-kpis",
    "ReferralKpis",
    "Referrals up and down (by requesting and receiving institution and by Task status), "
    "acceptance rate, median hours to acceptance, share of down-referrals followed up within "
    f"two weeks and the year-on-year change, over whole county days (at most {MAX_DAYS}), for "
    "the county or the referrals one institution sent or received, as a summary MeasureReport "
    f"of {MEASURE}.",
)
_UCUM = "http://unitsofmeasure.org"
_TASK_STATUS = "http://hl7.org/fhir/task-status"


def parse(values: Mapping[str, list[Any]]) -> KpiParams:
    """``start``, ``end`` (dates) and ``organization`` (``Organization/id`` or ``id``)."""
    return parse_kpi_params(values, "CH-9302", check_period)


def handle(params: KpiParams, repo: Repository, ctx: OperationContext) -> OperationResult:
    kpis = referral_kpis(repo, params.first, params.last, params.organization)
    return OperationResult(to_measure_report(kpis, local_now(repo.store.clock.now_us())))


def to_measure_report(kpis: ReferralKpis, generated: datetime) -> dict[str, Any]:
    """The KPIs as a summary MeasureReport of :data:`MEASURE`, one group per KPI.

    Counts are initial populations; the referrals are stratified by direction, requesting and
    receiving institution and Task status. A proportion reports numerator and denominator,
    the time to acceptance its measure population (the timed acceptances), the year-on-year
    change this period's count as numerator and the earlier one as denominator. Scores are
    UCUM Quantities (``%``, ``h``), left out where there is no denominator.
    See https://hl7.org/fhir/R4/measurereport.html.

    Args:
        kpis: the figures of :func:`countyhealth.referral.kpis.referral_kpis`.
        generated: when the report was made (``MeasureReport.date``).
    """
    statuses = Counter(kpis.up.by_status) + Counter(kpis.down.by_status)
    referrals = _group("referrals", [population("initial-population", kpis.made)])
    referrals["stratifier"] = [
        _stratifier(
            "direction",
            [
                ({"coding": [{"system": systems.REFERRAL_DIRECTION, "code": d}]}, n)
                for d, n in ((d, kpis.direction(d).made) for d in DIRECTIONS)
            ],
        ),
        _stratifier(
            "requester",
            [({"text": f.organization}, f.up_sent + f.down_sent) for f in kpis.facilities],
        ),
        _stratifier(
            "receiver",
            [({"text": f.organization}, f.up_received + f.down_received) for f in kpis.facilities],
        ),
        _stratifier(
            "status",
            [
                ({"coding": [{"system": _TASK_STATUS, "code": s}]}, n)
                for s, n in sorted(statuses.items())
            ],
        ),
    ]
    f = kpis.follow_up
    return summary_report(
        MEASURE,
        fhir_datetime(generated),
        kpis.first,
        kpis.last,
        kpis.organization,
        [
            referrals,
            _group("up-referrals", [population("initial-population", kpis.up.made)]),
            _group("down-referrals", [population("initial-population", kpis.down.made)]),
            _proportion("acceptance-rate", kpis.accepted, kpis.decided, kpis.acceptance_rate),
            _group(
                "time-to-acceptance",
                [population("measure-population", kpis.timed)],
                (kpis.median_hours, "h"),
            ),
            _proportion("follow-up-rate", f.done, f.due, kpis.follow_up_rate),
            _proportion("year-on-year", kpis.made, kpis.previous, kpis.change),
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


def _proportion(kpi: str, numerator: int, denominator: int, value: float | None) -> dict[str, Any]:
    populations = [population("numerator", numerator), population("denominator", denominator)]
    return _group(kpi, populations, (value, "%"))


def _stratifier(name: str, strata: Iterable[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """A stratifier ``name``; an institution's stratum value is its reference as text (R4
    stratum values are CodeableConcepts)."""
    return {
        "code": [{"text": name}],
        "stratum": [
            {"value": value, "population": [population("initial-population", n)]}
            for value, n in strata
        ],
    }


OPERATION = register(Operation(DEFINITION, parse, handle))
