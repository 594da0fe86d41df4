"""Issuing e-health cards and using their codes: second factor, throttling, revocation,
replay, and the resident's log of every use with its channel (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from countyhealth.config import Settings
from countyhealth.errors import OperationOutcomeError
from countyhealth.fhir import systems
from countyhealth.identity.card import current_card, issue_card
from countyhealth.identity.card_use import CARD_USE, CHANNELS, use_code
from countyhealth.identity.health_code import issue_code
from countyhealth.store import Repository, Store, system_caller
from tests.conftest import make_settings

PIN = "246810"


@pytest.fixture
def card_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(
        backend,
        tmp_path,
        request,
        password_time_cost=1,
        password_memory_kib=1024,
        health_card_pin_max_failures=3,
    )


@pytest.fixture
def card_store(card_settings: Settings) -> Iterator[Store]:
    store = Store.open(card_settings)
    yield store
    store.close()


@pytest.fixture
def desk(card_store: Store) -> Repository:
    return card_store.repository(system_caller("registration desk"))


def new_patient(repo: Repository) -> str:
    body = {"resourceType": "Patient", "name": [{"family": "王", "given": ["芳"]}]}
    return repo.create(body).id


def refused(repo: Repository, code: str, **kwargs: object) -> str:
    with pytest.raises(OperationOutcomeError) as caught:
        use_code(repo, code, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


def card_uses(repo: Repository, patient: str) -> list[tuple[str, str]]:
    """(channel, outcome) of the card uses in the patient's access log, oldest first."""
    repo.store.audit.flush()
    lines = repo.access_log(patient, limit=200)
    return [(a.interaction, a.outcome) for a in reversed(lines) if a.interaction in CHANNELS]


def test_a_card_is_an_identifier_with_a_period_and_a_hashed_pin(desk: Repository) -> None:
    pid = new_patient(desk)
    issued = issue_card(desk, pid, PIN)
    patient = desk.read("Patient", pid).resource
    card = current_card(patient, desk.store.clock.now_us())
    assert card is not None and card["value"] == issued.card_id
    assert card["system"] == systems.E_HEALTH_CARD and len(issued.card_id) == 32
    assert card["period"] == {"start": issued.start, "end": issued.end}
    assert issued.end[:4] == str(int(issued.start[:4]) + 10)
    assert "extension" not in card  # the PIN lives beside the accounts, not in the record
    stored_pin = desk.store.accounts.card_pins.get(issued.card_id)
    assert stored_pin is not None and stored_pin.startswith("$argon2id")
    assert PIN not in str(patient) and issued.card_id not in issued.static_code.split(".")[-1]
    found = use_code(desk, issued.static_code, channel="registration", pin=PIN)
    assert (found.patient_id, found.kind, found.card_number) == (pid, "static", issued.card_id)


def test_issuing_again_revokes_the_card_in_use(desk: Repository) -> None:
    pid = new_patient(desk)
    first = issue_card(desk, pid, PIN)
    second = issue_card(desk, pid, "135790")
    assert second.revoked == (first.card_id,) and second.card_id != first.card_id
    cards = [
        i
        for i in desk.read("Patient", pid).resource["identifier"]
        if i["system"] == systems.E_HEALTH_CARD
    ]
    old = next(i for i in cards if i["value"] == first.card_id)
    assert old["use"] == "old" and old["period"]["end"] == second.start
    assert desk.store.accounts.card_pins.get(first.card_id) is None
    assert refused(desk, first.static_code, channel="payment", pin=PIN) == "CH-9006"
    assert use_code(desk, second.static_code, channel="payment", pin="135790").patient_id == pid
    assert card_uses(desk, pid) == [("payment", "failure"), ("payment", "success")]


@pytest.mark.parametrize("pin", ["", "12345", "abcdef", "1234567"])
def test_a_card_needs_a_six_digit_pin(desk: Repository, pin: str) -> None:
    with pytest.raises(OperationOutcomeError) as caught:
        issue_card(desk, new_patient(desk), pin)
    assert caught.value.code == "CH-9007"


def test_the_static_code_needs_its_pin_and_wrong_pins_lock_the_card(desk: Repository) -> None:
    pid = new_patient(desk)
    code = issue_card(desk, pid, PIN).static_code
    assert refused(desk, code, channel="check-in") == "CH-9004"
    assert refused(desk, code, channel="check-in", pin="000000") == "CH-9005"
    assert use_code(desk, code, channel="check-in", pin=PIN).patient_id == pid
    # a success forgets earlier failures; three wrong PINs in a row lock the card
    for _ in range(3):
        assert refused(desk, code, channel="check-in", pin="111111") == "CH-9005"
    assert refused(desk, code, channel="check-in", pin=PIN) == "CH-4007"
    uses = card_uses(desk, pid)
    assert uses.count(("check-in", "failure")) == 4 and uses.count(("check-in", "success")) == 1


