"""Random requests against /fhir: whatever arrives, the answer is never 5xx, and every error is
an OperationOutcome with a CH- code.

Search by GET and POST ``_search`` has its own random run (tests/search/test_parser_properties.py);
this one covers the other interactions: read, vread, update, patch, delete, create (plain and
conditional), history at every level, batch/transaction Bundles, $operations at system, type
and instance level, $import, bulk status and files, and the methods no route takes.

Half the requests are *plausible*: an interaction with the method, content type and body it
expects, built from valid resources and then perturbed (wrong ids and versions, unknown
elements, odd headers), so that the run reaches validation, storage and the conditional
logic. The other half are drawn with no regard for what the server expects: any method on any
path shape, random query strings, random headers (If-Match, If-None-Match, If-None-Exist,
If-Modified-Since, Prefer, Content-Type, Accept, Content-Encoding) and bodies that are any JSON
value, Bundles and Parameters with random entries, JSON Patch documents, or bytes that are not
JSON at all.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from countyhealth.api.auth import issue_token
from countyhealth.app import create_app
from countyhealth.store import Store
from tests.conftest import make_settings

#: How many random requests the run sends (docs/security.md quotes the figure); set
#: FUZZ_EXAMPLES for a longer run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1500"))

Request = tuple[str, str, list[tuple[str, str]], dict[str, bytes], bytes | None]

TYPES = ["Patient", "Observation", "Encounter", "Group", "Consent", "Bundle", "Parameters"]
ODD_TYPES = ["NotAType", "patient", "OperationOutcome", "AuditEvent", "_history", "metadata"]
IDS = ["p1", "o1", "g1", "new-1", "A" * 64, "A" * 65, "..", "%2e%2e", "ä", "1.2", "-", "_"]
VERSIONS = ["1", "2", "3", "0", "-1", "x", "007", "99999999999999999999"]
OPERATIONS = [
    "$validate",
    "$everything",
    "$export",
    "$break-glass",
    "$match",
    "$meta",
    "$",
    "$nonsense",
]
QUERY_KEYS = [
    "_count",
    "_since",
    "_at",
    "_offset",
    "_snapshot",
    "_format",
    "_pretty",
    "_summary",
    "_elements",
    "_type",
    "_typeFilter",
    "_outputFormat",
    "patient",
    "mode",
    "profile",
    "reason",
    "start",
    "end",
    "_id",
    "gender",
    "identifier",
    "unknown",
]
QUERY_VALUES = [
    "1",
    "0",
    "-1",
    "10000000000000000000000",
    "²",
    "true",
    "json",
    "xml",
    "application/fhir+json",
    "2024-01-01",
    "2024-13-45T99:00:00Z",
    "gt2020",
    "Patient,Observation",
    "Patient?gender=female",
    "Patient/p1",
    "p1",
    "female",
    "create",
    "' OR '1'='1",
    "%",
    "",
]
CONTENT_TYPES = [
    "application/fhir+json",
    "application/json",
    "application/json-patch+json",
    "application/fhir+ndjson",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/fhir+xml",
    "",
]
PREFER = [
    "return=minimal",
    "return=representation",
    "return=OperationOutcome",
    "respond-async",
    "respond-async, handling=lenient",
    "handling=strict",
    "return=",
]

# random text, and characters that databases and parsers treat specially
text = st.text(max_size=24) | st.sampled_from(["a\x00b", "\x00", "\u202e", "\U0001f600", "\\"])
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    text,
    st.sampled_from(["Patient/p1", "urn:uuid:1", "2024-01-01", "#", 'W/"1"', "²"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def segment(value: str) -> str:
    """A random path segment as a client would send it: percent-encoded, ``$`` kept."""
    return quote(value, safe="$-._~!*'(),;=:@")


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


# ---------------------------------------------------------------------- resources


def valid(rtype: str, rid: str | None) -> dict[str, Any]:
    """A valid resource of ``rtype`` (a Patient for the types without a template)."""
    body: dict[str, Any]
    if rtype == "Observation":
        body = {
            "resourceType": rtype,
            "status": "final",
            "code": {"text": "bp"},
            "subject": {"reference": "Patient/p1"},
        }
    elif rtype == "Encounter":
        body = {
            "resourceType": rtype,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/p1"},
        }
    elif rtype == "Group":
        body = {"resourceType": rtype, "type": "person", "actual": True}
    else:
        body = {"resourceType": "Patient", "gender": "female", "name": [{"text": "王芳"}]}
    if rid is not None:
        body["id"] = rid
    return body


@st.composite
def resource_for(draw: st.DrawFn, rtype: str, rid: str | None) -> dict[str, Any]:
    """A valid resource, or one perturbed: unknown or wrong-typed elements, another type or
    id, a meta with a version."""
    body = valid(rtype, rid)
    for _ in range(draw(st.integers(0, 2))):
        change = draw(st.integers(0, 6))
        if change == 6:  # any text where the type takes any text
            body["code" if rtype == "Observation" else "name"] = [{"text": draw(text)}]
            if rtype == "Observation":
                body["code"] = {"text": draw(text)}
        elif change == 0:
            body[draw(st.sampled_from(["gender", "status", "subject", "code", "id", "text"]))] = (
                draw(json_value)
            )
        elif change == 1:
            body[draw(st.text(max_size=8))] = draw(json_value)
        elif change == 2:
            body["resourceType"] = draw(st.sampled_from([*TYPES, *ODD_TYPES, ""]))
        elif change == 3:
            body["id"] = draw(st.sampled_from(IDS) | text)
        elif change == 4:
            body["meta"] = {"versionId": draw(st.sampled_from(VERSIONS)), "lastUpdated": "x"}
        else:
            body.pop(draw(st.sampled_from(sorted(body))), None)
    return body


resources = st.sampled_from(TYPES + ODD_TYPES).flatmap(
    lambda t: resource_for(t, None) | json_value.map(lambda v: {"resourceType": t, "x": v})
)

entries = st.fixed_dictionaries(
    {},
    optional={
        "fullUrl": st.sampled_from(["urn:uuid:1", "urn:uuid:2", "Patient/p1", "http://x/P/1"]),
        "resource": resources | json_value,
        "request": st.fixed_dictionaries(
            {},
            optional={
                "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]) | text,
                "url": st.sampled_from(
                    ["Patient", "Patient/p1", "Patient?gender=male", "Observation/o1", "urn:uuid:1"]
                )
                | text,
                "ifMatch": st.sampled_from(['W/"1"', 'W/"²"', "W/", 'W/"99999999999999999999"'])
                | json_leaf,
                "ifNoneExist": st.sampled_from(["gender=male", "_id=p1"]) | json_leaf,
                "ifNoneMatch": json_leaf,
            },
        ),
    },
)

bundles = st.fixed_dictionaries(
    {
        "resourceType": st.just("Bundle"),
        "type": st.sampled_from(["batch", "transaction", "collection", "searchset"]) | text,
        "entry": st.lists(entries, max_size=4),
    }
)

parameters = st.fixed_dictionaries(
    {
        "resourceType": st.just("Parameters"),
        "parameter": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["resource", "mode", "profile", "reason", "_type"])
                    | text
                },
                optional={
                    "valueString": json_leaf,
                    "valueCode": json_leaf,
                    "resource": resources,
                    "part": st.lists(json_value, max_size=2),
                },
            ),
            max_size=3,
        ),
    }
)

json_patch = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]) | text},
        optional={
            "path": st.sampled_from(["/gender", "/id", "/meta/versionId", "/name/0", "/-", ""])
            | text,
            "from": st.sampled_from(["/gender", "/id", "/name"]) | text,
            "value": json_value,
        },
    ),
    max_size=3,
)

ndjson = st.lists(resources.map(lambda r: json.dumps(r)) | text, max_size=4).map(
    lambda lines: "\n".join(lines).encode()
)

any_body = st.one_of(
    st.none(),
    resources.map(encode),
    bundles.map(encode),
    parameters.map(encode),
    json_patch.map(encode),
    json_value.map(encode),
    ndjson,
    st.binary(max_size=64),
    st.sampled_from([b"{", b"[", b'{"resourceType":', b"\xff\xfe", b"null", b'"x"', b"1e999"]),
)


# ---------------------------------------------------------------------- headers and queries


def _sendable(values: dict[str, str]) -> dict[str, bytes]:
    """Header values as bytes (latin-1 on the wire); line breaks cannot be sent at all."""
    out = {}
    for name, value in values.items():
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            continue
        if b"\n" not in raw and b"\r" not in raw:
            out[name] = raw
    return out


OPTIONAL_HEADERS = {
    "If-Match": st.sampled_from(['W/"1"', '"2"', "W/", "*", "", 'W/"x"', 'W/"²"']) | text,
    "If-None-Match": st.sampled_from(['W/"1"', "*", "", 'W/"1", W/"2"']) | text,
    "If-None-Exist": st.sampled_from(["gender=male", "?_id=p1", "identifier=a|b", "&&", "x=y"])
    | text,
    "If-Modified-Since": st.sampled_from(["Mon, 01 Jan 2024 00:00:00 GMT", "yesterday"]) | text,
    "Prefer": st.sampled_from(PREFER) | text,
    "Accept": st.sampled_from(["application/fhir+json", "*/*", "application/fhir+xml"]) | text,
    "Content-Encoding": st.sampled_from(["gzip", "br", "identity"]),
}


@st.composite
def some_headers(draw: st.DrawFn, content_type: str | None = None) -> dict[str, bytes]:
    out: dict[str, str] = {}
    for name, values in OPTIONAL_HEADERS.items():
        if draw(st.integers(0, 4)) == 0:
            out[name] = draw(values)
    out["Content-Type"] = content_type or draw(st.sampled_from(CONTENT_TYPES) | text)
    return _sendable(out)


queries = st.lists(
    st.tuples(st.sampled_from(QUERY_KEYS) | text, st.sampled_from(QUERY_VALUES) | text),
    max_size=4,
)


# ---------------------------------------------------------------------- requests


@st.composite
def plausible_request(draw: st.DrawFn) -> Request:
    """An interaction as a client would send it, with random perturbations."""
    rtype = draw(st.sampled_from(["Patient", "Patient", "Observation", "Encounter", "Group"]))
    rid = draw(st.sampled_from(["p1", "o1", "g1", "new-1", "new-2"]) | st.sampled_from(IDS))
    vid = draw(st.sampled_from(VERSIONS))
    kind = draw(st.integers(0, 13))
    query: list[tuple[str, str]] = draw(queries) if draw(st.integers(0, 3)) == 0 else []
    fhir_json = "application/fhir+json"
    body: Any = None
    ctype = fhir_json
    if kind == 0:
        method, path = "GET", f"/{rtype}/{rid}"
    elif kind == 1:
        method, path = "GET", f"/{rtype}/{rid}/_history/{vid}"
    elif kind == 2:
        method, path = "PUT", f"/{rtype}/{rid}"
        body = draw(resource_for(rtype, rid))
    elif kind == 3:
        method, path = "PUT", f"/{rtype}"
        query = query or [("_id", rid)]
        body = draw(resource_for(rtype, None))
    elif kind == 4:
        method, path, ctype = "PATCH", f"/{rtype}/{rid}", "application/json-patch+json"
        body = draw(json_patch)
    elif kind == 5:
        method, path = "DELETE", f"/{rtype}/{rid}"
    elif kind == 6:
        method, path = "DELETE", f"/{rtype}"
    elif kind == 7:
        method, path = "POST", f"/{rtype}"
        body = draw(resource_for(rtype, None))
    elif kind == 8:
        method = "GET"
        path = draw(
            st.sampled_from([f"/{rtype}/{rid}/_history", f"/{rtype}/_history", "/_history"])
        )
    elif kind == 9:
        method, path = "POST", ""
        body = draw(bundles)
    elif kind == 10:
        method = draw(st.sampled_from(["GET", "POST"]))
        op = draw(st.sampled_from(OPERATIONS))
        path = draw(st.sampled_from([f"/{rtype}/{rid}/{op}", f"/{rtype}/{op}", f"/{op}"]))
        body = draw(parameters | resources) if method == "POST" else None
    elif kind == 11:
        method, path, ctype = "POST", "/$import", "application/fhir+ndjson"
        body = draw(ndjson)
    elif kind == 12:
        method = draw(st.sampled_from(["GET", "DELETE"]))
        path = f"/bulkstatus/{segment(draw(text))}"
    else:
        method = "GET"
        path = (
            f"/bulkfiles/{segment(draw(text))}/{draw(st.sampled_from(['Patient.1.ndjson', '..']))}"
        )
    headers = draw(some_headers(ctype))
    if kind in (10, 11) and draw(st.booleans()):
        headers["Prefer"] = b"respond-async"  # the bulk kick-offs run only asynchronously
    if body is None or isinstance(body, bytes):
        return method, path, query, headers, body
    return method, path, query, headers, encode(body)


@st.composite
def random_path(draw: st.DrawFn) -> str:
    rtype = draw(st.sampled_from(TYPES + ODD_TYPES) | text.map(segment))
    rid = draw(st.sampled_from(IDS) | text.map(segment))
    op = draw(st.sampled_from(OPERATIONS) | text.map(lambda t: "$" + segment(t)))
    vid = draw(st.sampled_from(VERSIONS) | text.map(segment))
    return draw(
        st.sampled_from(
            [
                "",
                f"/{rtype}",
                f"/{rtype}/{rid}",
                f"/{rtype}/{rid}/_history",
                f"/{rtype}/{rid}/_history/{vid}",
                f"/{rtype}/_history",
                "/_history",
                f"/{op}",
                f"/{rtype}/{op}",
                f"/{rtype}/{rid}/{op}",
                f"/{rtype}/{rid}/{draw(st.sampled_from(TYPES))}",  # compartment search
                f"/bulkstatus/{rid}",
                f"/bulkfiles/{rid}/{vid}",
                f"/{rtype}/{rid}/{vid}/{op}/x",
            ]
        )
    )


@st.composite
def random_request(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
    return method, draw(random_path()), draw(queries), draw(some_headers()), draw(any_body)


# ---------------------------------------------------------------------- the run


@pytest.fixture
def fuzz_client(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    settings = make_settings(backend, tmp_path, request, bulk_worker=False)
    store = Store.open(settings)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {issue_token(settings, 'fuzz', 'system/*.cruds')}"
        yield c


def check(response: Any, described: str) -> None:
    assert response.status_code < 500, (
        f"{described}\n→ {response.status_code} {response.text[:600]}"
    )
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert body["resourceType"] == "OperationOutcome", f"{described}\n→ {response.text[:300]}"
        codes = [
            c["code"] for issue in body["issue"] for c in issue.get("details", {}).get("coding", [])
        ]
        assert codes and all(c.startswith("CH-") for c in codes), f"{described}\n→ {body}"


def seed(client: TestClient) -> None:
    for body in (valid("Patient", "p1"), valid("Observation", "o1"), valid("Group", "g1")):
        r = client.put(f"/fhir/{body['resourceType']}/{body['id']}", json=body)
        assert r.status_code in (200, 201), r.text


@pytest.mark.slow
def test_random_requests_never_answer_5xx(fuzz_client: TestClient, backend: str) -> None:
    seed(fuzz_client)
    statuses: Counter[int] = Counter()
    interactions: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=plausible_request() | random_request())
    def run(request: Request) -> None:
        method, path, query, headers, body = request
        url = "/fhir" + path
        described = f"{method} {url}?{urlencode(query)} headers={headers!r} body={body!r}"
        response = fuzz_client.request(method, url, params=query, headers=headers, content=body)
        check(response, described)
        statuses[response.status_code] += 1
        if response.status_code < 300:
            interactions[f"{method} {path.count('/')}"] += 1

    run()
    print(f"{sum(statuses.values())} requests: {sorted(statuses.items())}")
    # the run got past authentication and parsing into the interactions
    assert sum(n for s, n in statuses.items() if s < 300) >= EXAMPLES // 20, statuses
    assert {"GET", "PUT", "POST", "DELETE"} <= {k.split()[0] for k in interactions}, interactions


# ---------------------------------------------------------------------- inputs that crashed


@pytest.mark.parametrize(
    ("method", "path", "params", "headers", "body"),
    [
        # str.isdigit() accepts "²", which int() refuses; numbers beyond 64 bits overflowed
        # the database driver
        ("GET", "/fhir/Patient/_history", {"_count": "²"}, {}, None),
        ("GET", "/fhir/Patient/p1/_history", {"_offset": "²"}, {}, None),
        ("GET", "/fhir/Patient/_history", {"_offset": "99999999999999999999"}, {}, None),
        ("GET", "/fhir/_history", {"_snapshot": "99999999999999999999"}, {}, None),
        ("GET", "/fhir/Patient", {"_count": "²"}, {}, None),
        # a system search with an empty _type reached the parser with no type at all
        ("GET", "/fhir", {"_count": "1", "_type": ""}, {}, None),
        ("PUT", "/fhir/Patient/p1", {}, {"If-Match": 'W/"²"'.encode("latin-1")}, "patient"),
        ("DELETE", "/fhir/Patient/p1", {}, {"If-Match": 'W/"99999999999999999999"'}, None),
        ("POST", "/fhir", {}, {}, "bundle-if-match"),
    ],
)
def test_inputs_that_once_answered_500(
    client: TestClient,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, Any],
    body: str | None,
) -> None:
    seed(client)
    patient = valid("Patient", "p1")
    content = {
        None: None,
        "patient": encode(patient),
        "bundle-if-match": encode(
            {
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [
                    {
                        "resource": patient,
                        "request": {"method": "PUT", "url": "Patient/p1", "ifMatch": 'W/"²"'},
                    }
                ],
            }
        ),
    }[body]
    r = client.request(method, path, params=params, headers=headers, content=content)
    check(r, f"{method} {path} {params} {headers}")
    assert r.status_code in (200, 400, 412), r.text


@pytest.mark.parametrize("version", ["99999999999999999999", "²"])
def test_vread_of_a_version_that_cannot_exist(client: TestClient, version: str) -> None:
    seed(client)
    r = client.get(f"/fhir/Patient/p1/_history/{version}")
    check(r, f"vread {version}")
    assert r.status_code == 404


@pytest.mark.parametrize("operation", [{"op": "add", "path": "0"}, {"op": "remove", "path": "x"}])
def test_patch_with_a_pointer_that_is_not_one(
    client: TestClient, operation: dict[str, str]
) -> None:
    seed(client)
    r = client.patch(
        "/fhir/Patient/p1",
        content=encode([operation]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    check(r, f"PATCH {operation}")
    assert r.status_code in (400, 422)


@pytest.mark.parametrize(
    ("method", "path", "params", "headers", "body", "code"),
    [
        ("GET", "/fhir/Patient", {"name": "a\x00b"}, {}, None, "CH-1006"),
        ("GET", "/fhir/Patient/p1%00", {}, {}, None, "CH-1006"),
        ("POST", "/fhir/Patient", {}, {"If-None-Exist": "name=a%00"}, "patient", "CH-1009"),
        ("PUT", "/fhir/Patient/p1", {}, {}, "patient-nul", "CH-3005"),
        ("POST", "/fhir/Patient", {}, {}, "patient-nul-key", "CH-3002"),
    ],
)
def test_u0000_is_refused_on_both_backends(
    client: TestClient,
    method: str,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    body: str | None,
    code: str,
) -> None:
    """U+0000 cannot be stored or compared by PostgreSQL: it is refused before it gets there,
    with the same answer on SQLite, and the audit trail of the refusal is written."""
    seed(client)
    patient = valid("Patient", "p1")
    content = {
        None: None,
        "patient": encode(patient),
        "patient-nul": encode({**patient, "name": [{"family": "王\x00"}]}),
        "patient-nul-key": encode({**patient, "a\x00b": "x"}),
    }[body]
    raw = dict(headers)
    if "If-None-Exist" in raw:
        raw["If-None-Exist"] = raw["If-None-Exist"].replace("%00", "\x00")
    r = client.request(method, path, params=params, headers=raw, content=content)
    check(r, f"{method} {path}")
    assert r.status_code == 400, r.text
    codes = [c["code"] for i in r.json()["issue"] for c in i["details"]["coding"]]
    assert code in codes, codes
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    store.audit.flush()
