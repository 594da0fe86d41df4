"""Demo accounts: one per role in a seeded county, in development only."""

from __future__ import annotations

from pathlib import Path

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.security.demo import (
    create_demo_accounts,
    demo_accounts_exist,
    demo_file,
    read_demo_file,
)
from countyhealth.security.passwords import Passwords
from countyhealth.security.roles import roles
from countyhealth.store import Store, system_caller
from countyhealth.synthetic import SeedOptions, seed_county
from tests.conftest import make_settings
from tests.support.accounts import FAST_PASSWORDS


def test_one_demo_account_per_role_bound_to_the_county(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = make_settings(
        "sqlite", tmp_path, request, environment="development", **FAST_PASSWORDS
    )
    store = Store.open(settings)
    try:
        repo = store.repository(system_caller("tests"))
        seed_county(repo, SeedOptions(residents=150, seed=11, years=1))
        assert not demo_accounts_exist(settings, store.accounts)
        made = create_demo_accounts(settings, store.accounts, Passwords(settings), repo)
        assert {a.role for a in made} == set(roles())
        by_role = {a.role: a for a in made}
        assert by_role["county-clinician"].organization == "Organization/org-h01"
        assert by_role["township-clinician"].organization.startswith("Organization/org-thc-")  # type: ignore[union-attr]
        assert by_role["village-doctor"].organization.startswith("Organization/org-vc-")  # type: ignore[union-attr]
        assert by_role["dispatcher"].organization == "Organization/org-ems"
        actors = [a.actor for a in made if a.actor]
        assert len(actors) == len(set(actors))  # one PractitionerRole each
        for a in made:
            if a.kind == "client":
                client = store.accounts.client(a.username)
                assert client is not None and client.secret_hash
                assert Passwords(settings).check(client.secret_hash, a.password).ok
                continue
            user = store.accounts.user(a.username)
            assert user is not None and user.roles == (a.role,)
            assert Passwords(settings).check(user.password_hash, a.password).ok
        resident = store.accounts.user(by_role["resident"].username)
        assert resident is not None and resident.patient_id and resident.phone
        assert demo_accounts_exist(settings, store.accounts)
        assert oct(demo_file(settings).stat().st_mode)[-3:] == "600"
        assert [a["username"] for a in read_demo_file(settings)] == [a.username for a in made]
        test_settings = settings.model_copy(update={"environment": "test"})
        assert read_demo_file(test_settings) == []
        with pytest.raises(OperationOutcomeError, match="only in development"):
            create_demo_accounts(test_settings, store.accounts, Passwords(settings), repo)
    finally:
        store.close()


def test_demo_needs_a_seeded_county(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    settings = make_settings(
        "sqlite", tmp_path, request, environment="development", **FAST_PASSWORDS
    )
    store = Store.open(settings)
    try:
        repo = store.repository(system_caller("tests"))
        with pytest.raises(OperationOutcomeError, match="seed"):
            create_demo_accounts(settings, store.accounts, Passwords(settings), repo)
    finally:
        store.close()
