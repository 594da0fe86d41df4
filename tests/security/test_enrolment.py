"""Accounts and clients are checked before they are stored."""

from __future__ import annotations

import json

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.security.enrolment import add_client, add_user
from countyhealth.security.services import AuthServices
from tests.support.accounts import es384_key


def test_a_valid_account_is_stored_with_a_hashed_password(services: AuthServices) -> None:
    user = add_user(
        services.accounts,
        services.passwords,
        services.settings,
        username="dr.zhou",
        roles=["county-clinician"],
        organization="Organization/org-h01",
        actors=["Practitioner/prac-0001", "PractitionerRole/role-0001"],
        display_name="周医生",
        password="a long enough password",
    )
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert services.passwords.check(user.password_hash, "a long enough password").ok


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"username": "has space"}, "user name"),
        ({"roles": []}, "at least one role"),
        ({"roles": ["surgeon"]}, "not a platform role"),
        ({"roles": ["integrator"]}, "clients add"),
        ({"organization": "org-h01"}, "Organization/"),
        ({"organization": None}, "organisation"),
        ({"actors": ["Patient/x"]}, "actor"),
        ({"password": "short"}, "at least 10"),
        ({"roles": ["resident"], "organization": None}, "Patient id"),
    ],
)
def test_bad_accounts_are_refused(
    services: AuthServices, fields: dict[str, object], expected: str
) -> None:
    values: dict[str, object] = {
        "username": "dr.zhou",
        "roles": ["village-doctor"],
        "organization": "Organization/org-vc-001",
        "password": "a long enough password",
    }
    values.update(fields)
    with pytest.raises(OperationOutcomeError) as caught:
        add_user(services.accounts, services.passwords, services.settings, **values)  # type: ignore[arg-type]
    assert expected in caught.value.issues[0].diagnostics
    assert services.accounts.user("dr.zhou") is None


def test_clients_need_a_usable_secret_or_public_keys(services: AuthServices) -> None:
    _, public = es384_key("k1")
    client = add_client(
        services.accounts,
        services.passwords,
        client_id="his-1",
        scope="system/*.rs",
        organization="Organization/org-h01",
        jwks_text=json.dumps({"keys": [public]}),
    )
    assert client.jwks == {"keys": [public]} and client.secret_hash is None
    bad: list[tuple[dict[str, object], str]] = [
        ({"scope": "openid"}, "no SMART scope"),
        ({"secret": None, "jwks_text": None}, "secret or a JWK Set"),
        ({"secret": "short"}, "at least 16"),
        ({"access": "everything"}, "access is one of"),
        ({"access": "consent", "organization": None}, "organisation"),
        ({"jwks_text": '{"keys": []}'}, "at least one key"),
        ({"jwks_text": json.dumps({"keys": [{**public, "d": "x"}]})}, "private key"),
        ({"jwks_text": json.dumps({"keys": [{**public, "crv": "P-256"}]})}, "not an RSA"),
        ({"jwks_text": "not json"}, "not usable"),
    ]
    for fields, expected in bad:
        values: dict[str, object] = {
            "client_id": "his-2",
            "scope": "system/*.rs",
            "organization": "Organization/org-h01",
            "secret": "a secret of sixteen+",
        }
        values.update(fields)
        with pytest.raises(OperationOutcomeError) as caught:
            add_client(services.accounts, services.passwords, **values)  # type: ignore[arg-type]
        assert expected in caught.value.issues[0].diagnostics, fields
    assert services.accounts.client("his-2") is None
