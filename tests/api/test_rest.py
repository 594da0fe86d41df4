"""HTTP contract of the FHIR REST interactions (https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "gender": "female",
    "name": [{"family": "李", "given": ["四"]}],
}


def outcome_code(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]["details"]["coding"][0]["code"]


def test_put_get_headers_and_conditional_read(client: TestClient) -> None:
    r = client.put("/fhir/Patient/p1", json=PATIENT)
    assert r.status_code == 201
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"].endswith("/Patient/p1/_history/1")
    assert r.headers["content-type"].startswith("application/fhir+json")
    r = client.get("/fhir/Patient/p1")
    assert r.status_code == 200 and r.json()["gender"] == "female"
    assert client.get("/fhir/Patient/p1", headers={"If-None-Match": 'W/"1"'}).status_code == 304
    last = r.headers["last-modified"]
    assert client.get("/fhir/Patient/p1", headers={"If-Modified-Since": last}).status_code == 304
    r = client.put("/fhir/Patient/p1", json={**PATIENT, "gender": "male"})
    assert r.status_code == 200 and r.headers["etag"] == 'W/"2"'
    assert client.get("/fhir/Patient/p1/_history/1").json()["gender"] == "female"


def test_post_prefer_and_location(client: TestClient) -> None:
    r = client.post("/fhir/Patient", json=PATIENT, headers={"Prefer": "return=minimal"})
    assert r.status_code == 201 and r.content == b""
    loc = r.headers["location"]
    assert "/fhir/Patient/" in loc and loc.endswith("/_history/1")
    r = client.post("/fhir/Patient", json=PATIENT, headers={"Prefer": "return=OperationOutcome"})
    assert r.json()["resourceType"] == "OperationOutcome"
    r = client.post("/fhir/Patient?_pretty=true", json=PATIENT)
    assert b"\n  " in r.content


def test_if_match_over_http(client: TestClient) -> None:
    client.put("/fhir/Patient/p1", json=PATIENT)
    r = client.put("/fhir/Patient/p1", json=PATIENT, headers={"If-Match": 'W/"9"'})
    assert r.status_code == 412 and outcome_code(r) == "CH-2008"
    r = client.put("/fhir/Patient/p1", json=PATIENT, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200
    r = client.put("/fhir/Patient/p1", json=PATIENT, headers={"If-Match": "garbage"})
    assert r.status_code == 400 and outcome_code(r) == "CH-1009"


def test_patch_and_delete(client: TestClient) -> None:
    client.put("/fhir/Patient/p1", json=PATIENT)
    r = client.patch(
        "/fhir/Patient/p1",
        json=[{"op": "replace", "path": "/gender", "value": "male"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 200 and r.json()["gender"] == "male"
    r = client.patch("/fhir/Patient/p1", json=[], headers={"Content-Type": "application/fhir+json"})
    assert r.status_code == 415 and outcome_code(r) == "CH-1003"
    r = client.delete("/fhir/Patient/p1")
    assert r.status_code == 200
    r = client.get("/fhir/Patient/p1")
    assert r.status_code == 410 and outcome_code(r) == "CH-2002"


def test_history_bundles_and_paging_links(client: TestClient) -> None:
    for g in ("male", "female", "other"):
        client.put("/fhir/Patient/p1", json={**PATIENT, "gender": g})
    r = client.get("/fhir/Patient/p1/_history?_count=2")
    bundle = r.json()
    assert bundle["type"] == "history" and bundle["total"] == 3
    assert [e["response"]["etag"] for e in bundle["entry"]] == ['W/"3"', 'W/"2"']
    nxt = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    page2 = client.get("/fhir" + nxt.split("/fhir", 1)[1]).json()
    assert [e["response"]["etag"] for e in page2["entry"]] == ['W/"1"']
    assert page2["entry"][0]["request"]["method"] == "POST"
    assert client.get("/fhir/Patient/_history").json()["type"] == "history"
    assert client.get("/fhir/_history?_since=2000-01-01").status_code == 200
    r = client.get("/fhir/_history?_since=yesterday")
    assert r.status_code == 400 and outcome_code(r) == "CH-1006"
    r = client.get("/fhir/_history?_count=100000")
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("post", "/fhir/Patient", b"{not json", {}, 400, "CH-1001"),
        ("post", "/fhir/Patient", b"[1, 2]", {}, 400, "CH-1002"),
        (
            "post",
            "/fhir/Patient",
            b'{"resourceType": "Observation", "status": "final"}',
            {},
            400,
            "CH-2005",
        ),
        ("post", "/fhir/Nonsense", b'{"resourceType": "Nonsense"}', {}, 400, "CH-2004"),
        ("put", "/fhir/Patient/p1", b'{"resourceType": "Patient", "id": "p2"}', {}, 400, "CH-2006"),
        ("put", "/fhir/Patient/p1", b'{"resourceType": "Patient"}', {}, 400, "CH-2011"),
        (
            "put",
            "/fhir/Patient/bad$id",
            b'{"resourceType": "Patient", "id": "bad$id"}',
            {},
            400,
            "CH-2007",
        ),
        (
            "put",
            "/fhir/Patient/p1",
            b'{"resourceType": "Patient", "id": "p1", "colour": "red"}',
            {},
            400,
            "CH-3002",
        ),
        (
            "post",
            "/fhir/Patient",
            b'{"resourceType": "Patient", "gender": "unknown-value"}',
            {},
            400,
            "CH-3006",
        ),
        (
            "post",
            "/fhir/Patient",
            b'{"resourceType": "Patient"}',
            {"Content-Type": "text/plain"},
            415,
            "CH-1003",
        ),
        (
            "post",
            "/fhir/Patient",
            b'{"resourceType": "Patient"}',
            {"Content-Type": "application/xml"},
            415,
            "CH-1003",
        ),
        ("get", "/fhir/Patient/p1?_format=xml", None, {}, 406, "CH-1005"),
        ("get", "/fhir/Patient/p1", None, {"Accept": "application/fhir+xml"}, 406, "CH-1005"),
        ("get", "/fhir/Patient/p1/_history/abc", None, {}, 404, "CH-2003"),
        ("get", "/fhir/Patient/p1/nothing/here/at/all", None, {}, 404, "CH-1008"),
        ("patch", "/fhir/Patient", None, {}, 405, "CH-1007"),
        ("delete", "/fhir/Patient", None, {}, 400, "CH-1006"),
        ("get", "/fhir/Patient/p1/$nope", None, {}, 404, "CH-2014"),
    ],
)
def test_bad_input_answers_4xx_outcome(
    client: TestClient,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict,
    status: int,
    code: str,
) -> None:
    r = client.request(method, path, content=body, headers=headers)
    assert r.status_code == status, r.text
    assert outcome_code(r) == code


def test_body_over_limit(client: TestClient) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    big = b'{"resourceType": "Patient", "text": "' + b"x" * (limit + 10) + b'"}'
    r = client.post("/fhir/Patient", content=big)
    assert r.status_code == 413 and outcome_code(r) == "CH-1004"

    def chunks():
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    r = client.post("/fhir/Patient", content=chunks())  # chunked: no Content-Length
    assert r.status_code == 413 and outcome_code(r) == "CH-1004"


def test_authentication_required(client: TestClient) -> None:
    r = client.get("/fhir/Patient/p1", headers={"Authorization": ""})
    assert r.status_code == 401 and outcome_code(r) == "CH-4001"
    assert "Bearer" in r.headers["www-authenticate"]
    r = client.get("/fhir/Patient/p1", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401 and outcome_code(r) == "CH-4002"
    assert client.get("/fhir/metadata", headers={"Authorization": ""}).status_code == 200


def test_expired_token(client: TestClient) -> None:
    import time

    import jwt

    settings = client.app.state.settings  # type: ignore[attr-defined]
    token = jwt.encode(
        {
            "iss": settings.token_issuer,
            "sub": "x",
            "scope": "system/*.*",
            "iat": int(time.time()) - 100,
            "exp": int(time.time()) - 10,
        },
        settings.secret_key,
        algorithm="HS256",
    )
    r = client.get("/fhir/Patient/p1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["issue"][0]["diagnostics"]


def test_validate_operation(client: TestClient) -> None:
    r = client.post("/fhir/Patient/$validate", json={"resourceType": "Patient", "gender": "x"})
    assert r.status_code == 200
    assert r.json()["issue"][0]["severity"] == "error"
    params = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": PATIENT}],
    }
    r = client.post("/fhir/Patient/$validate", json=params)
    assert r.json()["issue"][0]["severity"] == "information"
    client.put("/fhir/Patient/p1", json=PATIENT)
    r = client.get("/fhir/Patient/p1/$validate")
    assert r.status_code == 200 and r.json()["issue"][0]["severity"] == "information"


def test_capability_statement_is_generated(client: TestClient) -> None:
    cs = client.get("/fhir/metadata").json()
    assert cs["fhirVersion"] == "4.0.1"
    patient = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Patient")
    codes = {i["code"] for i in patient["interaction"]}
    assert {"read", "vread", "update", "patch", "delete", "create", "history-instance"} <= codes
    assert "search-type" in codes
    params = {p["name"]: p for p in patient["searchParam"]}
    assert {"name", "phonetic", "identifier", "birthdate", "_id", "_lastUpdated"} <= set(params)
    assert "_text" not in params and "_content" not in params  # not offered, so not claimed
    assert any(op["name"] == "validate" for op in patient["operation"])
    security = cs["rest"][0]["security"]
    services = {c["code"] for s in security["service"] for c in s["coding"]}
    assert services == {"OAuth", "SMART-on-FHIR"}
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["token"].endswith("/auth/token") and uris["revoke"].endswith("/auth/revoke")


def test_healthz_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/healthz" in spec["paths"]
    assert not any(p.startswith("/fhir") for p in spec["paths"])