def test_a_card_without_a_pin_has_no_usable_static_code(desk: Repository) -> None:
    from countyhealth.identity.static_code import new_card_id, static_code

    card_id = new_card_id()  # as the synthetic county gives residents a card number
    body = {
        "resourceType": "Patient",
        "identifier": [{"use": "usual", "system": systems.E_HEALTH_CARD, "value": card_id}],
    }
    pid = desk.create(body).id
    code = static_code(desk.store.settings.secret_key, card_id)
    assert refused(desk, code, channel="records", pin=PIN) == "CH-9004"
    # its dynamic code works as before
    dynamic = issue_code(desk.store.settings.secret_key, pid, card_id, _now(desk))
    assert use_code(desk, dynamic, channel="records").card_number == card_id


def test_unknown_codes_and_channels_are_refused(desk: Repository) -> None:
    from countyhealth.identity.static_code import new_card_id, static_code

    unissued = static_code(desk.store.settings.secret_key, new_card_id())
    assert refused(desk, unissued, channel="payment", pin=PIN) == "CH-9006"
    assert refused(desk, "CHS1.abc", channel="payment", pin=PIN) == "CH-9001"
    assert refused(desk, "张三", channel="payment") == "CH-9001"
    assert refused(desk, unissued, channel="pharmacy", pin=PIN) == "CH-9007"


def _now(repo: Repository) -> int:
    return repo.store.clock.now_us() // 1_000_000


def test_dynamic_codes_expired_tampered_or_from_elsewhere_are_refused(desk: Repository) -> None:
    pid = new_patient(desk)
    secret = desk.store.settings.secret_key
    stale = issue_code(
        secret, pid, None, _now(desk) - desk.store.settings.health_code_ttl_seconds - 5
    )
    assert refused(desk, stale, channel="registration") == "CH-9002"
    fresh = issue_code(secret, pid, None, _now(desk))
    assert refused(desk, fresh[:-6] + "AAAAAA", channel="registration") == "CH-9001"
    alien = issue_code("another-platform-" + "x" * 30, pid, None, _now(desk))
    assert refused(desk, alien, channel="registration") == "CH-9001"
    # lenient by default: the same code works twice within its lifetime
    assert use_code(desk, fresh, channel="registration").patient_id == pid
    assert use_code(desk, fresh, channel="payment").patient_id == pid


def test_a_replayed_code_is_refused_when_codes_are_single_use(
    card_settings: Settings,
) -> None:
    strict = card_settings.model_copy(update={"health_code_single_use": True})
    store = Store.open(strict)
    try:
        repo = store.repository(system_caller("desk"))
        pid = new_patient(repo)
        code = issue_code(strict.secret_key, pid, None, _now(repo))
        assert use_code(repo, code, channel="registration").patient_id == pid
        assert refused(repo, code, channel="payment") == "CH-9003"
        assert card_uses(repo, pid) == [("registration", "success"), ("payment", "failure")]
    finally:
        store.close()


def test_every_use_is_logged_with_its_channel(desk: Repository) -> None:
    pid = new_patient(desk)
    issued = issue_card(desk, pid, PIN)
    for channel in CHANNELS:
        dynamic = issue_code(desk.store.settings.secret_key, pid, issued.card_id, _now(desk))
        use_code(desk, dynamic, channel=channel)
        use_code(desk, issued.static_code, channel=channel, pin=PIN)
    assert card_uses(desk, pid) == [(c, "success") for c in CHANNELS for _ in range(2)]
    desk.store.audit.flush()
    events = [
        e
        for e in _audit_events(desk, pid)
        if any(s.get("system") == CARD_USE for s in e.get("subtype") or [])
    ]
    assert len(events) == 2 * len(CHANNELS)
    assert {e["agent"][0]["who"]["display"] for e in events} == {"registration desk"}


def _audit_events(repo: Repository, pid: str) -> list[dict[str, Any]]:
    from countyhealth.fhir.search_request import parse_search

    req = parse_search(("AuditEvent",), [("patient", f"Patient/{pid}"), ("_count", "200")])
    return [s.resource for s in repo.search(req).entries]
