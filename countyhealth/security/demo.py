"""Demo accounts for the seeded synthetic county (``countyhealth users demo``, development only).

One account per role of ``roles.json``, each bound to a real organisation and PractitionerRole
of the county as ``data/demo_accounts.json`` says, with a random password. The passwords are
printed once and kept in a file beside the database, which the login page shows in
development, marked as demo-only. The integrator role becomes an API client with a secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import error
from ..fhir import systems
from ..fhir.search_request import parse_search
from ..store import AccountStore, Repository
from . import residents
from .enrolment import add_client, add_user, new_secret
from .login import resident_username
from .passwords import Passwords
from .roles import roles
from .timesource import TimeSource


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: str
    zh: str
    en: str
    username: str
    password: str
    organization: str | None
    organization_name: str
    actor: str | None
    display: str
    phone: str | None = None
    kind: str = "user"  # or "client"


@cache
def _plan() -> dict[str, dict[str, Any]]:
    text = resources.files(__package__).joinpath("data/demo_accounts.json").read_text("utf-8")
    accounts: dict[str, dict[str, Any]] = json.loads(text)["accounts"]
    return accounts


def demo_file(settings: Settings) -> Path:
    """Where the demo passwords are kept: in the server's local data folder, the one that
    holds the audit spool (beside the SQLite database, or ``data/`` by default)."""
    return settings.audit_spool_path().parent / "demo-accounts.json"


def read_demo_file(settings: Settings) -> list[dict[str, Any]]:
    """The demo accounts to show on the login page (development only; [] otherwise)."""
    if settings.environment != "development":
        return []
    try:
        data = json.loads(demo_file(settings).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def _search(repo: Repository, rtype: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    req = parse_search([rtype], [*params, ("_count", "100")], strict=True, max_count=100)
    return sorted((s.resource for s in repo.search(req).entries), key=lambda r: str(r["id"]))


def _organization(repo: Repository, facility_type: str) -> dict[str, Any]:
    found = _search(repo, "Organization", [("type", f"{systems.FACILITY_TYPE}|{facility_type}")])
    if not found:
        raise error(
            "CH-1006",
            f"the database has no organisation of type {facility_type!r}: seed the synthetic "
            "county first (countyhealth seed)",
        )
    return found[0]


def _practitioner_role(
    repo: Repository, org_id: str | None, spec: dict[str, Any], taken: set[str]
) -> dict[str, Any] | None:
    if "care_role" in spec:
        code = f"{systems.CARE_ROLE}|{spec['care_role']}"
    elif "practitioner_role" in spec:
        code = f"{systems.PRACTITIONER_ROLE}|{spec['practitioner_role']}"
    else:
        return None
    params = [("role", code)]
    if org_id:
        params.append(("organization", f"Organization/{org_id}"))
    found = [r for r in _search(repo, "PractitionerRole", params) if r["id"] not in taken]
    if not found:
        raise error("CH-1006", f"no PractitionerRole with {code} at Organization/{org_id}")
    taken.add(found[0]["id"])
    return found[0]


def _resident(repo: Repository, clock: TimeSource) -> residents.Resident:
    """A mother with a phone and a child in her care (or, failing that, anyone with a phone)."""
    today = residents.today_in_china(clock.now_us())
    fallback = None
    for person in _search(repo, "RelatedPerson", [("relationship", "MTH")]):
        for telecom in person.get("telecom") or ():
            if telecom.get("system") != "phone" or not telecom.get("value"):
                continue
            try:
                found = residents.find_by_phone(repo, str(telecom["value"]), today)
            except Exception:  # a shared phone: try the next mother
                continue
            if found is not None and len(found.patients) > 1:
                return found
            fallback = fallback or found
    if fallback is None:
        for patient in _search(repo, "Patient", [("active", "true")]):
            phones = [t["value"] for t in patient.get("telecom") or () if t.get("value")]
            if phones and residents.id_number_of(patient):
                fallback = residents.find_by_phone(repo, str(phones[0]), today)
                if fallback is not None:
                    break
    if fallback is None:
        raise error("CH-1006", "no Patient with a phone: seed the synthetic county first")
    return fallback


def create_demo_accounts(
    settings: Settings,
    accounts: AccountStore,
    passwords: Passwords,
    repo: Repository,
    clock: TimeSource | None = None,
) -> list[DemoAccount]:
    """Create (or give new passwords to) one demo account per role; write the demo file."""
    if settings.environment != "development":
        raise error(
            "CH-5001",
            "demo accounts exist only in development (COUNTYHEALTH_ENVIRONMENT=development); "
            "add real accounts with `countyhealth users add`",
        )
    clock = clock or TimeSource()
    made: list[DemoAccount] = []
    taken: set[str] = set()  # one PractitionerRole per demo account
    plan = _plan()
    for code, r in roles().items():
        spec = plan.get(code)
        if spec is None:
            continue
        password = new_secret()
        if spec.get("resident"):
            resident = _resident(repo, clock)
            username = resident_username(resident.patient_id)
            phone = _phone_of(repo, resident.patient_id)
            _put_user(
                settings,
                accounts,
                passwords,
                username=username,
                roles=[code],
                display_name=resident.display,
                password=password,
                phone=phone,
                patient_id=resident.patient_id,
            )
            made.append(
                DemoAccount(
                    code, r.zh, r.en, username, password, None, "", None, resident.display, phone
                )
            )
            continue
        org = _organization(repo, spec["facility_type"]) if "facility_type" in spec else None
        prole = _practitioner_role(repo, org["id"] if org else None, spec, taken)
        if org is None and prole is not None:
            where = str(prole["organization"]["reference"]).split("/", 1)[1]
            org = _search(repo, "Organization", [("_id", where)])[0]
        org_ref = f"Organization/{org['id']}" if org else None
        org_name = str(org.get("name", "")) if org else ""
        if spec.get("client"):
            client_id = f"demo-{code}"
            if accounts.client(client_id) is None:
                add_client(
                    accounts,
                    passwords,
                    client_id=client_id,
                    scope=r.scopes,
                    organization=org_ref,
                    secret=password,
                )
            else:
                accounts.set_client_secret_hash(client_id, passwords.hash(password))
            made.append(
                DemoAccount(
                    code,
                    r.zh,
                    r.en,
                    client_id,
                    password,
                    org_ref,
                    org_name,
                    None,
                    client_id,
                    kind="client",
                )
            )
            continue
        actors: list[str] = []
        display = f"{r.zh} · {org_name}"
        if prole is not None:
            actors = [str(prole["practitioner"]["reference"]), f"PractitionerRole/{prole['id']}"]
            display = f"{prole['practitioner'].get('display', '')} ({r.zh})"
        username = f"demo-{code}"
        _put_user(
            settings,
            accounts,
            passwords,
            username=username,
            roles=[code],
            organization=org_ref,
            actors=actors,
            display_name=display,
            password=password,
        )
        made.append(
            DemoAccount(
                code,
                r.zh,
                r.en,
                username,
                password,
                org_ref,
                org_name,
                actors[-1] if actors else None,
                display,
            )
        )
    _write_demo_file(settings, made)
    return made


def demo_accounts_exist(settings: Settings, accounts: AccountStore) -> bool:
    return demo_file(settings).exists() and bool(accounts.usernames("demo-"))


def _put_user(
    settings: Settings, accounts: AccountStore, passwords: Passwords, **fields: Any
) -> None:
    existing = accounts.user(fields["username"])
    if existing is None:
        add_user(accounts, passwords, settings, **fields)
    else:
        accounts.set_password_hash(existing.username, passwords.hash(fields["password"]))


def _phone_of(repo: Repository, patient_id: str) -> str | None:
    found = _search(repo, "Patient", [("_id", patient_id)])
    for telecom in (found[0].get("telecom") or ()) if found else ():
        if telecom.get("system") == "phone" and telecom.get("value"):
            return str(telecom["value"])
    return None


def _write_demo_file(settings: Settings, made: list[DemoAccount]) -> None:
    path = demo_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump([asdict(a) for a in made], out, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
