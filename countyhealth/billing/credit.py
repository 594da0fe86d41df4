"""Credit-based care (信用就医, 先诊疗后付费): a visit closed unpaid and paid later.

:func:`close_on_credit` closes the visit for charges (Account ``on-hold``) with the day by
which it must be paid (the ``credit-due`` extension: today + the rules' ``pay_within_days``,
:mod:`.rules`) and the cash the settlement preview expects (``credit-amount``). The visit is
paid later with :func:`~.payments.pay` like any other, which settles it on the day of payment.
The rules' ceiling caps the cash a person may owe on such visits together, and a person with
an overdue one closes no other on credit. :func:`open_visits` lists a cashier's visits that
are open or await payment, the overdue ones marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..errors import error
from ..records.query import find
from ..store import Repository
from .bills import Bill, bill_of
from .charges import charges_of
from .payments import billable, may_pay
from .preview import compute
from .records import (
    EXT_CREDIT_AMOUNT,
    EXT_CREDIT_DUE,
    VISIT_ACCOUNT,
    extension,
    identifier_value,
    money_of,
    reference_of,
)
from .rules import credit_rules
from .visits import (
    encounter_id_of,
    load_visit,
    now_of,
    read_encounter,
    reload,
    require_staff,
    set_account_state,
)


@dataclass(frozen=True, slots=True)
class OpenVisit:
    """A visit with charges not yet settled: ``open``, or ``credit`` until ``due``."""

    encounter: str
    patient: str
    account: str
    state: str
    opened: str
    due: date | None
    owed: Decimal | None
    overdue: bool


def close_on_credit(repo: Repository, encounter_id: str) -> Bill:
    """Close the visit unpaid, to be paid within the rules' days.

    Raises:
        OperationOutcomeError: CH-9402 (not open), CH-9405 (nothing to settle), CH-9401 (the
            person has an overdue credit visit, or would owe more than the ceiling), CH-9408,
            CH-2001, CH-4003/CH-4004.
    """
    may_pay(repo)
    eid = encounter_id_of(encounter_id)
    encounter = read_encounter(repo, eid)
    platform = repo.elevated()
    visit = load_visit(platform, encounter)
    now = now_of(repo)
    today = now.date()
    rules = credit_rules(today)
    with platform.transaction():
        platform.lock("Patient", visit.patient)
        visit = reload(platform, visit)
        if visit.state != "open":
            raise error("CH-9402", f"Encounter/{visit.id} is {visit.state}, not open", "encounter")
        due = billable(charges_of(platform, visit))
        if not due:
            raise error("CH-9405", f"Encounter/{visit.id} has no charges to settle")
        cash = compute(platform, visit, due, today).settlement.cash
        owing = _on_credit(platform, visit.patient, today)
        late = [v for v in owing if v.due is not None and v.due < today]
        if late:
            raise error(
                "CH-9401",
                f"Patient/{visit.patient} has a visit on credit overdue since "
                f"{late[0].due}: pay it first",
                "encounter",
            )
        owed = sum((v.owed or Decimal(0) for v in owing), Decimal("0.00"))
        if owed + cash > rules.credit_ceiling:
            raise error(
                "CH-9401",
                f"on credit the patient would owe {owed + cash} yuan, more than the "
                f"{rules.credit_ceiling} allowed: pay now",
                "encounter",
            )
        set_account_state(
            platform,
            visit,
            "on-hold",
            now,
            due=today + timedelta(days=rules.pay_within_days),
            owed=cash,
        )
        visit = reload(platform, visit)
    return bill_of(platform, visit, today)


def _open_visit(account: dict[str, Any], today: date) -> OpenVisit:
    due_ext = extension(account, EXT_CREDIT_DUE)
    owed_ext = extension(account, EXT_CREDIT_AMOUNT)
    due = date.fromisoformat(str(due_ext["valueDate"])) if due_ext else None
    subjects = account.get("subject") or []
    return OpenVisit(
        encounter=identifier_value(account, VISIT_ACCOUNT) or "",
        patient=reference_of(subjects[0] if subjects else None).removeprefix("Patient/"),
        account=f"Account/{account['id']}",
        state="credit" if account.get("status") == "on-hold" else "open",
        opened=str((account.get("servicePeriod") or {}).get("start") or ""),
        due=due,
        owed=money_of(owed_ext.get("valueMoney")) if owed_ext else None,
        overdue=due is not None and due < today,
    )


def _on_credit(platform: Repository, patient: str, today: date) -> list[OpenVisit]:
    found = find(
        platform, "Account", [("subject", f"Patient/{patient}"), ("status", "on-hold")], count=200
    )
    return [_open_visit(a, today) for a in found.resources if identifier_value(a, VISIT_ACCOUNT)]


def open_visits(
    repo: Repository, institution: str | None = None, count: int = 200
) -> list[OpenVisit]:
    """The visits of the caller's institution that are open or closed on credit, oldest first
    (the cashier's list; a caller bound to no institution names one, or sees all).

    Raises:
        OperationOutcomeError: CH-4003 for callers who do not settle visits.
    """
    require_staff(repo, "list open visits")
    may_pay(repo)
    org = repo.caller.organization or (
        f"Organization/{institution.removeprefix('Organization/')}" if institution else None
    )
    params = [("status", "active,on-hold")]
    if org:
        params.append(("owner", org))
    found = find(repo.elevated(), "Account", params, count=count)
    today = now_of(repo).date()
    visits = [_open_visit(a, today) for a in found.resources if identifier_value(a, VISIT_ACCOUNT)]
    return sorted(visits, key=lambda v: (v.opened, v.encounter))
