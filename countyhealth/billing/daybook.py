"""The day book: the payments and refunds an institution recorded on one county day, read
back from their PaymentReconciliations (for the cashier's day-end and the reconciliation
report, :mod:`.reconciliation`).
"""

from __future__ import annotations

from datetime import date, time, timedelta

from ..records.query import find_all
from ..scheduling.calendar import at
from ..store import Repository
from .payments import Payment, may_pay, payment_of
from .records import IDEMPOTENCY_KEY, identifier_value, local_id
from .refunds import Refund, refund_of
from .visits import require_staff


def day_book(repo: Repository, day: date, institution: str | None = None) -> list[Payment | Refund]:
    """The payments and refunds recorded on county ``day``, oldest first: the caller's
    institution's (a caller bound to none names one, or gets all).

    Raises:
        OperationOutcomeError: CH-4003 for callers who do not settle visits.
    """
    require_staff(repo, "read the day book")
    may_pay(repo)
    org = repo.caller.organization or (
        f"Organization/{local_id(institution, 'Organization')}" if institution else None
    )
    start = at(day, time()).isoformat()
    end = at(day + timedelta(days=1), time()).isoformat()
    params = [("created", f"ge{start}"), ("created", f"lt{end}")]
    if org:
        params.append(("requestor", org))
    platform = repo.elevated()
    out: list[Payment | Refund] = []
    for record in find_all(platform, "PaymentReconciliation", params):
        if not identifier_value(record, IDEMPOTENCY_KEY):
            continue  # not a payment of a visit (e.g. an insurer's batch)
        kinds = {
            c.get("code")
            for d in record.get("detail") or []
            for c in (d.get("type") or {}).get("coding") or []
        }
        out.append(
            refund_of(platform, record) if "adjustment" in kinds else payment_of(platform, record)
        )
    return sorted(
        out,
        key=lambda m: (m.paid_at if isinstance(m, Payment) else m.refunded_at, m.reconciliation),
    )
