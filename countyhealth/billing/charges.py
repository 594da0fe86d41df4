"""Charges of a visit: ChargeItems that accumulate on the Encounter across departments and
member institutions, without payment at each step (https://hl7.org/fhir/R4/chargeitem.html).

A charge names the price-catalogue item (``code``), the quantity, the institution that
performed the service (``performingOrganization``; the lab of a township centre may charge a
visit held by the county hospital) and the visit (``context``). The unit price, the 医保 item
class and the name come from the catalogue version in force on the day of the charge
(:mod:`.prices`) and are kept on the ChargeItem (``priceOverride``, the ``charge-item-class``
extension), so that the bill does not change when the catalogue does. Status ``billable``
until the visit is settled (``billed``); a ChargeItem refunded in full is ``aborted``, a part
refunded is counted in the ``refunded-quantity`` extension.

Who may charge: staff whose role records services on a visit (``ChargeItem`` create, or
``Encounter`` update as clinicians and nurses have) for their own institution; residents
never. The Encounter is read for the platform: the performing department of another member
institution needs the visit number, not the visit's record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import OperationOutcomeError, error, forbidden, not_found
from ..fhir.consent_grants import with_custodian
from ..records.query import find_all
from ..store import Repository, Stored
from .prices import PriceItem, price_item
from .records import (
    EXT_ITEM_CLASS,
    EXT_REFUNDED_QUANTITY,
    ITEM_CLASS,
    PRICE_ITEM,
    code_in,
    coding,
    decimal_of,
    extension,
    local_id,
    money,
    money_of,
    number,
    ref,
    reference_of,
    version_of,
)
from .visits import (
    Visit,
    encounter_id_of,
    load_visit,
    now_of,
    open_account,
    reload,
    require_open,
    require_staff,
)

CLASS_NAMES = {"A": "甲类", "B": "乙类", "C": "丙类"}
MAX_QUANTITY = Decimal("9999")
QUANTITY_PLACES = 3
#: ChargeItem states that belong on the bill of the visit
ON_BILL = frozenset({"billable", "billed", "aborted"})


@dataclass(frozen=True, slots=True)
class Charge:
    """A ChargeItem as the bill reads it; ``quantity`` is what was charged,
    ``refunded`` what was given back since."""

    id: str
    version: int
    status: str
    code: str
    name: str
    item_class: str
    quantity: Decimal
    refunded: Decimal
    unit_price: Decimal
    organization: str
    organization_name: str
    entered: str
    resource: dict[str, Any]

    @property
    def reference(self) -> str:
        return f"ChargeItem/{self.id}"

    @property
    def remaining(self) -> Decimal:
        """The quantity still charged (not refunded)."""
        return self.quantity - self.refunded


def charge_of(body: dict[str, Any]) -> Charge:
    """Read a stored ChargeItem."""
    refunded = extension(body, EXT_REFUNDED_QUANTITY)
    performer = body.get("performingOrganization") or {}
    return Charge(
        id=str(body["id"]),
        version=version_of(body),
        status=str(body.get("status")),
        code=code_in(body.get("code"), PRICE_ITEM) or "",
        name=str((body.get("code") or {}).get("text") or ""),
        item_class=str((extension(body, EXT_ITEM_CLASS) or {}).get("valueCoding", {}).get("code")),
        quantity=decimal_of((body.get("quantity") or {}).get("value", 0)),
        refunded=decimal_of(refunded["valueDecimal"]) if refunded else Decimal(0),
        unit_price=money_of(body.get("priceOverride")),
        organization=reference_of(performer),
        organization_name=str(performer.get("display") or ""),
        entered=str(body.get("enteredDate") or ""),
        resource=body,
    )


def instant(now: datetime) -> str:
    """A FHIR dateTime to the microsecond: the bill lists charges in the order they came."""
    return now.isoformat(timespec="microseconds")


def quantity_of(value: object) -> Decimal:
    """A charge quantity: a positive decimal (int, Decimal or decimal text; a binary float is
    refused so that no amount passes through one), at most 3 places, at most 9999."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise error(
            "CH-9401",
            f"the quantity must be a number written as digits, not {value!r}"[:200],
            "quantity",
        )
    try:
        quantity = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise error(
            "CH-9401", f"the quantity {str(value)[:40]!r} is not a number", "quantity"
        ) from None
    if not quantity.is_finite():
        raise error("CH-9401", f"the quantity {value!r} is not a finite number", "quantity")
    if quantity <= 0:
        raise error("CH-9401", f"the quantity must be above zero, not {quantity}", "quantity")
    exponent = quantity.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 0
    if quantity > MAX_QUANTITY or places > QUANTITY_PLACES:
        raise error(
            "CH-9401",
            f"the quantity {quantity} must be at most {MAX_QUANTITY} with at most "
            f"{QUANTITY_PLACES} decimals",
            "quantity",
        )
    return quantity


