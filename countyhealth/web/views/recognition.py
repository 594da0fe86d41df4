"""Ordering a test with the mutual-recognition check (检查检验结果互认), and its KPI page.

``/app/patients/{id}/orders`` lists the catalogue items a clinician may order for the patient;
ordering files the ServiceRequest and runs the check (:mod:`countyhealth.recognition`).
``/app/orders/{id}`` shows the order with the qualifying results of other institutions (HR
mark, issuer, age, value): the clinician accepts one — the order is completed by reference to
it — or re-tests with one of the six national reasons. ``/app/reports/recognition`` shows the
KPIs; the same figures are a MeasureReport at ``/fhir/$recognition-kpis``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...errors import OperationOutcomeError
from ...recognition import (
    CheckResult,
    OrderRecognition,
    catalogue,
    check_order,
    place_order,
    recognise,
    recognition_check,
    recognition_kpis,
    retest,
)
from ...recognition.kpis import definitions
from ...recognition.orders import order_codes, order_patient
from ...records.patients import patient_card
from ...scheduling.calendar import local_now
from ...store import Repository
from ..rendering import Page, render
from ..routing import PageRoute, after_post, repository
from ._period import day_param

router = APIRouter(
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    dependencies=[Depends(require_caller)],
    tags=["web"],
    include_in_schema=False,
)


def _items(repo: Repository) -> list[dict[str, Any]]:
    today = local_now(repo.store.clock.now_us()).date()
    table = catalogue(repo.store.settings)
    items = sorted(table.items_on(today), key=lambda i: (not i.recognisable, i.kind, i.code))
    return [
        {
            "code": i.code,
            "name": i.name,
            "en": i.en,
            "kind": i.kind,
            "window": i.window_days,
        }
        for i in items
    ]


def _orders_page(repo: Repository, patient_id: str, **extra: Any) -> Page:
    patient = repo.read("Patient", patient_id[:64]).resource
    data = {
        "patient": {"id": patient["id"], **patient_card(patient)},
        "items": _items(repo),
        **extra,
    }
    return Page("recognition/orders", "recognition.orders.title", data)


@router.get("/app/patients/{patient_id}/orders")
def orders(request: Request, patient_id: str) -> Response:
    return render(request, _orders_page(repository(request), patient_id))


@router.post("/app/patients/{patient_id}/orders")
def order(
    request: Request, patient_id: str, item: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    repo = repository(request)
    try:
        stored = place_order(repo, patient_id[:64], item)
    except OperationOutcomeError as exc:
        page = _orders_page(repo, patient_id, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    check_order(repo, stored.id)
    page = _order_page(repo, stored.id, notice="recognition.order.placed")
    return after_post(request, page, f"/app/orders/{stored.id}")


def _suggestions(result: CheckResult) -> list[dict[str, Any]]:
    return [
        {
            "report": s.report,
            "observation": s.observation,
            "organization": s.organization_name,
            "effective": s.effective.date().isoformat(),
            "ageDays": s.age_days,
            "value": s.value,
            "mark": s.mark,
        }
        for s in result.suggestions
    ]


def _order_page(repo: Repository, order_id: str, **extra: Any) -> Page:
    stored = repo.read("ServiceRequest", order_id[:64])
    order = stored.resource
    record = OrderRecognition.of(order)
    codes = order_codes(order)
    patient_id = order_patient(order)
    open_order = order.get("status") == "active" and not (record and record.decided)
    result = recognition_check(repo, patient_id, codes) if open_order else None
    table = catalogue(repo.store.settings)
    data = {
        "order": {
            "id": stored.id,
            "patient": patient_id,
            "name": (order.get("code") or {}).get("text") or (codes[0][1] if codes else ""),
            "status": order.get("status"),
            "authored": order.get("authoredOn"),
            "outcome": record.outcome if record else None,
            "result": record.result if record else None,
            "reason": record.reason if record else None,
            "note": record.note if record else None,
            "window": result.item.window_days if result and result.item else None,
        },
        "open": open_order,
        "suggestions": _suggestions(result) if result else [],
        "reasons": [
            {"code": r.code, "zh": r.zh, "en": r.en, "needsText": r.needs_text}
            for r in table.reasons
        ],
        **extra,
    }
    return Page("recognition/order", "recognition.order.title", data)


@router.get("/app/orders/{order_id}")
def order_page(request: Request, order_id: str) -> Response:
    return render(request, _order_page(repository(request), order_id))


def _decided(request: Request, order_id: str, decide: Any) -> Response:
    repo = repository(request)
    order_id = order_id[:64]
    try:
        decide(repo, order_id)
    except OperationOutcomeError as exc:
        page = _order_page(repo, order_id, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    page = _order_page(repo, order_id, notice="recognition.order.decided")
    return after_post(request, page, f"/app/orders/{order_id}")


@router.post("/app/orders/{order_id}/recognise")
def accept(
    request: Request, order_id: str, result: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    return _decided(request, order_id, lambda repo, oid: recognise(repo, oid, result))


@router.post("/app/orders/{order_id}/retest")
def test_again(
    request: Request,
    order_id: str,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return _decided(request, order_id, lambda repo, oid: retest(repo, oid, reason, note))


@router.get("/app/reports/recognition")
def recognition_report(
    request: Request,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    organization: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    repo = repository(request)
    today = local_now(repo.store.clock.now_us()).date()
    first = day_param(start, today - timedelta(days=29), "start", "CH-9201")
    last = day_param(end, today, "end", "CH-9201")
    org = f"Organization/{organization.removeprefix('Organization/')}" if organization else None
    kpis = recognition_kpis(repo, first, last, org)
    table = catalogue(repo.store.settings)
    names = {d["id"]: d for d in definitions()}
    data = {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "organization": organization or "",
        "reference": names["recognition-rate"]["reference"],
        "rate": kpis.rate,
        "recognised": kpis.recognised,
        "recognisable": kpis.recognisable,
        "checked": kpis.checked,
        "avoided": f"{kpis.avoided:.2f}",
        "lookups": kpis.lookups,
        "retests": [
            {"code": r.code, "zh": r.zh, "en": r.en, "count": kpis.retests.get(r.code, 0)}
            for r in table.reasons
        ],
    }
    return render(request, Page("reports/recognition", "report.recognition.title", data))
