"""The demo's billing case (countyhealth/demo_cases.py): the demo resident's open visit at the
cashier's hospital with charges from the hospital and the township centre, for the billing
page and browser tests."""

from __future__ import annotations

from countyhealth.demo_cases import BillingCase
from countyhealth.demo_cases import plant_billing_case as plant
from countyhealth.store import Store
from tests.support.demo_county import DemoCounty


def plant_billing_case(county: DemoCounty, store: Store) -> BillingCase:
    return plant(store, county.accounts)


__all__ = ["BillingCase", "plant_billing_case"]
