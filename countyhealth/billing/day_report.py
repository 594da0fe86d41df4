"""The daily reconciliation report (日对账单) of an institution: the day book's payments and
refunds as the workbook's rows, checked against the payment provider's statement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ..records.names import organization_names
from ..records.patients import patient_card
from ..security.masking import mask_name
from ..store import Repository
from .daybook import day_book
from .payments import Payment, stored_settlement
from .provider_ledger import LedgerSimulatedProvider
from .reconciliation import ProviderTotals, ReconciliationRow, reconciliation_workbook

PAYERS = ("fund", "catastrophic", "assistance", "commercial", "account", "cash")


def reconciliation_rows(
    repo: Repository, day: date, institution: str | None = None
) -> list[ReconciliationRow]:
    """The day's payments and refunds of the caller's institution (refunds negative)."""
    book = day_book(repo, day, institution)
    platform = repo.elevated()
    orgs = organization_names(platform, [o for m in book for o, _ in m.institutions])
    rows: list[ReconciliationRow] = []
    names: dict[str, str] = {}
    for m in book:
        paid = isinstance(m, Payment)
        if isinstance(m, Payment):
            visit, patient = m.encounter, m.patient
        else:
            settled = stored_settlement(platform, platform.read("Invoice", m.invoice).resource)
            visit, patient = settled.visit.removeprefix("Encounter/"), settled.patient
        if patient not in names:
            card = patient_card(platform.read("Patient", patient).resource)
            names[patient] = mask_name(str(card.get("name") or ""))
        sign = Decimal(1) if paid else Decimal(-1)
        amounts = m.amounts if isinstance(m, Payment) else m.returned
        rows.append(
            ReconciliationRow(
                time=datetime.fromisoformat(m.paid_at if isinstance(m, Payment) else m.refunded_at),
                invoice=m.invoice,
                visit=visit,
                patient=names[patient],
                institutions=tuple((orgs.get(o, o), sign * share) for o, share in m.institutions),
                kind="payment" if paid else "refund",
                provider_reference=m.transaction or "",
                **{name: sign * amounts[name] for name in ("total", *PAYERS)},
            )
        )
    return rows


def reconciliation_report(
    repo: Repository, day: date, provider: LedgerSimulatedProvider, institution: str | None = None
) -> bytes:
    """The .xlsx of the day (the provider's statement covers what it moved that day)."""
    taken, given = provider.statement(day)
    rows = reconciliation_rows(repo, day, institution)
    return reconciliation_workbook(day, rows, ProviderTotals(taken, -given))
