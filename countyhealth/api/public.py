"""The routes deliberately reachable without credentials; every other route answers 401.

(method, path template) pairs as the router knows them. A test walks the application's routes
and checks that each one not listed here refuses an anonymous request.
"""

from __future__ import annotations

PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        # platform
        ("GET", "/healthz"),
        ("GET", "/fhir/metadata"),
        ("GET", "/fhir/.well-known/smart-configuration"),
        ("GET", "/openapi.json"),
        # signing in (the forms and the OAuth endpoints authenticate what they receive)
        ("GET", "/auth/login"),
        ("GET", "/auth/style.css"),
        ("POST", "/auth/login"),
        ("POST", "/auth/otp"),
        ("POST", "/auth/otp/verify"),
        ("POST", "/auth/token"),
        ("POST", "/auth/revoke"),
        # web pages: the entry redirect, the language switch (a cookie), scripts and styles
        ("GET", "/"),
        ("GET", "/lang/{language}"),
        ("GET", "/static/{path:path}"),
    }
)
