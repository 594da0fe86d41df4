"""Every role's home page renders after signing in, in both languages, and as JSON."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from countyhealth.security.roles import roles

USER_ROLES = sorted(code for code, spec in roles().items() if spec.kind == "user")


@pytest.mark.parametrize("role", USER_ROLES)
def test_home_page_of_each_role(browser_as: Callable[[str], TestClient], role: str) -> None:
    web = browser_as(role)
    page = web.get("/app")
    assert page.status_code == 200, page.text
    assert "您好" in page.text
    twin = web.get("/app", headers={"Accept": "application/json"}).json()
    assert twin["page"] == "home/home"
    assert twin["roles"] == [role]


def test_signed_out_visitor_is_sent_to_sign_in(browser_as: Callable[[str], TestClient]) -> None:
    web = browser_as("nurse")
    web.cookies.clear()
    answer = web.get("/app/patients?q=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/login?next=/app/patients%3Fq%3Dx"
