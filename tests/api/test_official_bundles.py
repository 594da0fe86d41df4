"""The official transaction and batch Bundles of hl7.fhir.r4.examples@4.0.1, POSTed to /fhir.

Each request Bundle is POSTed to ``/fhir`` on a fresh database and its answer is checked against
https://hl7.org/fhir/R4/http.html#transaction: 200 with a transaction-response or
batch-response, one entry per request entry in the same order, a ``response.status`` on each, a
``location`` for every write, and every written resource readable at its location with the
content that was sent (server-assigned ids and links between entries replaced). Failed batch
entries carry their own OperationOutcome. Transactions that break an R4 rule are listed in
:data:`REJECTED` with the rule, the code and the entry named; nothing of them is stored.
Documented in docs/conformance.md ("Official transaction and batch Bundles").
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient

from tests.fhir.known_invalid_examples import KNOWN_INVALID_EXAMPLES
from tests.support.fhir_package import example_instances, package_files, skip_reason

_REASON = skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

DOCS = Path(__file__).resolve().parents[2] / "docs/conformance.md"
REQUEST_TYPES = ("transaction", "batch")
RESPONSE_TYPES = ("transaction-response", "batch-response")


class Rejected(NamedTuple):
    """A transaction that breaks an R4 rule: the answer names ``entry`` with ``code``."""

    status: int
    code: str
    entry: int
    rule: str


#: Request Bundles that are refused on a fresh database, with the rule they break.
REJECTED: dict[str, Rejected] = {
    "Bundle-bundle-transaction.json": Rejected(
        404,
        "CH-2014",
        7,
        "entry[7] is POST ValueSet/$lookup, but R4 defines $lookup on CodeSystem only "
        "(OperationDefinition CodeSystem-lookup). On a fresh database two more entries fail: "
        'entry[4] PUT Patient/123a with ifMatch W/"2" (no such version: 412, CH-2008) and '
        "entry[9] GET Patient/12334 (404, CH-2001); a transaction fails as a whole, and "
        "$lookup is met first (POSTs run before PUTs and GETs)",
    ),
    "Bundle-ussg-fht.json": Rejected(
        400,
        "CH-7002",
        0,
        "request.url is relative to the base the Bundle is posted to (R4 Bundle.entry."
        "request.url); every entry PUTs to http://hl7.org/fhir/us/sdc/…, another server",
    ),
}


class BatchFailure(NamedTuple):
    status: str
    code: str
    reason: str


#: Batch entries that fail on a fresh database (a batch still answers 200).
BATCH_FAILURES: dict[str, dict[int, BatchFailure]] = {
    "Bundle-bundle-request-medsallergies.json": {
        0: BatchFailure("404", "CH-2001", "GET Patient/example: the database is empty"),
    },
    "Bundle-bundle-request-simplesummary.json": {
        0: BatchFailure("404", "CH-2001", "GET Patient/example: the database is empty"),
    },
}

#: Search parameters of the batch examples that R4 servers may ignore and this one does (each
#: is reported in an OperationOutcome entry of the searchset, search mode "outcome").
IGNORED_PARAMETERS = {
    "Bundle-bundle-request-medsallergies.json": {1: "_list", 2: "_list", 3: "_list", 4: "notgiven"},
    "Bundle-bundle-request-simplesummary.json": {},
}


@cache
def _bundles() -> dict[str, dict[str, Any]]:
    return {n: r for n, r in package_files() if r["resourceType"] == "Bundle"}


def official(*types: str) -> list[str]:
    return sorted(n for n, r in _bundles().items() if r.get("type") in types)


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(_bundles()[name])


def local(url: str) -> str:
    """The path of a location the server gave (``http://…/fhir/Patient/1`` → ``/fhir/Patient/1``)."""
    return "/fhir/" + url.split("/fhir/", 1)[1]


def outcome_code(outcome: dict[str, Any]) -> str:
    return str(outcome["issue"][0]["details"]["coding"][0]["code"])


def without_server_meta(resource: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    out.pop("id", None)
    meta = out.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del out["meta"]
    return out


def count(client: TestClient, rtype: str) -> int:
    r = client.get(f"/fhir/{rtype}?_summary=count")
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


# ---------------------------------------------------------------------- the accounting


def test_package_holds_six_request_bundles_among_44() -> None:
    """44 Bundles in all: 6 are requests (4 transactions, 2 batches), 3 are their responses."""
    assert len(_bundles()) == 44
    assert len(official("transaction")) == 4
    assert len(official("batch")) == 2
    assert len(official(*RESPONSE_TYPES)) == 3
    assert set(REJECTED) | set(BATCH_FAILURES) <= set(official(*REQUEST_TYPES))


def test_docs_account_for_every_transaction_and_batch_bundle() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Official transaction and batch Bundles", 1)[1].split("\n## ", 1)[0]
    for name in official(*REQUEST_TYPES, *RESPONSE_TYPES):
        assert f"`{name}`" in section, f"{name} missing from docs/conformance.md"
    for name, rejected in REJECTED.items():
        row = next(line for line in section.splitlines() if f"`{name}`" in line)
        assert rejected.code in row


# ---------------------------------------------------------------------- each request Bundle


@pytest.mark.parametrize("name", official(*REQUEST_TYPES) if _REASON is None else [])
def test_official_request_bundle(client: TestClient, name: str) -> None:
    bundle = example(name)
    r = client.post("/fhir", json=bundle)
    if name in REJECTED:
        expected = REJECTED[name]
        assert r.status_code == expected.status, r.text
        issue = r.json()["issue"][0]
        assert issue["details"]["coding"][0]["code"] == expected.code
        where = f"Bundle.entry[{expected.entry}]"
        assert any(x == where or x.startswith(where + ".") for x in issue["expression"])
        for rtype in {e["resource"]["resourceType"] for e in bundle["entry"] if "resource" in e}:
            assert count(client, rtype) == 0, f"{rtype} stored by a failed transaction"
        return
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["type"] == f"{bundle['type']}-response"
    assert len(answer["entry"]) == len(bundle["entry"])
    failures = BATCH_FAILURES.get(name, {})
    for i, (sent, got) in enumerate(zip(bundle["entry"], answer["entry"], strict=True)):
        response = got["response"]
        assert re.match(r"^\d{3}( |$)", response["status"]), response
        if i in failures:
            assert response["status"] == failures[i].status
            assert outcome_code(response["outcome"]) == failures[i].code
            assert f"Bundle.entry[{i}]" in response["outcome"]["issue"][0]["expression"]
            continue
        method = sent["request"]["method"]
        if method in ("POST", "PUT"):
            assert response["status"] in ("200 OK", "201 Created")
            assert "/_history/" in response["location"]
        elif method == "GET":
            assert response["status"] == "200 OK"
            assert "resource" in got
    if bundle["type"] == "transaction":
        check_written(client, bundle, answer)
    else:
        check_searches(client, name, bundle, answer)


def check_written(client: TestClient, bundle: dict[str, Any], answer: dict[str, Any]) -> None:
    """Every write is readable with what was sent, links between entries replaced.

    The replacement expected is written here from http.html#trules, independently of the
    server: a fullUrl of an entry the server gives an identity (POST) becomes ``Type/id`` in
    references and uri elements and ``[base]/Type/id`` in narrative links.
    """
    new: dict[str, str] = {}
    for sent, got in zip(bundle["entry"], answer["entry"], strict=True):
        location = got["response"].get("location")
        if location and sent["request"]["method"] == "POST" and sent.get("fullUrl"):
            new[sent["fullUrl"]] = "/".join(local(location).split("/")[2:4])
    base = answer["entry"][0]["response"]["location"].split("/fhir/", 1)[0] + "/fhir"

    def expected(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: expected(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [expected(v, key) for v in node]
        if isinstance(node, str) and key == "div":
            for url, target in new.items():
                node = node.replace(f'href="{url}"', f'href="{base}/{target}"')
            return node
        return new.get(node, node) if isinstance(node, str) else node

    for sent, got in zip(bundle["entry"], answer["entry"], strict=True):
        location = got["response"].get("location")
        if not location or "resource" not in sent:
            continue
        version = client.get(local(location))
        assert version.status_code == 200, location
        current = client.get(local(location).split("/_history/")[0])
        assert current.status_code == 200
        assert current.json() == version.json()
        stored = version.json()
        assert stored["meta"]["versionId"] == location.rsplit("/", 1)[1]
        assert without_server_meta(stored) == without_server_meta(expected(sent["resource"]))
        leftover = [url for url in new if url in str(stored)]
        assert leftover == [], f"{location} still holds {leftover}"


def check_searches(
    client: TestClient, name: str, bundle: dict[str, Any], answer: dict[str, Any]
) -> None:
    """Each GET of a batch answers what the same GET answers on its own."""
    ignored = IGNORED_PARAMETERS[name]
    for i, (sent, got) in enumerate(zip(bundle["entry"], answer["entry"], strict=True)):
        alone = client.get("/fhir" + sent["request"]["url"])
        if i in BATCH_FAILURES.get(name, {}) and "resource" not in got:
            assert alone.status_code == int(got["response"]["status"][:3])
            continue
        assert alone.status_code == 200
        result = got["resource"]
        if result["resourceType"] != "Bundle":  # a read
            assert result == alone.json()
            continue
        assert result["type"] == "searchset"
        assert result["total"] == alone.json()["total"]
        entries = result.get("entry", [])
        matches = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"]
        expected = [
            e["resource"]["id"]
            for e in alone.json().get("entry", [])
            if e["search"]["mode"] == "match"
        ]
        assert matches == expected
        outcomes = [e["resource"] for e in entries if e["search"]["mode"] == "outcome"]
        if i in ignored:
            assert ignored[i] in str(outcomes), f"entry {i}: {ignored[i]} ignored silently"
        else:
            assert outcomes == []


@pytest.mark.parametrize("name", official(*RESPONSE_TYPES) if _REASON is None else [])
def test_response_bundles_are_not_requests(client: TestClient, name: str) -> None:
    """transaction-response and batch-response Bundles are answers: POSTing one is refused."""
    r = client.post("/fhir", json=example(name))
    assert r.status_code == 400
    assert outcome_code(r.json()) == "CH-7001"


# ---------------------------------------------------------------------- the same, prepared


def put_versions(client: TestClient, resource: dict[str, Any], versions: int) -> None:
    for _ in range(versions):
        r = client.put(f"/fhir/Patient/{resource['id']}", json=resource)
        assert r.status_code in (200, 201), r.text


def test_bundle_transaction_on_a_prepared_database(client: TestClient) -> None:
    """With the state it presumes, Bundle-bundle-transaction.json fails only by its $lookup.

    Without that entry it is processed, and the answer agrees with the official
    Bundle-bundle-response.json entry by entry (deletes answer 204, which R4 allows as well
    as the 202 of the example).
    """
    bundle = example("Bundle-bundle-transaction.json")
    peter = copy.deepcopy(bundle["entry"][0]["resource"])
    other = {"resourceType": "Patient", "name": [{"family": "Other"}]}
    ids = "http:/example.org/fhir/ids"
    put_versions(
        client, {**peter, "id": "known", "identifier": [{"system": ids, "value": "234234"}]}, 1
    )
    put_versions(client, {**peter, "id": "123"}, 3)
    put_versions(client, {**peter, "id": "123a"}, 2)
    put_versions(client, {**other, "id": "234"}, 1)
    put_versions(client, {**other, "id": "by-identifier", "identifier": [{"value": "123456"}]}, 1)
    put_versions(client, {**other, "id": "12334"}, 4)

    r = client.post("/fhir", json=bundle)
    assert r.status_code == 404
    assert outcome_code(r.json()) == "CH-2014"
    assert count(client, "Patient") == 6  # nothing of the failed transaction

    del bundle["entry"][7]
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    got = [e["response"] for e in r.json()["entry"]]
    official_response = example("Bundle-bundle-response.json")["entry"]
    del official_response[7]
    for i, (ours, theirs) in enumerate(zip(got, official_response, strict=True)):
        if bundle["entry"][i]["request"]["method"] == "DELETE":
            assert ours["status"] == "204 No Content"
        else:
            assert ours["status"].split()[0] == theirs["response"]["status"].split()[0], i
    assert "/Patient/known/_history/1" in got[1]["location"]  # ifNoneExist matched
    assert got[2]["location"].endswith("/Patient/123/_history/4")
    assert got[4]["location"].endswith("/Patient/123a/_history/3")
    assert client.get("/fhir/Patient/234").status_code == 410
    assert client.get("/fhir/Patient/by-identifier").status_code == 410
    assert got[8]["etag"] == 'W/"4"' and "resource" not in r.json()["entry"][8]
    created = [local(got[i]["location"]).split("/")[3] for i in (0, 3)]
    searched = {e["resource"]["id"] for e in r.json()["entry"][7]["resource"]["entry"]}
    assert searched == {created[0], "known", "123", created[1], "123a"}
    conditional = client.get(f"/fhir/Patient?identifier={ids}|456456").json()
    assert [e["resource"]["id"] for e in conditional["entry"]] == [created[1]]


def test_ussg_fht_with_relative_urls_is_processed(client: TestClient) -> None:
    """Made relative to this server, the request URLs of Bundle-ussg-fht.json are processed.

    The entries are PUTs, so ids stay and the canonical URLs (Questionnaire.url, answerValueSet)
    that equal the entries' fullUrls are kept as they are.
    """
    bundle = example("Bundle-ussg-fht.json")
    for entry in bundle["entry"]:
        entry["request"]["url"] = "/".join(entry["request"]["url"].split("/")[-2:])
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created"] * len(bundle["entry"])
    check_written(client, bundle, r.json())
    questionnaire = client.get("/fhir/Questionnaire/54127-6").json()
    assert questionnaire["url"] == "http://hl7.org/fhir/us/sdc/Questionnaire/54127-6"


@pytest.mark.parametrize("name", official("batch") if _REASON is None else [])
def test_batches_on_a_database_holding_the_examples(client: TestClient, name: str) -> None:
    """With Patient/example and its records stored, every GET of the batch answers 200."""
    types = {"Patient", "Condition", "MedicationStatement", "AllergyIntolerance", "Observation"}
    for file, res in example_instances():
        if res["resourceType"] in types and file not in KNOWN_INVALID_EXAMPLES:
            r = client.put(f"/fhir/{res['resourceType']}/{res['id']}", json=res)
            assert r.status_code in (200, 201), f"{file}: {r.text[:300]}"
    bundle = example(name)
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["200 OK"] * len(bundle["entry"])
    assert entries[0]["resource"]["id"] == "example"
    assert sum(e["resource"].get("total", 0) for e in entries[1:]) > 0
    check_searches(client, name, bundle, r.json())
