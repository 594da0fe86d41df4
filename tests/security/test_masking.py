"""Masking of identity and phone numbers: the pure functions, the log filter and bulk export."""

from __future__ import annotations

import io
import logging
import logging.config
from pathlib import Path
from typing import Any

import orjson
import pytest
from uvicorn.config import LOGGING_CONFIG

from countyhealth import server
from countyhealth.bulk import run_pending
from countyhealth.fhir import systems
from countyhealth.operations.export import ExportJob
from countyhealth.security.log_masking import FILTER_NAME, MaskingFilter, masked_logging
from countyhealth.security.masking import (
    mask_id_number,
    mask_phone,
    mask_resource,
    mask_text,
)
from countyhealth.store import Caller, Repository, Scopes, Store, system_caller

ID_18 = "330102199001011234"
ID_18X = "33077919470319477X"
ID_15 = "330102900101123"
MOBILE = "13812345678"
PASSPORT = systems.passport_system("RUS")
NI = {"coding": [{"system": systems.V2_IDENTIFIER_TYPE, "code": "NI"}]}


# ---------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "system", "masked"),
    [
        (ID_18, None, "3301**********1234"),
        (ID_18X, systems.ID_CARD, "3307**********477X"),
        ("33077919470319477x", None, "3307**********477x"),
        (ID_15, systems.ID_CARD, "3301********123"),  # the birth date is hidden in both forms
        ("K4582013", PASSPORT, "K4****13"),
        ("E12345678", None, "E1*****78"),
        ("G1234", PASSPORT, "G**34"),
        ("1234", PASSPORT, "****"),
        ("", None, ""),
        (f" {ID_18} ", systems.ID_CARD, "3301**********1234"),
        # an 18-digit passport number is a passport number, not an identity card number
        (ID_18, PASSPORT, "33**************34"),
    ],
)
def test_mask_id_number(value: str, system: str | None, masked: str) -> None:
    assert mask_id_number(value, system) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (MOBILE, "138****5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("tel:+86-138-1234-5678", "tel:+86-138-****-5678"),
        ("008613812345678", "0086138****5678"),
        ("0571-88886666", "057*-****6666"),
        ("120", "*20"),
        ("", ""),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_mask_text_finds_numbers_standing_alone() -> None:
    text = (
        f"GET /fhir/Patient?identifier=urn:oid:2.16.156.10011.1.3%7C{ID_18X} "
        f"电话{MOBILE}，旧证{ID_15}；tel +86-138-1234-5678"
    )
    assert mask_text(text) == (
        "GET /fhir/Patient?identifier=urn:oid:2.16.156.10011.1.3%7C3307**********477X "
        "电话138****5678，旧证3301********123；tel +86-138-****-5678"
    )
    # parts of longer runs are not identity numbers: timestamps, uuids, hashes, ids
    untouched = (
        "at 1735660800000000 us, job 1d2f3e4a-1234-4abc-8def-138123456789, "
        f"sha a{ID_18}b, res_pk 12345678901234567890, Patient/p{MOBILE}"
    )
    assert mask_text(untouched) == untouched


# ---------------------------------------------------------------------- resources


def person(rtype: str) -> dict[str, Any]:
    return {
        "resourceType": rtype,
        "id": "x1",
        "identifier": [
            {"system": systems.ID_CARD, "value": ID_18},
            {"system": PASSPORT, "value": "K4582013"},
            {"system": "urn:oid:1.2.3.his", "type": NI, "value": ID_15},
            {"system": systems.E_HEALTH_CARD, "value": "0123456789abcdef0123456789abcdef"},
            {"system": systems.MOBILE_PHONE, "value": "tel:+86-138-1234-5678"},
            {"system": systems.mrn_system("org-thc-03"), "value": "0300001234"},
        ],
        "telecom": [
            {"system": "phone", "value": MOBILE, "use": "mobile"},
            {"system": "email", "value": "wang@example.org"},
        ],
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">王芳 {ID_18} {MOBILE}</div>',
        },
    }


@pytest.mark.parametrize("rtype", ["Patient", "RelatedPerson", "Person", "Practitioner"])
def test_mask_resource(rtype: str) -> None:
    original = person(rtype)
    masked = mask_resource(original)
    assert original == person(rtype)  # the input is left alone
    values = [i["value"] for i in masked["identifier"]]
    assert values == [
        "3301**********1234",
        "K4****13",
        "3301********123",
        "01****************************ef",
        "tel:+86-138-****-5678",
        "0300001234",  # record numbers of one institution stay: they are not identity numbers
    ]
    assert masked["telecom"] == [
        {"system": "phone", "value": "138****5678", "use": "mobile"},
        {"system": "email", "value": "wang@example.org"},
    ]
    assert ID_18 not in masked["text"]["div"] and MOBILE not in masked["text"]["div"]
    assert "王芳" in masked["text"]["div"]


