"""Staff accounts for the health bureau: list them, add one, disable or enable one.

Only a caller whose role has the ``manage-users`` privilege may do any of this:
:class:`StaffAccounts` refuses anyone else when it is made (403 CH-4013), so no page or
script can reach the accounts without the check. Accounts are checked and stored by
:func:`countyhealth.security.enrolment.add_user` — the same rules as ``countyhealth users
add`` — after the checks a form needs on top (a display name, a role staff may hold, an
organisation that exists). Residents' accounts, bound to their Patient and made when they
first sign in by phone, are not staff accounts and are left out.

A new account gets a random initial password, returned once to be handed over; only its
Argon2id hash is stored. Password hashes and TOTP seeds never leave this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import OperationOutcomeError, error, not_found
from ..fhir.instant import format_instant
from ..records import organization_names
from ..records.query import find
from ..security.enrolment import add_user, new_secret
from ..security.passwords import Passwords
from ..security.roles import Role, roles
from ..store import AccountStore, Caller, Repository, UserAccount
from .forms import FormInvalid, Problem, invalid, raise_if
from .lookup import organization_label

PRIVILEGE = "manage-users"
PAGE_SIZE = 50
DISPLAY_MAX = 200
#: Organisations offered in the form's list (the demo county has about 185).
_ORGANIZATION_SCAN = 1000
#: The shape enrolment.add_user accepts; checked here too so the form can say it in words.
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_ORGANIZATION = re.compile(r"^Organization/([A-Za-z0-9\-.]{1,64})$")


def require_privilege(caller: Caller, privilege: str) -> None:
    """Refuse (403 CH-4013) a caller whose roles lack ``privilege``."""
    if privilege not in caller.privileges:
        raise error("CH-4013", f"{caller.key} may not manage accounts (needs {privilege})")


def staff_roles() -> list[Role]:
    """The roles a staff account may be given: people's roles, not those of API clients,
    and not the residents' (whose access follows their own records)."""
    return [r for r in roles().values() if r.kind == "user" and r.access != "compartment"]


def role_label(code: str) -> dict[str, str]:
    found = roles().get(code)
    return {"code": code, "zh": found.zh if found else code, "en": found.en if found else code}


def _clean(text: str) -> str:
    return " ".join((text or "").split())


@dataclass(frozen=True, slots=True)
class UserForm:
    """A new staff account as typed into the form."""

    username: str
    display_name: str
    role: str
    organization: str = ""

    @classmethod
    def of(cls, username: str, display_name: str, role: str, organization: str = "") -> UserForm:
        org = (organization or "").strip()
        if org and "/" not in org:
            org = f"Organization/{org}"  # a bare id is accepted
        return cls((username or "").strip(), _clean(display_name), (role or "").strip(), org)

    def to_json(self) -> dict[str, str]:
        return {
            "username": self.username,
            "displayName": self.display_name,
            "role": self.role,
            "organization": self.organization,
        }


