"""Pay at most once (最多付一次): the resident's bills and the cashier's desk (docs/billing.md).

- ``/app/me/bills``: the resident's visits with charges (their own and their wards').
- ``/app/bills/{encounter}``: one visit's bill — the lines of every institution, the 医保 split
  explained line by line, pay (resident online, cashier at the desk), close on credit
  (信用就医), refund (cashier), the e-invoice ``/app/invoices/{id}.pdf``.
- ``/app/billing``: the cashier's open visits and the daily reconciliation workbook
  ``/app/billing/reconciliation.xlsx?day=``.
Every page answers as an htmx fragment and as JSON (``?format=json``).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from ...api.principal import require_caller
from ...billing import (
    Bill,
    add_charge,
    bill,
    close_on_credit,
    open_visits,
    pay,
    payment_provider,
    price_catalogue,
    refund,
)
from ...billing.day_report import reconciliation_report
from ...billing.invoice_pdf import render_invoice_pdf
from ...billing.invoice_view import invoice_document
from ...errors import OperationOutcomeError, error
from ...identity.card_use import use_code
from ...records.names import organization_names
from ...records.patients import patient_card
from ...records.query import find
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
#: the payers other than the patient (the bill's 医保/商保 column)
_INSURERS = ("fund", "catastrophic", "assistance", "commercial")


def _today(repo: Repository) -> date:
    return local_now(repo.store.clock.now_us()).date()


def _provider(repo: Repository, merchant: str) -> Any:
    return payment_provider(repo.store.settings, repo.store.clock.now_us, merchant)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _bill_data(repo: Repository, found: Bill) -> dict[str, Any]:
    names = organization_names(
        repo, [found.institution, *(line.organization for line in found.lines)]
    )
    patient = repo.read("Patient", found.patient).resource
    caller = repo.caller
    staff = caller.access != "compartment"
    return {
        "encounter": found.encounter,
        "patient": patient_card(patient, "full-identifiers" in caller.privileges),
        "institution": names.get(found.institution, found.institution),
        "state": found.state,
        "preview": found.preview,
        "facilityLevel": found.facility_level,
        "lines": [
            {
                "charge": line.charge,
                "code": line.code,
                "name": line.name,
                "class": line.item_class,
                "quantity": str(line.quantity),
                "refunded": str(line.refunded),
                "unitPrice": str(line.unit_price),
                "institution": line.organization_name or names.get(line.organization, ""),
                "status": line.status,
                "amounts": {k: _money(v) for k, v in line.amounts.items()},
                "insurance": _money(sum((line.amounts[k] for k in _INSURERS), Decimal(0))),
                "self": _money(line.amounts["account"] + line.amounts["cash"]),
            }
            for line in found.lines
        ],
        "amounts": {k: _money(v) for k, v in found.amounts.items()},
        "explain": list(found.explain),
        "toPay": _money(found.to_pay),
        "invoice": found.invoice.removeprefix("Invoice/") if found.invoice else None,
        "creditDue": found.credit_due.isoformat() if found.credit_due else None,
        "overdue": found.overdue,
        "key": str(uuid.uuid4()),  # this rendering's idempotency key: a double click pays once
        "staff": staff,
        "items": [{"code": i.code, "name": i.name} for i in _items(repo)] if staff else [],
    }


def _items(repo: Repository) -> list[Any]:
    """The price items a charge may name today (one per code)."""
    seen: dict[str, Any] = {}
    for item in price_catalogue().items_on(_today(repo)):
        seen.setdefault(item.code, item)
    return list(seen.values())


def _bill_page(repo: Repository, encounter: str, **extra: Any) -> Page:
    data = _bill_data(repo, bill(repo, encounter[:64]))
    return Page("billing/bill", "billing.bill.title", {**data, **extra})


@router.get("/app/me/bills")
def my_bills(request: Request) -> Response:
    repo = repository(request)
    patients = list(repo.caller.patients)
    visits: list[dict[str, Any]] = []
    if patients:
        accounts = find(
            repo,
            "Account",
            [("patient", ",".join(f"Patient/{p}" for p in patients)), ("_sort", "-_lastUpdated")],
            count=50,
        ).resources
        for account in accounts:
            encounter = next(
                (str(i.get("value")) for i in account.get("identifier") or [] if i.get("value")),
                "",
            )
            if not encounter:
                continue
            found = bill(repo, encounter)
            visits.append(
                {
                    "encounter": encounter,
                    "state": found.state,
                    "total": _money(found.amounts.get("total", Decimal(0))),
                    "toPay": _money(found.to_pay),
                    "opened": (account.get("servicePeriod") or {}).get("start"),
                }
            )
    return render(request, Page("billing/my_bills", "billing.my.title", {"visits": visits}))


@router.get("/app/bills/{encounter}")
def bill_page(request: Request, encounter: str) -> Response:
    return render(request, _bill_page(repository(request), encounter))


def _after(request: Request, repo: Repository, encounter: str, work: Any, notice: str) -> Response:
    try:
        work()
    except OperationOutcomeError as exc:
        page = _bill_page(repo, encounter, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    page = _bill_page(repo, encounter, notice=notice)
    return after_post(request, page, f"/app/bills/{encounter}")


@router.post("/app/bills/{encounter}/pay")
def pay_bill(
    request: Request, encounter: str, key: Annotated[str, Form(max_length=80)] = ""
) -> Response:
    repo = repository(request)
    encounter = encounter[:64]

    def work() -> None:
        if not key.strip():
            raise error("CH-9401", "the payment form carries no idempotency key", "key")
        merchant = bill(repo, encounter).institution
        pay(repo, encounter, key.strip(), _provider(repo, merchant))

    return _after(request, repo, encounter, work, "billing.notice.paid")


@router.post("/app/bills/{encounter}/credit")
def credit(request: Request, encounter: str) -> Response:
    repo = repository(request)
    encounter = encounter[:64]
    return _after(
        request, repo, encounter, lambda: close_on_credit(repo, encounter), "billing.notice.credit"
    )


@router.post("/app/bills/{encounter}/charges")
def charge(
    request: Request,
    encounter: str,
    code: Annotated[str, Form(max_length=40)] = "",
    quantity: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    repo = repository(request)
    encounter = encounter[:64]
    return _after(
        request,
        repo,
        encounter,
        lambda: add_charge(repo, encounter, code, quantity.strip()),
        "billing.notice.charged",
    )


@router.post("/app/invoices/{invoice}/refund")
async def refund_invoice(request: Request, invoice: str) -> Response:
    repo = repository(request)
    form = await request.form()
    items = [str(v)[:80] for v in form.getlist("item")]
    reason = str(form.get("reason") or "")[:200]
    key = str(form.get("key") or "")[:80]
    invoice = invoice[:64]
    current = repo.read("Invoice", invoice).resource
    encounter = _encounter_of(repo, current)

    def work() -> None:
        if not items:
            raise error("CH-9401", "choose the items to refund", "item")
        if not reason.strip():
            raise error("CH-9401", "a refund needs a reason", "reason")
        merchant = str((current.get("issuer") or {}).get("reference") or "")
        refund(
            repo,
            invoice,
            items,
            idempotency_key=key or str(uuid.uuid4()),
            reason=reason,
            provider=_provider(repo, merchant),
        )

    return _after(request, repo, encounter, work, "billing.notice.refunded")


def _encounter_of(repo: Repository, invoice: dict[str, Any]) -> str:
    account = str((invoice.get("account") or {}).get("reference") or "")
    if account.startswith("Account/"):
        body = repo.elevated().read("Account", account.removeprefix("Account/")).resource
        for ident in body.get("identifier") or []:
            if ident.get("value"):
                return str(ident["value"])
    raise error("CH-9401", "the invoice names no visit", "invoice")


@router.get("/app/invoices/{invoice}.pdf")
def invoice_pdf(request: Request, invoice: str) -> Response:
    repo = repository(request)
    invoice = invoice[:64]
    current = repo.read("Invoice", invoice).resource
    url = str(request.url_for("bill_page", encounter=_encounter_of(repo, current)))
    pdf = render_invoice_pdf(invoice_document(repo, invoice, url))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="invoice-{invoice}.pdf"'},
    )


def _desk_page(repo: Repository, patient: str | None = None, **extra: Any) -> Page:
    """The cashier's open visits; with ``patient`` (``Patient/id``, from a scanned card) only
    that resident's."""
    visits = [v for v in open_visits(repo) if patient is None or v.patient == patient]
    names = {}
    if visits:
        for person in find(
            repo.elevated(), "Patient", [("_id", ",".join({v.patient for v in visits}))], count=200
        ).resources:
            names[str(person["id"])] = str(patient_card(person).get("name") or "")
    data = {
        "today": _today(repo).isoformat(),
        "scanned": patient,
        "visits": [
            {
                "encounter": v.encounter,
                "patient": v.patient,
                "patientName": names.get(v.patient.removeprefix("Patient/"), v.patient),
                "state": v.state,
                "opened": v.opened,
                "due": v.due.isoformat() if v.due else None,
                "owed": _money(v.owed) if v.owed is not None else None,
                "overdue": v.overdue,
            }
            for v in visits
        ],
        **extra,
    }
    return Page("billing/desk", "billing.desk.title", data)


