"""Robustness of search parsing and of the search API under random input.

``parse_search`` either returns a SearchRequest or raises OperationOutcomeError with a CH-
code; the HTTP API never answers 5xx to a search, and every 4xx is an OperationOutcome with a
CH- code. The inputs mix real parameter names, modifiers, prefixes, chains and ``_has`` with
malformed dates and numbers, unknown prefixes and modifiers, SQL-injection-shaped values,
escapes, control and CJK characters, and ``_count`` above the maximum.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.errors import CODES, OperationOutcomeError
from countyhealth.fhir.search_request import SearchRequest, parse_search

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TYPES = ["Patient", "Observation", "Encounter", "MedicationRequest", "Location", "ValueSet"]
NAMES = [
    # real parameters of the types above, of every kind
    "name",
    "family",
    "given",
    "phonetic",
    "birthdate",
    "gender",
    "identifier",
    "telecom",
    "address",
    "organization",
    "general-practitioner",
    "active",
    "code",
    "value-quantity",
    "date",
    "subject",
    "patient",
    "encounter",
    "performer",
    "status",
    "combo-code-value-quantity",
    "code-value-string",
    "component-value-quantity",
    "near",
    "url",
    "version",
    "length",
    "_id",
    "_lastUpdated",
    "_tag",
    "_profile",
    "_security",
    "_source",
    "_text",
    "_content",
    "_query",
    "_filter",
    "_list",
    # result parameters
    "_sort",
    "_count",
    "_include",
    "_revinclude",
    "_include:iterate",
    "_revinclude:iterate",
    "_summary",
    "_elements",
    "_total",
    "_page",
    "_format",
    "_pretty",
    "_type",
    # nonsense
    "",
    ":",
    ".",
    "x",
    "name.",
    "__proto__",
    "subject:",
    "Patient",
]
MODIFIERS = [
    "missing",
    "exact",
    "contains",
    "not",
    "text",
    "of-type",
    "identifier",
    "above",
    "below",
    "in",
    "not-in",
    "type",
    "iterate",
    "Patient",
    "Group",
    "Device",
    "Foo",
    "patient",
    "",
    "::",
    "\x00",
]
CHAINS = [
    ".name",
    ".family",
    ".gender",
    ".organization.name",
    ".general-practitioner.name",
    ".subject.name",
    ".subject:Patient.organization.name",
    ".identifier",
    ".",
    "..",
    ".birthdate.year",
    ".name.given",
]
PREFIXES = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "xx", "eqq", "EQ", "e", "gtlt"]
ATOMS = [
    "2024",
    "2024-05",
    "2024-05-01",
    "2024-05-01T10:30",
    "2024-05-01T10:30:00Z",
    "2024-05-01T10:30:00.123+08:00",
    "2024-13-45",
    "2024-02-30",
    "2024-05-01T25:61:61Z",
    "2024-05-01T23:59:60Z",
    "0000-01-01",
    "9999-12-31T23:59:59.999999999-14:00",
    "20240501",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "-0",
    "0.000000000000000000001",
    "1e-400",
    "99999999999999999999999999999",
    "5.4|http://unitsofmeasure.org|mg",
    "5.4||mg",
    "1|http://unitsofmeasure.org|g",
    "|",
    "||",
    "|||",
    "http://loinc.org|8867-4",
    "|8867-4",
    "http://loinc.org|",
    "a$b",
    "a\\$b",
    "8867-4$gt100",
    "8867-4$",
    "$",
    "\\",
    "\\\\",
    "a\\,b",
    "a\\|b",
    ",",
    ",,",
    "true",
    "false",
    "Patient/1",
    "Patient/1/_history/2",
    "http://example.org/fhir/Patient/1",
    "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
    "#contained",
    "Observation:subject",
    "Observation:*",
    "Patient:organization:Organization",
    "*",
    "-_lastUpdated",
    "name,-birthdate",
    "-",
    "1001",
    "0",
    "-1",
    "count",
    "text",
    "data",
    "accurate",
    "estimate",
    "id,name",
    "' OR '1'='1",
    "1; DROP TABLE resource; --",
    "%' OR 1=1 --",
    "\\' UNION SELECT * FROM resource --",
    "_%",
    "%%",
    "山田太郎",
    "zhāng sān",
    "Zhāng Sān",
    "\u200b",
    "\x00",
    "\ud7ff",
    "é" * 300,
    "a" * 3000,
    "-33.87|151.21|10|km",
    "-33.87|151.21|10|parsec",
    "abc|def|ghi|jkl",
]


@st.composite
def parameter_names(draw: Any) -> str:
    name = draw(st.sampled_from(NAMES) | st.text(max_size=12))
    if draw(st.booleans()):
        name += ":" + draw(st.sampled_from(MODIFIERS) | st.text(max_size=8))
    if draw(st.integers(0, 3)) == 0:
        name += draw(st.sampled_from(CHAINS))
    if draw(st.integers(0, 5)) == 0:
        # reverse chains, sometimes nested deeper than allowed
        depth = draw(st.integers(1, 4))
        has = ":".join(
            f"_has:{draw(st.sampled_from(['Observation', 'Encounter', 'Foo', '']))}"
            f":{draw(st.sampled_from(['patient', 'subject', 'code', 'x']))}"
            for _ in range(depth)
        )
        name = has + ":" + draw(st.sampled_from(["code", "status", "name", "date", ""]))
    return name


@st.composite
def parameter_values(draw: Any) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        value = draw(st.sampled_from(ATOMS) | st.text(max_size=20))
        if draw(st.booleans()):
            value = draw(st.sampled_from(PREFIXES)) + value
        parts.append(value)
    return ",".join(parts)


search_params = st.lists(st.tuples(parameter_names(), parameter_values()), max_size=5)

#: Inputs that crashed the server once (each has a regression test below). Empty while none is
#: known; the random runs skip an example that holds one, so they keep looking for others.
KNOWN_CRASHES: list[tuple[str, Callable[[str, str], bool]]] = []


def known_crash(params: list[tuple[str, str]]) -> bool:
    return any(pred(n, v) for n, v in params for _, pred in KNOWN_CRASHES)


_PLAUSIBLE = {
    "string": ["张", "山田太郎", "Chal", "a\\,b", "%", "_"],
    "token": ["male", "http://loinc.org|8867-4", "|A1", "http://example.org/mrn|", "true"],
    "reference": ["Patient/p1", "p1", "Organization/o1", "http://example.org/fhir/Patient/p1"],
    "date": ["2024", "ge2024-05-01", "lt1980-05-01T00:00:00Z", "sa1970", "ap2024-05", "ne2024"],
    "number": ["72", "gt1", "le1e2", "ap100", "ne0.5"],
    "quantity": [
        "72",
        "gt50|http://unitsofmeasure.org|/min",
        "72||/min",
        "ap0.072|http://unitsofmeasure.org|/s",
    ],
    "uri": ["http://example.org", "http://example.org/fhir/ValueSet/x"],
    "composite": ["http://loinc.org|8867-4$gt50", "8867-4$72", "a$b", "8867-4$ge2024-05"],
    "special": ["30.1|120.2|10|km", "30|120"],
}


@st.composite
def plausible_params(draw: Any, rtype: str) -> list[tuple[str, str]]:
    """Real parameters of ``rtype`` with modifiers they accept and values of their type."""
    from countyhealth.fhir.search_params import params_for

    params = params_for(rtype)
    out = []
    for _ in range(draw(st.integers(1, 3))):
        code = draw(st.sampled_from(sorted(params)))
        param = params[code]
        name = code
        mods = sorted(param.modifiers)
        if mods and draw(st.integers(0, 3)) == 0:
            name += ":" + draw(st.sampled_from(mods))
        values = _PLAUSIBLE.get(param.type, ["x"])
        value = ",".join(draw(st.lists(st.sampled_from(values), min_size=1, max_size=2)))
        if name.endswith(":missing"):
            value = draw(st.sampled_from(["true", "false"]))
        out.append((name, value))
    extras = [
        ("_count", "2"),
        ("_sort", "-_lastUpdated"),
        ("_total", "accurate"),
        ("_summary", "true"),
        ("_elements", "id"),
        ("_include", f"{rtype}:*"),
        ("_revinclude", "Observation:subject"),
    ]
    out += draw(st.lists(st.sampled_from(extras), max_size=2))
    return out


def _check_error(exc: OperationOutcomeError) -> None:
    assert exc.code.startswith("CH-") and exc.code in CODES, exc
    assert 400 <= exc.status < 500, exc


@settings(max_examples=600, deadline=None)
@given(rtype=st.sampled_from(TYPES), params=search_params, strict=st.booleans())
def test_parse_search_returns_a_request_or_a_ch_error(
    rtype: str, params: list[tuple[str, str]], strict: bool
) -> None:
    try:
        req = parse_search([rtype], params, strict=strict, max_count=1000)
    except OperationOutcomeError as exc:
        _check_error(exc)
        return
    except OverflowError:
        if known_crash(params):
            return
        raise
    assert isinstance(req, SearchRequest)
    assert req.resource_types == (rtype,)
    assert 0 <= req.count <= 1000
    for issue in req.warnings:
        assert issue.code in CODES


@settings(max_examples=150, deadline=None)
@given(types=st.lists(st.sampled_from(TYPES), min_size=2, max_size=3), params=search_params)
def test_system_search_parsing(types: list[str], params: list[tuple[str, str]]) -> None:
    try:
        parse_search(types, params)
    except OperationOutcomeError as exc:
        _check_error(exc)
    except OverflowError:
        if not known_crash(params):
            raise


# ---------------------------------------------------------------------- over HTTP

SEED = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "张", "given": ["三"]}],
        "gender": "male",
        "birthDate": "1980-05-01",
        "identifier": [{"system": "http://example.org/mrn", "value": "A1"}],
        "managingOrganization": {"reference": "Organization/o1"},
    },
    {"resourceType": "Organization", "id": "o1", "name": "县人民医院"},
    {
        "resourceType": "Observation",
        "id": "obs1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-01T10:30:00+08:00",
        "valueQuantity": {
            "value": 72,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    },
    {
        "resourceType": "Location",
        "id": "loc1",
        "name": "Clinic",
        "position": {"latitude": 30.1, "longitude": 120.2},
    },
]


def _check_response(r: Any, url: str) -> None:
    assert r.status_code < 500, f"{url}: {r.status_code} {r.text[:500]}"
    if r.status_code >= 400:
        body = r.json()
        assert body["resourceType"] == "OperationOutcome", f"{url}: {r.text[:300]}"
        codes = [
            c["code"] for issue in body["issue"] for c in issue.get("details", {}).get("coding", [])
        ]
        assert codes and all(c.startswith("CH-") for c in codes), f"{url}: {r.text[:300]}"
    else:
        assert r.json()["resourceType"] == "Bundle", url


def test_search_api_never_fails_on_random_queries(client: TestClient) -> None:
    for res in SEED:
        assert client.put(f"/fhir/{res['resourceType']}/{res['id']}", json=res).status_code < 300

    statuses: list[int] = []

    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        rtype=st.sampled_from([*TYPES, ""]),
        data=st.data(),
        strict=st.booleans(),
        post=st.integers(0, 4),
    )
    def run(rtype: str, data: Any, strict: bool, post: int) -> None:
        if rtype and data.draw(st.booleans()):
            params = data.draw(plausible_params(rtype))
        else:
            params = data.draw(search_params)
        headers = {"Prefer": "handling=strict"} if strict else {}
        path = f"/fhir/{rtype}" if rtype else "/fhir"
        if not rtype:
            params = [("_type", "Patient,Observation"), *params]
        if post == 0 and rtype:
            from urllib.parse import urlencode

            r = client.post(
                f"{path}/_search",
                content=urlencode(params),
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            r = client.get(path, params=params, headers=headers)
        if r.status_code >= 500 and known_crash(params):
            return
        _check_response(r, f"{path}?{params}")
        statuses.append(r.status_code)

    run()
    # the run reached the engine, not only the parser
    assert sum(s == 200 for s in statuses) >= len(statuses) // 5, statuses


HOSTILE = [
    "name=' OR '1'='1",
    "_id=1' OR '1'='1",
    "family=%25",
    "family=_",
    "birthdate=2024-13-45",
    "birthdate=xx2024",
    "birthdate=ge2024-02-30",
    "gender:nonsense=male",
    "name:Patient=x",
    "birthdate.year=2024",
    "gender.name=x",
    "_count=100000",
    "_count=-1",
    "_count=abc",
    "_sort=nonsense",
    "_sort=-",
    "_include=Nonsense:subject",
    "_include=Observation",
    "_revinclude=Observation:code",
    "_summary=maybe",
    "_total=exact",
    "_page=not-a-cursor",
    "_page=eyJzIjoiMTIzIn0",
    "_has:Observation:patient:_has:Observation:patient:_has:Observation:patient:code=1",
    "_has:Observation:patient:_has:Encounter:patient:_has:Observation:encounter:code=1",
    "_has:Nonsense:patient:code=1",
    "_has:Observation:code:code=1",
    "_has:Observation",
    "general-practitioner:Practitioner.organization.partof.partof.name=x",
    "identifier:of-type=a|b",
    "organization:identifier=|||",
    "address-postalcode:exact=",
    "phonetic=123",
    "phonetic=!!!",
    "_lastUpdated=ap1970",
    "birthdate=ap0001-01-01",
    "birthdate=9999-12-31T23:59:59.999999999+14:00",
    "_type=Patient",
]


def test_hostile_patient_searches_answer_4xx_or_200(client: TestClient) -> None:
    for res in SEED:
        assert client.put(f"/fhir/{res['resourceType']}/{res['id']}", json=res).status_code < 300
    for query in HOSTILE:
        r = client.get(f"/fhir/Patient?{query}", headers={"Prefer": "handling=strict"})
        _check_response(r, query)
        r = client.get(f"/fhir/Patient?{query}")
        _check_response(r, query)
    # injection-shaped values are data: they find nothing and leave the table in place
    r = client.get("/fhir/Patient", params={"name": "' OR '1'='1"})
    assert r.status_code == 200 and "entry" not in r.json()
    assert client.get("/fhir/Patient/p1").status_code == 200


# ---------------------------------------------------------------------- inputs that once crashed


def _no_5xx(client: TestClient, *queries: str) -> None:
    for query in queries:
        _check_response(client.get(f"/fhir/{query}"), query)


def test_date_at_the_end_of_year_9999(client: TestClient) -> None:
    _no_5xx(
        client,
        "Patient?birthdate=9999-12-31",
        "Patient?_lastUpdated=9999-12-31",
        "Patient?birthdate=lt9999-12-31T23:59:59-14:00",
    )


def test_numbers_with_a_huge_exponent(client: TestClient) -> None:
    _no_5xx(client, "Observation?value-quantity=1e309", "RiskAssessment?probability=gt1e309")


def test_near_without_coordinates(client: TestClient) -> None:
    _no_5xx(client, "Location?near=|", "Location?near=|120.2|10|km")


def test_composite_with_a_date_part_that_is_not_a_date(client: TestClient) -> None:
    _no_5xx(client, "Observation?code-value-date=8867-4$72", "Observation?code-value-date=8867-4$")


def _forged(link: str, values: list[Any]) -> str:
    token = link.rsplit("_page=", 1)[1]
    raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw["v"] = values
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    return link.rsplit("_page=", 1)[0] + "_page=" + forged


def test_forged_page_cursor(client: TestClient) -> None:
    for i in range(3):
        client.put(f"/fhir/Patient/f{i}", json={"resourceType": "Patient", "id": f"f{i}"})
    bundle = client.get("/fhir/Patient?_count=1&_sort=birthdate").json()
    nxt = next(x["url"] for x in bundle["link"] if x["relation"] == "next")
    path = nxt.split("/fhir/", 1)[1]
    _no_5xx(client, _forged(path, [{"x": 1}]), _forged(path, [[1, 2]]))
