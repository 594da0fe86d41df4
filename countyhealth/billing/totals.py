"""A person's running totals per year, derived from the settlements stored for them.

Nothing keeps a counter: the totals of a year are ``Totals.zero(year)`` plus the increments of
every settlement of that year that stands (ClaimResponse ``active``). A refund reverses its
settlement (``cancelled``) and settles what remains with the totals the first one started
from, so the year's totals become what they would have been had the refunded part never been
settled; a later settlement of the same charges brings them back to where they were.
Settlements made after the reversed one keep their amounts (as in the national system, a
reversal does not reopen later settlements).

The services read the ledger inside their unit of work, after taking the lock on the patient,
so two settlements of one person cannot both start from the same totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..records.query import find_all
from ..scheduling.calendar import parse_datetime
from ..store import Repository
from .engine_types import Totals
from .records import local_id, reference_of
from .settlements import StoredSettlement, is_settlement, read_settlement


@dataclass(frozen=True, slots=True)
class Ledger:
    """The standing settlements of one person."""

    patient: str
    settlements: tuple[StoredSettlement, ...]

    def totals(self, year: int, without: str | None = None) -> Totals:
        """The running totals of ``year`` (leaving out settlement ``without``)."""
        out = Totals.zero(year)
        for s in self.settlements:
            if s.year == year and s.id != without:
                out = out.plus(s.increments)
        return out

    def account_spent_since(self, as_of: str, without: str | None = None) -> Decimal:
        """What the personal account paid in settlements made after ``as_of``."""
        since = parse_datetime(as_of) if as_of else None
        spent = Decimal("0.00")
        for s in self.settlements:
            if s.id == without:
                continue
            if since is None or parse_datetime(s.created) > since:
                spent += s.amounts["account"]
        return spent


def ledger_of(platform: Repository, patient: str) -> Ledger:
    """The person's standing settlements (read through the platform)."""
    responses = [
        r
        for r in find_all(
            platform,
            "ClaimResponse",
            [("patient", f"Patient/{patient}"), ("status", "active")],
        )
        if is_settlement(r)
    ]
    claims = {}
    ids = [reference_of(r.get("request")).removeprefix("Claim/") for r in responses]
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        for claim in find_all(platform, "Claim", [("_id", ",".join(chunk))]):
            claims[str(claim["id"])] = claim
    settlements = tuple(
        sorted(
            (read_settlement(r, claims.get(i, {})) for r, i in zip(responses, ids, strict=True)),
            key=lambda s: (s.created, s.id),
        )
    )
    return Ledger(patient, settlements)


def running_totals(repo: Repository, patient: str, year: int) -> Totals:
    """The running totals of ``patient`` in ``year`` (the caller must see the patient)."""
    pid = local_id(patient, "Patient")
    repo.read("Patient", pid)
    return ledger_of(repo.elevated(), pid).totals(year)
