"""Pay at most once (最多付一次): one settlement per visit with the 医保 split.

Charges accumulate on a visit across departments and institutions (:mod:`.charges`); the
engine splits them the way the national 医保 platform reports a settlement, under dated policy
per insurance area, scheme and year (:mod:`.engine`, :mod:`.policy`); :func:`pay` settles
once, idempotently, through a payment provider (:mod:`.provider`, a simulated one ships),
:func:`refund` gives back part or all and settles the rest; running totals per person and year
are derived from the standing settlements (:mod:`.totals`). The e-invoice (:mod:`.invoice_pdf`)
and the daily reconciliation workbook (:mod:`.reconciliation`) are the documents.
docs/billing.md describes it.
"""

from .bills import Bill, BillLine, bill
from .charges import add_charge
from .credit import OpenVisit, close_on_credit, open_visits
from .daybook import day_book
from .engine import SPLIT_FIELDS, Settlement, settle
from .engine_types import ChargeLine, Insured, Totals, VisitContext
from .kpis import BillingKpis, billing_kpis
from .payments import Payment, pay
from .policy import PolicyError, policy_for
from .prices import price_catalogue, price_item
from .provider import PaymentProvider, Receipt, SimulatedProvider
from .provider_ledger import LedgerSimulatedProvider, payment_provider
from .refunds import Refund, refund
from .totals import running_totals

__all__ = [
    "SPLIT_FIELDS",
    "Bill",
    "BillLine",
    "BillingKpis",
    "ChargeLine",
    "Insured",
    "LedgerSimulatedProvider",
    "OpenVisit",
    "Payment",
    "PaymentProvider",
    "PolicyError",
    "Receipt",
    "Refund",
    "Settlement",
    "SimulatedProvider",
    "Totals",
    "VisitContext",
    "add_charge",
    "bill",
    "billing_kpis",
    "close_on_credit",
    "day_book",
    "open_visits",
    "pay",
    "payment_provider",
    "policy_for",
    "price_catalogue",
    "price_item",
    "refund",
    "running_totals",
    "settle",
]
