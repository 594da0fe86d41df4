"""The health bureau's break-glass report: who opened which patient's record without
consent, for what stated reason, when, and until when.

The openings are read through :meth:`countyhealth.store.Repository.break_glass_openings`,
which refuses callers without the ``audit-report`` privilege (403 CH-4013) and audits the
report as a read of the patients it names. The report names people by their account's
display name and organisations by name; the patient is named only by reference, because the
bureau's roles read no patient data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..fhir.instant import LOCAL_TZ, parse_period
from ..records import organization_names
from ..store import AccountStore, Repository
from .forms import FormInvalid, Problem
from .lookup import organization_label

#: The report's default window, in days before today.
DEFAULT_DAYS = 30
LIMIT = 500


def default_since(now_us: int, days: int = DEFAULT_DAYS) -> str:
    """The local (UTC+08:00) date ``days`` before ``now_us``, as ``YYYY-MM-DD``."""
    moment = datetime.fromtimestamp(now_us / 1_000_000, UTC).astimezone(LOCAL_TZ)
    return (moment - timedelta(days=days)).date().isoformat()


def since_of(text: str) -> int:
    """The first microsecond of a FHIR date or dateTime (local time when it has no offset).

    Raises:
        FormInvalid: ``text`` is not a date.
    """
    try:
        return parse_period(text.strip())[0]
    except ValueError as exc:
        raise FormInvalid([Problem("since", "date", {"value": text[:40]})]) from exc


def break_glass_report(
    repo: Repository, accounts: AccountStore, since: str = "", *, limit: int = LIMIT
) -> dict[str, Any]:
    """Openings since the date ``since`` (default: :data:`DEFAULT_DAYS` days ago), newest
    first, at most ``limit``.

    Raises:
        FormInvalid: ``since`` is not a date.
        OperationOutcomeError: 403 CH-4013 without the ``audit-report`` privilege.
    """
    since = since.strip() or default_since(repo.store.clock.now_us())
    openings = repo.break_glass_openings(since_of(since), limit=limit)
    names = organization_names(repo, (o.organization for o in openings))
    people: dict[str, str] = {}
    for opening in openings:
        kind, _, name = opening.caller.partition("/")
        if opening.caller not in people:
            account = accounts.user(name) if kind == "user" else None
            people[opening.caller] = account.display_name if account else name
    now = repo.store.clock.now_us()
    rows = []
    for opening in openings:
        row = opening.to_json()
        row["who"] = {"key": opening.caller, "name": people[opening.caller]}
        row["organization"] = organization_label(opening.organization, names)
        row["live"] = opening.expires_us > now
        rows.append(row)
    return {
        "since": since,
        "openings": rows,
        "limit": limit,
        "truncated": len(openings) >= limit,
    }
