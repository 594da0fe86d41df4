"""The account commands of ``countyhealth``: ``users add``, ``users demo``, ``clients add``.

Passwords and secrets are read from stdin (``--password-stdin``, ``--secret-stdin``) or typed
at a prompt, never taken from the command line where ``ps`` and shell history would keep them.
A generated secret is printed once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from .config import Settings
from .errors import OperationOutcomeError

err = Console(stderr=True)
out = Console()


def _open() -> tuple[Settings, Any]:
    from .store import Store, migrate

    settings = Settings()
    migrate(settings)
    return settings, Store.open(settings)


def _read_secret(from_stdin: bool, what: str) -> str | None:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        return line or None
    first = getpass.getpass(f"{what}: ")
    if getpass.getpass(f"{what} again: ") != first:
        err.print(f"[red]error:[/] the two {what.lower()}s differ")
        return None
    return first


def _users_add(args: argparse.Namespace) -> int:
    from .security import totp
    from .security.enrolment import add_user
    from .security.passwords import Passwords

    if args.no_password:
        password = None
    elif args.password_stdin or sys.stdin.isatty():
        password = _read_secret(args.password_stdin, "Password")
        if password is None:
            err.print("[red]error:[/] no password given")
            return 2
    else:
        err.print("[red]error:[/] pass the password on stdin with --password-stdin")
        return 2
    settings, store = _open()
    try:
        secret = totp.new_secret() if args.totp else None
        try:
            user = add_user(
                store.accounts,
                Passwords(settings),
                settings,
                username=args.username,
                roles=args.role,
                organization=args.org,
                actors=args.actor or [],
                display_name=args.display or "",
                password=password,
                phone=args.phone,
                patient_id=args.patient,
                totp_secret=secret,
            )
        except OperationOutcomeError as exc:
            err.print(f"[red]error:[/] {exc.issues[0].diagnostics}")
            return 2
        _warn_unknown(store, [r for r in (args.org, *(args.actor or [])) if r])
    finally:
        store.close()
    err.print(f"added {user.username} ({', '.join(user.roles)}) of {user.organization or '-'}")
    if secret is not None:
        out.print(totp.provisioning_uri(secret, user.username), soft_wrap=True)
        err.print("scan this otpauth:// URI into an authenticator app (shown once)")
    return 0


def _warn_unknown(store: Any, references: list[str]) -> None:
    from .store import system_caller

    repo = store.repository(system_caller("users"))
    for ref in references:
        rtype, _, rid = ref.partition("/")
        try:
            repo.read(rtype, rid)
        except OperationOutcomeError:
            err.print(f"[yellow]warning:[/] {ref} is not in the database (yet)")


def _users_demo(args: argparse.Namespace) -> int:
    from .security.demo import create_demo_accounts, demo_accounts_exist, demo_file
    from .security.passwords import Passwords
    from .store import system_caller

    settings = Settings()
    if settings.environment != "development":
        err.print(
            "[red]error:[/] demo accounts exist only in development "
            f"(COUNTYHEALTH_ENVIRONMENT is {settings.environment}); "
            "add real accounts with `countyhealth users add`"
        )
        return 2
    settings, store = _open()
    try:
        if args.if_missing and demo_accounts_exist(settings, store.accounts):
            err.print(
                f"demo accounts exist already (--if-missing); passwords in {demo_file(settings)}"
            )
            return 0
        try:
            made = create_demo_accounts(
                settings,
                store.accounts,
                Passwords(settings),
                store.repository(system_caller("demo")),
            )
        except OperationOutcomeError as exc:
            err.print(f"[red]error:[/] {exc.issues[0].diagnostics}")
            return 2
    finally:
        store.close()
    # Plain lines, one per account, so that no password is ever wrapped or cut.
    lines = [
        "# 演示账号 / demo accounts (development only): role, user name, password, organisation"
    ]
    for a in made:
        where = a.organization_name or (f"phone {a.phone}" if a.phone else "-")
        lines.append(f"{a.role}\t{a.username}\t{a.password}\t{where}")
    sys.stdout.write("\n".join(lines) + "\n")
    err.print(f"passwords are shown on the login page in development ({demo_file(settings)})")
    return 0


def _clients_add(args: argparse.Namespace) -> int:
    from .security.enrolment import add_client, new_secret
    from .security.passwords import Passwords

    jwks_text = Path(args.jwks_file).read_text("utf-8") if args.jwks_file else None
    generated = False
    if args.secret_stdin:
        secret = _read_secret(True, "Secret")
        if secret is None:
            err.print("[red]error:[/] no secret on stdin")
            return 2
    elif jwks_text is None:
        secret, generated = new_secret(), True
    else:
        secret = None
    settings, store = _open()
    try:
        try:
            client = add_client(
                store.accounts,
                Passwords(settings),
                client_id=args.client_id,
                scope=args.scope,
                organization=args.org,
                access=args.access,
                secret=secret,
                jwks_text=jwks_text,
            )
        except OperationOutcomeError as exc:
            err.print(f"[red]error:[/] {exc.issues[0].diagnostics}")
            return 2
    finally:
        store.close()
    how = " and ".join(
        m for m, on in (("a secret", secret is not None), ("a JWK Set", jwks_text)) if on
    )
    err.print(f"registered client {client.client_id} with {how}; scope: {client.scope}")
    if generated:
        out.print(secret)
        err.print("the client secret above is shown once")
    return 0


def register(sub: Any) -> None:
    """Add the ``users`` and ``clients`` commands to the parser's subcommands."""
    users = sub.add_parser("users", help="add user accounts; demo accounts in development")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser(
        "add",
        help="add a staff (or resident) account",
        description="Add an account with one or more platform roles (security/data/roles.json). "
        "The password is read from stdin (--password-stdin) or asked for at the terminal.",
    )
    add.add_argument("--username", required=True)
    add.add_argument("--role", action="append", required=True, help="a role code; repeatable")
    add.add_argument("--org", default=None, help="the organisation, as Organization/<id>")
    add.add_argument(
        "--actor", action="append", help="Practitioner/<id> or PractitionerRole/<id>; repeatable"
    )
    add.add_argument("--display", default=None, help="the name shown on pages")
    add.add_argument("--phone", default=None, help="mobile number (residents)")
    add.add_argument("--patient", default=None, help="the resident's own Patient id")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument(
        "--no-password", action="store_true", help="no password (signs in another way)"
    )
    add.add_argument(
        "--totp", action="store_true", help="require an authenticator code; prints its URI once"
    )
    add.set_defaults(func=_users_add)
    demo = users_sub.add_parser(
        "demo",
        help="one demo account per role in the seeded county (development only)",
        description="Create one account per platform role, bound to organisations and "
        "PractitionerRoles of the seeded synthetic county, with random passwords printed "
        "once and shown on the login page in development. Refused in other environments.",
    )
    demo.add_argument(
        "--if-missing", action="store_true", help="do nothing when the demo accounts exist"
    )
    demo.set_defaults(func=_users_demo)

    clients = sub.add_parser("clients", help="register API clients (OAuth2 client credentials)")
    clients_sub = clients.add_subparsers(dest="clients_command", required=True)
    cadd = clients_sub.add_parser(
        "add",
        help="register a client with a secret and/or a JWK Set (SMART Backend Services)",
        description="Register a system that obtains tokens at POST /auth/token. Without "
        "--secret-stdin or --jwks-file a random secret is generated and printed once.",
    )
    cadd.add_argument("--client-id", required=True)
    cadd.add_argument("--scope", required=True, help="the most it may get, e.g. 'system/*.rs'")
    cadd.add_argument("--org", default=None, help="its organisation, as Organization/<id>")
    cadd.add_argument(
        "--access",
        default=None,
        choices=["all", "consent", "compartment", "none"],
        help="reach of its tokens (default: consent with --org, all without)",
    )
    cadd.add_argument("--jwks-file", default=None, help="JSON file with its public JWK Set")
    cadd.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    cadd.set_defaults(func=_clients_add)
