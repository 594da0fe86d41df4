"""A ChargeItem filed around the billing service (a plain FHIR create by an integrator) with
a negative price is refused at settlement with a clear code, and no money moves."""

from __future__ import annotations

import pytest

from countyhealth.billing import bill, pay
from countyhealth.errors import OperationOutcomeError

from .conftest import COUNTY, RESIDENT, County


def test_a_negative_price_filed_directly_is_refused(billing_county: County) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    c.repo.create(
        {
            "resourceType": "ChargeItem",
            "status": "billable",
            "code": {"text": "外来收费"},
            "subject": {"reference": f"Patient/{RESIDENT}"},
            "context": {"reference": f"Encounter/{visit}"},
            "performingOrganization": {"reference": f"Organization/{COUNTY}"},
            "quantity": {"value": 1},
            "priceOverride": {"value": -50, "currency": "CNY"},
        }
    )
    before = c.counts()
    for attempt in (
        lambda: bill(c.cashier(), visit),
        lambda: pay(c.cashier(), visit, "k-neg", c.provider),
    ):
        with pytest.raises(OperationOutcomeError) as refused:
            attempt()
        assert refused.value.code == "CH-9401"
    assert c.counts() == before