class StaffAccounts:
    """The staff accounts as a caller with ``manage-users`` may see and change them."""

    def __init__(
        self,
        repo: Repository,
        accounts: AccountStore,
        passwords: Passwords,
        settings: Settings,
    ) -> None:
        require_privilege(repo.caller, PRIVILEGE)
        self.repo = repo
        self.accounts = accounts
        self.passwords = passwords
        self.settings = settings

    # ------------------------------------------------------------------ reading

    def page(self, offset: int = 0, limit: int = PAGE_SIZE) -> dict[str, Any]:
        """One page of staff accounts by user name, with the previous and next offsets."""
        offset = max(0, offset)
        found = self.accounts.users(offset, limit + 1)
        shown = found[:limit]
        names = organization_names(self.repo, (u.organization for u in shown))
        return {
            "users": [self.row(u, names) for u in shown],
            "offset": offset,
            "next": offset + limit if len(found) > limit else None,
            "previous": max(0, offset - limit) if offset > 0 else None,
        }

    def row(self, user: UserAccount, names: dict[str, str] | None = None) -> dict[str, Any]:
        """What the pages show of an account (never its password hash or TOTP seed)."""
        org = user.organization
        return {
            "username": user.username,
            "displayName": user.display_name,
            "roles": [role_label(c) for c in user.roles],
            "organization": organization_label(org, names or {}),
            "disabled": user.disabled,
            "twoFactor": user.totp_secret is not None,
            "created": format_instant(user.created_us) if user.created_us else None,
            "self": user.username == self.repo.caller.id,
        }

    def form_choices(self) -> dict[str, Any]:
        """The roles and organisations the form offers."""
        orgs = find(self.repo, "Organization", [("_sort", "phonetic")], count=_ORGANIZATION_SCAN)
        return {
            "roles": [
                {"code": r.code, "zh": r.zh, "en": r.en, "needsOrganization": r.access == "consent"}
                for r in staff_roles()
            ],
            "organizations": [
                {"reference": f"Organization/{o['id']}", "name": str(o.get("name") or o["id"])}
                for o in orgs.resources
            ],
        }

    # ------------------------------------------------------------------ changing

    def _problems(self, form: UserForm) -> tuple[list[Problem], str | None]:
        problems: list[Problem] = []
        if not form.username:
            problems.append(Problem("username", "required"))
        elif not _USERNAME.match(form.username):
            problems.append(Problem("username", "shape"))
        elif self.accounts.user(form.username) is not None:
            problems.append(Problem("username", "taken", {"username": form.username}))
        if not form.display_name:
            problems.append(Problem("display", "required"))
        elif len(form.display_name) > DISPLAY_MAX:
            problems.append(Problem("display", "long", {"max": str(DISPLAY_MAX)}))
        offered = {r.code: r for r in staff_roles()}
        chosen = offered.get(form.role)
        if chosen is None:
            problems.append(Problem("role", "unknown"))
        org_name = None
        if form.organization:
            shape = _ORGANIZATION.match(form.organization)
            if shape is None:
                problems.append(Problem("organization", "shape"))
            else:
                try:
                    org = self.repo.read("Organization", shape.group(1)).resource
                    org_name = str(org.get("name") or shape.group(1))
                except OperationOutcomeError:
                    problems.append(
                        Problem("organization", "unknown", {"reference": form.organization})
                    )
        elif chosen is not None and chosen.access == "consent":
            problems.append(Problem("organization", "required"))
        return problems, org_name

    def create(self, form: UserForm) -> dict[str, Any]:
        """Add the account of ``form`` with a random initial password.

        Returns:
            The account as :meth:`row` shows it, with ``password``: the initial password,
            in the clear this once.

        Raises:
            FormInvalid: what is wrong with the form (nothing is stored).
        """
        problems, org_name = self._problems(form)
        raise_if(problems)
        password = new_secret()
        try:
            user = add_user(
                self.accounts,
                self.passwords,
                self.settings,
                username=form.username,
                roles=[form.role],
                organization=form.organization or None,
                display_name=form.display_name,
                password=password,
            )
        except OperationOutcomeError as exc:
            if exc.code == "CH-2009":  # taken meanwhile
                raise FormInvalid(
                    [Problem("username", "taken", {"username": form.username})]
                ) from exc
            raise FormInvalid([invalid("username", exc)]) from exc
        names = {form.organization: org_name} if org_name else {}
        return {**self.row(user, names), "password": password}

    def set_disabled(self, username: str, disabled: bool) -> dict[str, Any]:
        """Disable (its sessions end at once) or enable a staff account.

        Raises:
            FormInvalid: the caller's own account cannot be disabled by its owner.
            OperationOutcomeError: 404 for an unknown user name or a resident's account.
        """
        user = self.accounts.user(username)
        if user is None or user.patient_id is not None:
            raise not_found("UserAccount", username[:100])
        if disabled and username == self.repo.caller.id:
            raise FormInvalid([Problem("account", "self")])
        if user.disabled != disabled:
            self.accounts.set_disabled(username, disabled)
            user = self.accounts.user(username) or user
        names = organization_names(self.repo, [user.organization])
        return self.row(user, names)