def test_mask_resource_reaches_patient_contacts_and_leaves_other_types() -> None:
    patient = {
        "resourceType": "Patient",
        "contact": [{"telecom": [{"system": "phone", "value": MOBILE}]}],
    }
    assert mask_resource(patient)["contact"][0]["telecom"][0]["value"] == "138****5678"
    coverage = {
        "resourceType": "Coverage",
        "identifier": [{"system": systems.ID_CARD, "value": ID_18}],
    }
    assert mask_resource(coverage) is coverage
    odd = {"resourceType": "Patient", "identifier": "not-a-list", "telecom": [None, {"x": 1}]}
    assert mask_resource(odd) == odd


# ---------------------------------------------------------------------- logs


@pytest.fixture
def log() -> Any:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_the_log_filter_masks_messages_and_arguments(log: Any) -> None:
    logger, stream = log
    logger.info(f"direct {ID_18}")
    logger.info("args %s %s", ID_18X, {"telecom": MOBILE})
    logger.info("an int %d", 13812345678)
    logger.info("mapping %(phone)s", {"phone": MOBILE})
    try:
        raise ValueError(f"no patient with {ID_15}")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    for secret in (ID_18, ID_18X, ID_15, MOBILE):
        assert secret not in text, text
    assert "3301**********1234" in text and "138****5678" in text and "ValueError" in text


def test_uvicorn_access_lines_keep_their_arguments() -> None:
    args = ("127.0.0.1:5000", "GET", f"/fhir/Patient?identifier=x%7C{ID_18}", "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", args, None)
    assert MaskingFilter().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.args[2] == "/fhir/Patient?identifier=x%7C3301**********1234"
    assert record.args[4] == 200


def test_masked_logging_config() -> None:
    config = masked_logging(LOGGING_CONFIG)
    assert LOGGING_CONFIG.get("filters", {}).get(FILTER_NAME) is None  # not modified
    assert all(FILTER_NAME in h["filters"] for h in config["handlers"].values())
    assert config["root"]["handlers"] == ["default"]
    assert masked_logging(config)["handlers"] == config["handlers"]  # idempotent


def test_the_server_masks_its_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda *a, **kw: seen.update(kw))
    server.serve("127.0.0.1", 0, 1, log_level="warning")
    config = seen["log_config"]
    assert all(FILTER_NAME in h["filters"] for h in config["handlers"].values())
    logging.config.dictConfig(config)  # valid for logging.config
    try:
        root_handlers = logging.getLogger().handlers
        assert any(isinstance(f, MaskingFilter) for h in root_handlers for f in h.filters)
        access = logging.getLogger("uvicorn.access").handlers
        assert any(isinstance(f, MaskingFilter) for h in access for f in h.filters)
    finally:
        logging.getLogger().handlers.clear()


# ---------------------------------------------------------------------- bulk export


def export_files(store: Store, caller: Caller) -> dict[str, list[dict[str, Any]]]:
    """Run a system-level export as ``caller``; the resources of its files, by type."""
    job = ExportJob("system", None, ("Patient", "Practitioner", "Observation"), None, (), ())
    submitted = store.repository(caller).jobs.submit("export", "test/$export", job.to_json())
    assert run_pending(store) == 1
    done = store.jobs.get(submitted.id)
    assert done is not None and done.status == "completed", done
    assert done.manifest is not None
    folder = store.jobs.folder(submitted.id)
    out: dict[str, list[dict[str, Any]]] = {}
    for item in done.manifest["output"]:
        lines = Path(folder, item["url"].rsplit("/", 1)[1]).read_bytes().splitlines()
        out.setdefault(item["type"], []).extend(orjson.loads(line) for line in lines)
    return out


@pytest.fixture
def people(repo: Repository) -> Repository:
    for rtype in ("Patient", "Practitioner"):
        body = person(rtype)
        body.pop("text")
        repo.update(rtype, "x1", body)
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": f"phone {MOBILE}"},  # only the people types are masked
        "subject": {"reference": "Patient/x1"},
    }
    repo.update("Observation", "o1", observation)
    return repo


def integrator(*privileges: str) -> Caller:
    return Caller(
        "client", "provincial-platform", Scopes.parse("system/*.rs"), privileges=privileges
    )


def test_exports_mask_identity_and_phone_numbers(people: Repository, store: Store) -> None:
    files = export_files(store, integrator())
    for rtype in ("Patient", "Practitioner"):
        (resource,) = files[rtype]
        assert resource == mask_resource(people.read(rtype, "x1").resource)
        text = orjson.dumps(resource).decode()
        assert ID_18 not in text and MOBILE not in text and "3301**********1234" in text
    assert files["Observation"][0]["code"]["text"] == f"phone {MOBILE}"


@pytest.mark.parametrize(
    "caller",
    [integrator("full-identifiers"), system_caller("export-test")],
    ids=["privilege", "system"],
)
def test_exports_keep_numbers_for_privileged_callers(
    people: Repository, store: Store, caller: Caller
) -> None:
    files = export_files(store, caller)
    for rtype in ("Patient", "Practitioner"):
        assert files[rtype] == [people.read(rtype, "x1").resource]
