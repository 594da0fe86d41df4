"""The billing operations over the FHIR API (SQLite and PostgreSQL): a visit charged by two
institutions, its bill, one payment under an idempotency key, a partial refund, credit-based
care and the KPIs; bad input answers an OperationOutcome with its code and moves no money."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

# registers the billing operations (the operations registry imports the module as well)
import countyhealth.operations.billing_ops  # noqa: F401
from countyhealth.api.auth import issue_token
from countyhealth.billing.bills import bill
from countyhealth.billing.charges import add_charge
from countyhealth.billing.settlements import SPLIT
from countyhealth.config import Settings
from countyhealth.security.roles import roles
from tests.conftest import make_settings

from .conftest import COUNTY, OTHER, RESIDENT, TOWN, County

PAYERS = ("fund", "catastrophic", "assistance", "commercial", "account", "cash")


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The test settings with the simulated provider's ledgers in the test's folder."""
    ledger = tmp_path / "ledger" / "payments.ndjson"
    return make_settings(backend, tmp_path, request, payment_ledger_path=str(ledger))


@pytest.fixture
def api(client: TestClient, billing_county: County) -> Iterator[TestClient]:
    """The client on the billing county (the bare client acts as an integrator)."""
    yield client


def _staff(settings: Settings, role: str, org: str) -> dict[str, str]:
    token = issue_token(
        settings,
        f"{role}-{org}",
        roles()[role].scopes,
        kind="user",
        extra={
            "roles": [role],
            "org": f"Organization/{org}",
            "actors": [f"PractitionerRole/pr-{role}-{org}"],
        },
    )
    return {"Authorization": f"Bearer {token}"}


def _resident(settings: Settings, patient: str) -> dict[str, str]:
    token = issue_token(
        settings,
        f"resident-{patient}",
        roles()["resident"].scopes,
        kind="user",
        extra={"roles": ["resident"], "patients": [patient]},
    )
    return {"Authorization": f"Bearer {token}"}


