"""Helpers of the sign-in tests: cheap password hashing, records of residents, keys."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import date
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from countyhealth.fhir import systems
from countyhealth.fhir.identifiers.gb11643 import build
from countyhealth.store import Repository

#: Argon2id at its cheapest, so that tests do not spend seconds hashing (the production
#: parameters are covered by the rehash test).
FAST_PASSWORDS: dict[str, object] = {
    "password_time_cost": 1,
    "password_memory_kib": 1024,
    "password_parallelism": 1,
}


def id_number(born: date, sequence: int) -> str:
    return build("330782", born, sequence)


def put_patient(
    repo: Repository,
    pid: str,
    *,
    phone: str | None = None,
    born: date = date(1990, 5, 1),
    number: str | None = None,
    name: str = "李梅",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "name": [{"use": "official", "text": name, "family": name[0], "given": [name[1:]]}],
        "birthDate": born.isoformat(),
    }
    if number:
        body["identifier"] = [{"use": "official", "system": systems.ID_CARD, "value": number}]
    if phone:
        body["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    repo.update("Patient", pid, body)
    return body


def put_carer(repo: Repository, rid: str, child: str, carer_number: str, code: str = "MTH") -> None:
    repo.update(
        "RelatedPerson",
        rid,
        {
            "resourceType": "RelatedPerson",
            "id": rid,
            "identifier": [{"use": "official", "system": systems.ID_CARD, "value": carer_number}],
            "active": True,
            "patient": {"reference": f"Patient/{child}"},
            "relationship": [
                {"coding": [{"system": systems.V3_ROLE_CODE, "code": code}]},
            ],
        },
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def sign_in(
    client: TestClient, username: str, password: str, totp: str = "", **extra: str
) -> httpx.Response:
    token = csrf_of(client.get("/auth/login").text)
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "totp": totp, "csrf_token": token},
        follow_redirects=False,
        **extra,  # type: ignore[arg-type]
    )


def es384_key(kid: str = "key-1") -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    """A fresh P-384 key pair: the private key and the public JWK (with kid and alg)."""
    private = ec.generate_private_key(ec.SECP384R1())
    public: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "alg": "ES384"}


def client_assertion(
    private: Any,
    client_id: str,
    audience: str,
    *,
    kid: str = "key-1",
    alg: str = "ES384",
    lifetime: int = 240,
    jti: str | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "exp": now + lifetime,
        "jti": jti or uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, private, algorithm=alg, headers={"kid": kid, "typ": "JWT"})