def catalogue_item(code: str, day: datetime) -> PriceItem:
    """The catalogue item ``code`` in force on ``day`` (CH-9401 malformed, CH-9403 unknown)."""
    text = (code or "").strip() if isinstance(code, str) else ""
    if not text or len(text) > 64:
        raise error("CH-9401", "the item code is required (at most 64 characters)", "code")
    item = price_item(text, day.date())
    if item is None:
        raise error(
            "CH-9403",
            f"{text[:64]!r} is not in the price catalogue on {day.date().isoformat()}",
            "code",
        )
    return item


def may_charge(repo: Repository) -> None:
    """Staff who record services on a visit may charge (CH-4003 otherwise)."""
    require_staff(repo, "add charges to a visit")
    scopes = repo.caller.scopes
    if not (scopes.allows("ChargeItem", "create") or scopes.allows("Encounter", "update")):
        raise forbidden(f"{repo.caller.key} does not record services on visits")


def performer_of(repo: Repository, asked: str | None) -> tuple[str, str]:
    """The performing institution (reference, name): the caller's own; a caller bound to no
    institution (the platform, an integrator) names it."""
    own = repo.caller.organization
    wanted = local_id(asked or "", "Organization")
    if own and wanted and f"Organization/{wanted}" != own:
        raise forbidden(f"{repo.caller.key} charges for its own institution only")
    org = own or (f"Organization/{wanted}" if wanted else "")
    if not org:
        raise error("CH-9401", "the performing institution is required", "performer")
    try:
        body = repo.elevated().read("Organization", org.removeprefix("Organization/")).resource
    except OperationOutcomeError as exc:
        if exc.status in (404, 410):
            raise error("CH-9401", f"{org} is not a known institution", "performer") from exc
        raise
    return org, str(body.get("name") or org)


def charge_item(
    visit: Visit,
    item: PriceItem,
    quantity: Decimal,
    performer: tuple[str, str],
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The ChargeItem of ``quantity`` × ``item`` performed by ``performer`` on ``visit``."""
    assert visit.account is not None
    body: dict[str, Any] = {
        "resourceType": "ChargeItem",
        "extension": [
            {
                "url": EXT_ITEM_CLASS,
                "valueCoding": coding(ITEM_CLASS, item.item_class, CLASS_NAMES[item.item_class]),
            }
        ],
        "status": "billable",
        "code": {"coding": [coding(PRICE_ITEM, item.code, item.name)], "text": item.name},
        "subject": ref(f"Patient/{visit.patient}"),
        "context": ref(visit.reference),
        "occurrenceDateTime": instant(now),
        "performingOrganization": ref(*performer),
        "requestingOrganization": ref(visit.institution),
        "quantity": {"value": number(quantity), "unit": item.unit},
        "priceOverride": money(item.price),
        "overrideReason": (
            f"价格目录 {item.valid_from.isoformat()} 起执行 (price catalogue, line {item.line})"
        ),
        "enterer": ref(actor or performer[0]),
        "enteredDate": instant(now),
        "account": [ref(visit.account.reference)],
    }
    if actor:
        body["performer"] = [{"actor": ref(actor)}]
    with_custodian(body, visit.institution)
    return body


def add_charge(
    repo: Repository,
    encounter_id: str,
    code: str,
    quantity: object,
    performer_org: str | None = None,
) -> Stored:
    """Charge ``quantity`` of price item ``code`` to the visit ``encounter_id``.

    Args:
        repo: the caller's Repository (a clinician, nurse or cashier; not a resident).
        encounter_id: the visit (``Encounter/id`` or id).
        code: the price-catalogue item code.
        quantity: a positive decimal (int, Decimal or text such as ``"2"`` or ``"0.5"``).
        performer_org: the performing institution, for callers bound to none.

    Returns:
        The stored ChargeItem (status ``billable``).

    Raises:
        OperationOutcomeError: CH-9401 (bad quantity or code, unknown visit institution),
            CH-9402 (the visit is settled, closed on credit or cancelled), CH-9403 (no such
            item in the catalogue that day), CH-2001 (unknown visit), CH-4003.
    """
    may_charge(repo)
    amount = quantity_of(quantity)
    now = now_of(repo)
    item = catalogue_item(code, now)
    eid = encounter_id_of(encounter_id)
    performer = performer_of(repo, performer_org)
    platform = repo.elevated()
    try:
        encounter = platform.read("Encounter", eid)
    except OperationOutcomeError as exc:
        if exc.status in (404, 410):
            raise not_found("Encounter", eid) from exc
        raise
    visit = load_visit(platform, encounter)
    require_open(visit)
    actor = next(
        (a for a in repo.caller.actors if a.startswith(("PractitionerRole/", "Practitioner/"))),
        None,
    )
    with platform.transaction():
        platform.lock("Patient", visit.patient)
        visit = reload(platform, visit)
        require_open(visit)
        visit = open_account(platform, visit, now)
        return platform.create(charge_item(visit, item, amount, performer, actor, now))


def charges_of(platform: Repository, visit: Visit) -> list[Charge]:
    """The charges on the bill of ``visit`` (billable, billed or refunded), oldest first."""
    found: Iterable[dict[str, Any]] = find_all(
        platform, "ChargeItem", [("context", visit.reference)]
    )
    charges = [charge_of(body) for body in found if body.get("status") in ON_BILL]
    return sorted(charges, key=lambda c: (c.entered, c.id))