def _params(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


def _p(name: str, **value: Any) -> dict[str, Any]:
    return {"name": name, **value}


def _code(answer: Any) -> str:
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome", body
    return str(body["issue"][0]["details"]["coding"][0]["code"])


def _all(answer: Any, name: str) -> list[dict[str, Any]]:
    return [p for p in answer.json()["parameter"] if p["name"] == name]


def _one(answer: Any, name: str) -> dict[str, Any]:
    found = _all(answer, name)
    assert len(found) == 1, (name, answer.json())
    return found[0]


def _reference(answer: Any, name: str) -> str:
    return str(_one(answer, name)["valueReference"]["reference"])


def _amounts(split: dict[str, Any]) -> dict[str, Decimal]:
    """The parts of a split, as exact decimals (the JSON number's text)."""
    return {p["name"]: Decimal(str(p["valueMoney"]["value"])) for p in split["part"]}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(w.title() for w in rest)


def _charge(
    api: TestClient, visit: str, headers: dict[str, str], code: str, **quantity: Any
) -> Any:
    return api.post(
        f"/fhir/Encounter/{visit}/$charge",
        json=_params(_p("code", valueCode=code), _p("quantity", **quantity)),
        headers=headers,
    )


def _pay(api: TestClient, visit: str, headers: dict[str, str], key: str | None) -> Any:
    params = [_p("idempotencyKey", valueString=key)] if key is not None else []
    return api.post(f"/fhir/Encounter/{visit}/$pay", json=_params(*params), headers=headers)


def _ledger(settings: Settings, org: str = COUNTY) -> list[str]:
    base = Path(settings.payment_ledger_path)
    path = base.with_name(f"{base.stem}-{org}{base.suffix}")
    return path.read_text().splitlines() if path.exists() else []


def _visit(c: County, api: TestClient, settings: Settings, patient: str = RESIDENT) -> str:
    visit = c.visit(patient)
    doctor = _staff(settings, "county-clinician", COUNTY)
    assert _charge(api, visit, doctor, "CONS-SECONDARY", valueDecimal=1).status_code == 201
    return visit


def test_charge_bill_pay_and_refund_a_visit(
    billing_county: County, api: TestClient, settings: Settings
) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    county = _staff(settings, "county-clinician", COUNTY)
    town = _staff(settings, "township-clinician", TOWN)
    resident = _resident(settings, RESIDENT)
    cashier = _staff(settings, "cashier", COUNTY)

    consult = _charge(api, visit, county, "CONS-SECONDARY", valueDecimal=1)
    assert consult.status_code == 201, consult.text
    assert consult.json()["resourceType"] == "ChargeItem"
    assert consult.headers["Location"].endswith(f"/ChargeItem/{consult.json()['id']}/_history/1")
    lab = _charge(api, visit, town, "LAB-HBA1C", valueString="1")
    assert lab.status_code == 201, lab.text
    assert lab.json()["performingOrganization"]["reference"] == f"Organization/{TOWN}"
    drugs = _charge(api, visit, county, "DRUG-AMLODIPINE", valueDecimal=1.5)
    assert drugs.status_code == 201, drugs.text
    assert drugs.json()["quantity"]["value"] == 1.5
    drug_item = f"ChargeItem/{drugs.json()['id']}"

    shown = api.get(f"/fhir/Encounter/{visit}/$bill", headers=resident)
    assert shown.status_code == 200, shown.text
    assert _one(shown, "state")["valueCode"] == "open"
    assert _one(shown, "preview")["valueBoolean"] is True
    lines = _all(shown, "line")
    assert len(lines) == 3
    expected = bill(c.cashier(), visit)
    split = _amounts(_one(shown, "split"))
    assert split == {_camel(f): expected.amounts[f] for f in SPLIT}
    assert split["total"] == Decimal("79.20") == sum(split[_camel(p)] for p in PAYERS)
    first = {p["name"]: p for p in lines[0]["part"]}
    assert set(first) >= {
        "chargeItem",
        "code",
        "name",
        "class",
        "quantity",
        "unitPrice",
        "amount",
        "organization",
        "split",
    }
    assert first["code"]["valueCoding"]["code"] == "CONS-SECONDARY"
    assert first["unitPrice"]["valueMoney"] == {"value": 15, "currency": "CNY"}
    for line in lines:  # each line's payers add up to its amount
        parts = {p["name"]: p for p in line["part"]}
        amounts = _amounts(parts["split"])
        line_total = Decimal(str(parts["amount"]["valueMoney"]["value"]))
        assert line_total == sum(amounts[_camel(p)] for p in PAYERS)
    assert [e["valueString"] for e in _all(shown, "explain")] == list(expected.explain)
    assert api.post(f"/fhir/Encounter/{visit}/$bill", json=_params(), headers=cashier).json() == (
        shown.json()
    )

    paid = _pay(api, visit, resident, "http-pay-1")
    assert paid.status_code == 200, paid.text
    assert _amounts(_one(paid, "split")) == split
    cash = Decimal(str(_one(paid, "cash")["valueMoney"]["value"]))
    assert cash == split["cash"] > 0
    assert _one(paid, "replayed")["valueBoolean"] is False
    invoice = _reference(paid, "invoice")
    assert invoice.startswith("Invoice/")
    assert _reference(paid, "claimResponse").startswith("ClaimResponse/")
    assert _reference(paid, "paymentReconciliation").startswith("PaymentReconciliation/")
    assert len(_ledger(settings)) == 1

    again = _pay(api, visit, cashier, "http-pay-1")  # a retry: the same payment, no money
    assert again.status_code == 200, again.text
    assert _one(again, "replayed")["valueBoolean"] is True
    for name in ("invoice", "claimResponse", "paymentReconciliation"):
        assert _reference(again, name) == _reference(paid, name)
    assert len(_ledger(settings)) == 1

    settled = api.get(f"/fhir/Encounter/{visit}/$bill", headers=resident)
    assert _one(settled, "state")["valueCode"] == "settled"
    assert _reference(settled, "invoice") == invoice

    late = _charge(api, visit, county, "LAB-GLU", valueDecimal=1)
    assert late.status_code == 409 and _code(late) == "CH-9402"

    returned = api.post(
        f"/fhir/{invoice}/$refund",
        json=_params(
            _p("idempotencyKey", valueString="http-refund-1"),
            _p("reason", valueString="退一盒药 (one box returned)"),
            _p(
                "item",
                part=[
                    _p("chargeItem", valueReference={"reference": drug_item}),
                    _p("quantity", valueDecimal=1),
                ],
            ),
        ),
        headers=cashier,
    )
    assert returned.status_code == 200, returned.text
    replacement = _reference(returned, "replacement")
    assert replacement.startswith("Invoice/") and replacement != invoice
    assert _reference(returned, "invoice") == invoice
    remaining = _amounts(_one(returned, "split"))
    assert remaining["total"] == Decimal("76.40")  # 15 + 60 + 0.5 × 2.80
    back = Decimal(str(_one(returned, "cash")["valueMoney"]["value"]))
    assert back == split["cash"] - remaining["cash"]
    item = {p["name"]: p for p in _one(returned, "item")["part"]}
    assert item["chargeItem"]["valueReference"]["reference"] == drug_item
    assert item["quantity"]["valueDecimal"] == 1

    too_much = api.post(
        f"/fhir/{replacement}/$refund",
        json=_params(
            _p("idempotencyKey", valueString="http-refund-2"),
            _p("reason", valueString="全部退 (all)"),
            _p(
                "item",
                part=[
                    _p("chargeItem", valueReference={"reference": drug_item}),
                    _p("quantity", valueDecimal=1),
                ],
            ),
        ),
        headers=cashier,
    )
    assert too_much.status_code == 422 and _code(too_much) == "CH-9404"  # 0.5 box stands
    cancelled = api.post(
        f"/fhir/{invoice}/$refund",
        json=_params(
            _p("idempotencyKey", valueString="http-refund-3"),
            _p("reason", valueString="again"),
        ),
        headers=cashier,
    )
    assert cancelled.status_code == 422 and _code(cancelled) == "CH-9404"
    replayed = api.post(
        f"/fhir/{invoice}/$refund",
        json=_params(
            _p("idempotencyKey", valueString="http-refund-1"),
            _p("reason", valueString="退一盒药 (one box returned)"),
            _p(
                "item",
                part=[
                    _p("chargeItem", valueReference={"reference": drug_item}),
                    _p("quantity", valueDecimal=1),
                ],
            ),
        ),
        headers=cashier,
    )
    assert replayed.status_code == 200 and _one(replayed, "replayed")["valueBoolean"] is True
    assert _reference(replayed, "replacement") == replacement
    assert len(_ledger(settings)) == 2  # one charge, one refund


@pytest.mark.parametrize(
    ("quantity", "why"),
    [
        ({"valueDecimal": -1}, "above zero"),
        ({"valueString": "-2"}, "above zero"),
        ({"valueDecimal": 0}, "above zero"),
        ({"valueString": "abc"}, "not a number"),
        ({"valueString": "1e400"}, "at most"),
        ({"valueBoolean": True}, "digits"),
        ({"valueDecimal": 0.0001}, "decimals"),
    ],
)
def test_bad_quantities_answer_ch_9401(
    billing_county: County, api: TestClient, settings: Settings, quantity: dict[str, Any], why: str
) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    answer = _charge(
        api, visit, _staff(settings, "county-clinician", COUNTY), "LAB-GLU", **quantity
    )
    assert answer.status_code == 400, answer.text
    assert _code(answer) == "CH-9401" and why in answer.json()["issue"][0]["diagnostics"]
    assert c.count("ChargeItem") == 0


def test_bad_charges(billing_county: County, api: TestClient, settings: Settings) -> None:
    c = billing_county
    visit = c.visit(RESIDENT)
    county = _staff(settings, "county-clinician", COUNTY)
    unknown = _charge(api, visit, county, "NO-SUCH-ITEM", valueDecimal=1)
    assert unknown.status_code == 422 and _code(unknown) == "CH-9403"
    missing = api.post(
        f"/fhir/Encounter/{visit}/$charge",
        json=_params(_p("code", valueCode="LAB-GLU")),
        headers=county,
    )
    assert missing.status_code == 400 and _code(missing) == "CH-9401"
    nowhere = _charge(api, "no-such-visit", county, "LAB-GLU", valueDecimal=1)
    assert nowhere.status_code == 404 and _code(nowhere) == "CH-2001"
    resident = _charge(api, visit, _resident(settings, RESIDENT), "LAB-GLU", valueDecimal=1)
    assert resident.status_code == 403 and _code(resident) == "CH-4003"
    # the bare client is an integrator bound to no institution: it names the performer
    anonymous = _charge(api, visit, {}, "LAB-GLU", valueDecimal=1)
    assert anonymous.status_code == 400 and _code(anonymous) == "CH-9401"
    named = api.post(
        f"/fhir/Encounter/{visit}/$charge",
        json=_params(
            _p("code", valueCode="LAB-GLU"),
            _p("quantity", valueDecimal=1),
            _p("performer", valueReference={"reference": f"Organization/{TOWN}"}),
        ),
    )
    assert named.status_code == 201, named.text
    assert named.json()["performingOrganization"]["reference"] == f"Organization/{TOWN}"
    wrong_type = api.post(
        f"/fhir/Encounter/{visit}/$charge",
        json=_params(
            _p("code", valueCode="LAB-GLU"),
            _p("quantity", valueDecimal=1),
            _p("performer", valueReference={"reference": f"Patient/{RESIDENT}"}),
        ),
    )
    assert wrong_type.status_code == 400 and _code(wrong_type) == "CH-9401"
    assert c.count("ChargeItem") == 1


def test_idempotency_keys(billing_county: County, api: TestClient, settings: Settings) -> None:
    c = billing_county
    first, second = _visit(c, api, settings), _visit(c, api, settings)
    cashier = _staff(settings, "cashier", COUNTY)
    no_key = _pay(api, first, cashier, None)
    assert no_key.status_code == 400 and _code(no_key) == "CH-9401"
    bad_key = _pay(api, first, cashier, "has spaces")
    assert bad_key.status_code == 400 and _code(bad_key) == "CH-9401"
    before = c.counts()
    assert _pay(api, first, cashier, "key-1").status_code == 200
    reused = _pay(api, second, cashier, "key-1")  # the same key for another visit
    assert reused.status_code == 409 and _code(reused) == "CH-9407"
    twice = _pay(api, first, cashier, "key-2")  # one payment per visit
    assert twice.status_code == 409 and _code(twice) == "CH-9405"
    after = c.counts()
    assert after["PaymentReconciliation"] == before["PaymentReconciliation"] + 1
    assert len(_ledger(settings)) == 1
    invoice = _reference(_pay(api, first, cashier, "key-1"), "invoice")
    no_refund_key = api.post(
        f"/fhir/{invoice}/$refund",
        json=_params(_p("reason", valueString="退费")),
        headers=cashier,
    )
    assert no_refund_key.status_code == 400 and _code(no_refund_key) == "CH-9401"
    reused_for_refund = api.post(
        f"/fhir/{invoice}/$refund",
        json=_params(_p("idempotencyKey", valueString="key-1"), _p("reason", valueString="退")),
        headers=cashier,
    )
    assert reused_for_refund.status_code == 409 and _code(reused_for_refund) == "CH-9407"
    assert c.counts() == after


def test_refund_requests_are_checked(
    billing_county: County, api: TestClient, settings: Settings
) -> None:
    c = billing_county
    visit = _visit(c, api, settings)
    cashier = _staff(settings, "cashier", COUNTY)
    invoice = _reference(_pay(api, visit, cashier, "pay-r"), "invoice")
    item = bill(c.cashier(), visit).lines[0].charge
    other = _visit(c, api, settings, OTHER)
    stranger = bill(c.cashier(), other).lines[0].charge

    def refund(*parameters: dict[str, Any], headers: dict[str, str] = cashier) -> Any:
        return api.post(f"/fhir/{invoice}/$refund", json=_params(*parameters), headers=headers)

    key, reason = _p("idempotencyKey", valueString="r-1"), _p("reason", valueString="退费")
    twice = refund(
        key,
        reason,
        _p("chargeItem", valueReference={"reference": item}),
        _p("chargeItem", valueReference={"reference": item}),
    )
    assert twice.status_code == 400 and _code(twice) == "CH-9401"
    not_on_it = refund(key, reason, _p("chargeItem", valueReference={"reference": stranger}))
    assert not_on_it.status_code == 400 and _code(not_on_it) == "CH-9401"
    larger = refund(
        key,
        reason,
        _p(
            "item",
            part=[
                _p("chargeItem", valueReference={"reference": item}),
                _p("quantity", valueDecimal=2),
            ],
        ),
    )
    assert larger.status_code == 422 and _code(larger) == "CH-9404"
    no_reason = refund(key)
    assert no_reason.status_code == 400 and _code(no_reason) == "CH-9401"
    resident = refund(key, reason, headers=_resident(settings, RESIDENT))
    assert resident.status_code == 403 and _code(resident) == "CH-4003"
    unknown = api.post(
        "/fhir/Invoice/no-such-invoice/$refund", json=_params(key, reason), headers=cashier
    )
    assert unknown.status_code == 404 and _code(unknown) == "CH-2001"
    assert len(_ledger(settings)) == 1  # nothing given back
    whole = refund(key, reason)
    assert whole.status_code == 200, whole.text
    assert not _all(whole, "replacement")
    assert _amounts(_one(whole, "split"))["total"] == 0


def test_close_on_credit(billing_county: County, api: TestClient, settings: Settings) -> None:
    c = billing_county
    visit = _visit(c, api, settings)
    resident = _resident(settings, RESIDENT)
    closed = api.post(f"/fhir/Encounter/{visit}/$close-on-credit", json=_params(), headers=resident)
    assert closed.status_code == 200, closed.text
    assert _one(closed, "state")["valueCode"] == "credit"
    assert _one(closed, "due")["valueDate"] == (c.today + timedelta(days=10)).isoformat()
    assert Decimal(str(_one(closed, "owed")["valueMoney"]["value"])) > 0
    again = api.post(f"/fhir/Encounter/{visit}/$close-on-credit", json=_params(), headers=resident)
    assert again.status_code == 409 and _code(again) == "CH-9402"
    late = _charge(
        api, visit, _staff(settings, "county-clinician", COUNTY), "LAB-GLU", valueDecimal=1
    )
    assert late.status_code == 409 and _code(late) == "CH-9402"
    empty = c.visit(RESIDENT)
    nothing = api.post(
        f"/fhir/Encounter/{empty}/$close-on-credit", json=_params(), headers=resident
    )
    assert nothing.status_code == 409 and _code(nothing) == "CH-9405"
    paid = _pay(api, visit, resident, "credit-paid")
    assert paid.status_code == 200, paid.text
    shown = api.get(f"/fhir/Encounter/{visit}/$bill", headers=resident)
    assert _one(shown, "state")["valueCode"] == "settled"


def test_operation_errors(billing_county: County, api: TestClient, settings: Settings) -> None:
    c = billing_county
    visit = _visit(c, api, settings)
    unknown = api.get("/fhir/Encounter/no-such-visit/$bill")
    assert unknown.status_code == 404 and _code(unknown) == "CH-2001"
    someone_else = api.get(f"/fhir/Encounter/{visit}/$bill", headers=_resident(settings, OTHER))
    assert someone_else.status_code == 403 and _code(someone_else) == "CH-4004"
    by_get = api.get(f"/fhir/Encounter/{visit}/$pay", params={"idempotencyKey": "g-1"})
    assert by_get.status_code == 405 and _code(by_get) == "CH-1007"
    type_level = api.post("/fhir/Encounter/$pay", json=_params())
    assert type_level.status_code == 404 and _code(type_level) == "CH-2014"
    unauthenticated = api.get(
        f"/fhir/Encounter/{visit}/$bill", headers={"Authorization": "Bearer nonsense"}
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["resourceType"] == "OperationOutcome"


def test_billing_kpis(billing_county: County, api: TestClient, settings: Settings) -> None:
    c = billing_county
    cashier = _staff(settings, "cashier", COUNTY)
    for n in range(2):
        visit = _visit(c, api, settings)
        assert _pay(api, visit, cashier, f"kpi-{n}").status_code == 200
        assert _pay(api, visit, cashier, f"kpi-{n}").status_code == 200  # replayed
    period = {"start": c.today.isoformat(), "end": (c.today + timedelta(days=1)).isoformat()}
    bureau = _staff(settings, "bureau-admin", "org-bureau")
    answer = api.get("/fhir/$billing-kpis", params=period, headers=bureau)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["resourceType"] == "MeasureReport" and report["type"] == "summary"
    groups = {g["code"]["coding"][0]["code"]: g for g in report["group"]}
    assert groups["payments-per-visit"]["measureScore"]["value"] == 1.0
    assert groups["visits-settled"]["population"][0]["count"] == 2
    posted = api.post(
        "/fhir/$billing-kpis",
        json=_params(
            _p("start", valueDate=period["start"]),
            _p("end", valueDate=period["end"]),
            _p("organization", valueReference={"reference": f"Organization/{TOWN}"}),
        ),
        headers=bureau,
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["reporter"] == {"reference": f"Organization/{TOWN}"}
    town = {g["code"]["coding"][0]["code"]: g for g in posted.json()["group"]}
    assert town["visits-settled"]["population"][0]["count"] == 0
    assert "measureScore" not in town["payments-per-visit"]
    reversed_ = api.get(
        "/fhir/$billing-kpis",
        params={"start": period["end"], "end": period["start"]},
        headers=bureau,
    )
    assert reversed_.status_code == 400 and _code(reversed_) == "CH-9401"
    not_a_date = api.get("/fhir/$billing-kpis", params={"start": "soon", "end": "later"})
    assert not_a_date.status_code == 400 and _code(not_a_date) == "CH-9401"
    refused = api.get("/fhir/$billing-kpis", params=period, headers=cashier)
    assert refused.status_code == 403 and _code(refused) == "CH-4003"


def test_the_operations_are_in_the_capability_statement(api: TestClient) -> None:
    statement = api.get("/fhir/metadata").json()
    named = {
        op["name"]
        for rest in statement["rest"]
        for op in [
            *rest.get("operation", []),
            *(o for r in rest.get("resource", []) for o in r.get("operation", [])),
        ]
    }
    assert {"charge", "bill", "pay", "close-on-credit", "refund", "billing-kpis"} <= named


def test_a_charge_through_the_service_and_the_bill_over_http_agree(
    billing_county: County, api: TestClient, settings: Settings
) -> None:
    c = billing_county
    visit = c.visit(RESIDENT, cls="IMP")
    add_charge(c.county_doctor(), visit, "BED-WARD", 3)
    add_charge(c.town_doctor(), visit, "LAB-HBA1C", 1)
    shown = api.get(f"/fhir/Encounter/{visit}/$bill", headers=_staff(settings, "cashier", COUNTY))
    assert shown.status_code == 200, shown.text
    assert _one(shown, "setting")["valueCode"] == "inpatient"
    organizations = {
        p["valueReference"]["reference"]
        for line in _all(shown, "line")
        for p in line["part"]
        if p["name"] == "organization"
    }
    assert organizations == {f"Organization/{COUNTY}", f"Organization/{TOWN}"}
