"""The mutual-recognition KPIs (``data/recognition_kpis.json``) from the orders' recognition
records (:mod:`.order_record`), for the bureau's page and as a summary FHIR MeasureReport
(https://hl7.org/fhir/R4/measurereport.html).

The reads run for the platform in aggregate mode (:meth:`Repository.elevated`): the
AuditEvents record the queries without naming every counted patient, so only counts and sums
leave this module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ..errors import forbidden
from ..fhir import systems
from ..fhir.measure_report import population, summary_report
from ..records.query import find_all
from ..scheduling.calendar import at, fhir_datetime
from ..scheduling.calendar import check_period as period_check
from ..store import Repository
from .catalogue import catalogue
from .order_record import OrderRecognition

MAX_DAYS = 366
KPI_SYSTEM = f"{systems.BASE}/CodeSystem/recognition-kpi"
MEASURE = f"{systems.BASE}/Measure/recognition-kpis"
_DATA = Path(__file__).parent / "data" / "recognition_kpis.json"


@cache
def definitions() -> tuple[dict[str, Any], ...]:
    """The KPI definitions in report order."""
    return tuple(orjson.loads(_DATA.read_bytes())["kpis"])


@dataclass(frozen=True, slots=True)
class RecognitionKpis:
    """The figures over ``first``..``last`` (county days, inclusive) for one institution or
    the county."""

    first: date
    last: date
    organization: str | None
    checked: int  # orders of a catalogue item the check ran for
    recognisable: int
    recognised: int
    retests: dict[str, int]  # by national reason code
    avoided: Decimal
    lookups: int

    @property
    def rate(self) -> float | None:
        """Recognised / recognisable orders, percent to one decimal."""
        return round(100 * self.recognised / self.recognisable, 1) if self.recognisable else None


def check_period(first: date, last: date) -> None:
    """CH-9201 unless ``first``..``last`` is a period of 1 to :data:`MAX_DAYS` days."""
    period_check(first, last, "CH-9201", MAX_DAYS)


def recognition_kpis(
    repo: Repository, first: date, last: date, organization: str | None = None
) -> RecognitionKpis:
    """The KPIs over the county days ``first``..``last`` (inclusive); ``organization``
    (``Organization/id``) counts the orders one institution filed, None the county's.

    Raises:
        OperationOutcomeError: CH-4003 without MeasureReport read, CH-4013-like forbidden for a
            role that does not reach all patients' data, CH-9201 for a bad period.
    """
    repo.require("MeasureReport", "read")
    if repo.caller.access != "all" and repo.caller.kind != "system":
        raise forbidden("the recognition KPIs are for roles that reach all patients' data")
    check_period(first, last)
    reader = repo.elevated(aggregate=True)
    start = at(first, time(0, 0))
    end = at(last + timedelta(days=1), time(0, 0))
    params = [("authored", f"ge{fhir_datetime(start)}"), ("authored", f"lt{fhir_datetime(end)}")]
    if organization is not None:
        custodian = organization.removeprefix("Organization/")
        params.append(("_tag", f"{systems.CUSTODIAN}|{custodian}"))
    checked = recognisable = recognised = lookups = 0
    retests: Counter[str] = Counter()
    avoided = Decimal("0.00")
    for order in find_all(reader, "ServiceRequest", params):
        record = OrderRecognition.of(order)
        if record is None:
            continue
        checked += 1
        lookups += len(record.candidates)
        if not record.candidates:
            continue
        recognisable += 1
        if record.outcome == "recognised":
            recognised += 1
            avoided += record.avoided or Decimal("0.00")
        elif record.outcome == "retest" and record.reason:
            retests[record.reason] += 1
    reasons = {r.code: retests.get(r.code, 0) for r in catalogue(repo.store.settings).reasons}
    return RecognitionKpis(
        first, last, organization, checked, recognisable, recognised, reasons, avoided, lookups
    )


def _group(kpi: str) -> dict[str, Any]:
    d = next(d for d in definitions() if d["id"] == kpi)
    return {
        "code": {
            "coding": [{"system": KPI_SYSTEM, "code": kpi, "display": d["zh"]}],
            "text": d["en"],
        }
    }


def to_measure_report(kpis: RecognitionKpis, generated: datetime) -> dict[str, Any]:
    """The KPIs as a summary MeasureReport of :data:`MEASURE`: the rate as a proportion, the
    re-tests stratified by reason, the avoided cost (CNY, ISO 4217) and the look-ups."""
    rate = _group("recognition-rate")
    rate["population"] = [
        population("numerator", kpis.recognised),
        population("denominator", kpis.recognisable),
    ]
    if kpis.rate is not None:
        rate["measureScore"] = {
            "value": kpis.rate,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        }
    retests = _group("retests")
    retests["population"] = [population("initial-population", sum(kpis.retests.values()))]
    retests["stratifier"] = [
        {
            "code": [{"coding": [{"system": systems.RETEST_REASON}], "text": "reason"}],
            "stratum": [
                {
                    "value": {"coding": [{"system": systems.RETEST_REASON, "code": code}]},
                    "population": [population("initial-population", count)],
                }
                for code, count in kpis.retests.items()
            ],
        }
    ]
    avoided = _group("avoided-cost")
    avoided["population"] = [population("measure-population", kpis.recognised)]
    avoided["measureScore"] = {
        "value": float(kpis.avoided),
        "unit": "CNY",
        "system": "urn:iso:std:iso:4217",
        "code": "CNY",
    }
    lookups = _group("lookups")
    lookups["population"] = [population("initial-population", kpis.lookups)]
    return summary_report(
        MEASURE,
        fhir_datetime(generated),
        kpis.first,
        kpis.last,
        kpis.organization,
        [rate, retests, avoided, lookups],
    )