@router.get("/app/billing")
def desk(request: Request) -> Response:
    return render(request, _desk_page(repository(request)))


@router.post("/app/billing/scan")
def desk_scan(
    request: Request,
    code: Annotated[str, Form(max_length=400)],
    pin: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """The resident shows the e-health card's code at the cash desk: their open visits, the
    use logged for the channel ``payment``."""
    repo = repository(request)
    try:
        use = use_code(repo, code.strip(), channel="payment", pin=pin or None)
    except OperationOutcomeError as exc:
        page = _desk_page(repo, problem=exc.issues[0].diagnostics, code=exc.code)
        page.status = exc.status
        return render(request, page)
    return render(request, _desk_page(repo, f"Patient/{use.patient_id}"))


@router.get("/app/billing/reconciliation.xlsx")
def reconciliation(
    request: Request, day: Annotated[str | None, Query(max_length=10)] = None
) -> Response:
    repo = repository(request)
    chosen = day_param(day, _today(repo), "day", "CH-9401")
    merchant = repo.caller.organization or ""
    if not merchant:
        raise error("CH-9401", "the reconciliation is per institution: sign in as its cashier")
    workbook = reconciliation_report(repo, chosen, _provider(repo, merchant))
    return Response(
        workbook,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{chosen.isoformat()}.xlsx"'
        },
    )
