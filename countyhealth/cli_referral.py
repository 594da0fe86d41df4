"""``countyhealth referral escalate``: escalate referrals not accepted in time.

Run it every few minutes (cron or a systemd timer); an urgent referral is escalated when it is
made, a routine one after the hours the referral rules give (docs/referral.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from .config import Settings

err = Console(stderr=True)


def _escalate(args: argparse.Namespace) -> int:
    from .referral import escalate_overdue
    from .store import Store, system_caller

    store = Store.open(Settings())
    try:
        done = escalate_overdue(store.repository(system_caller("referral")))
        err.print(f"{len(done)} referrals escalated")
    finally:
        store.close()
    return 0


def register_referral_commands(sub: Any) -> None:
    referral = sub.add_parser("referral", help="two-way referral: escalate overdue referrals")
    commands = referral.add_subparsers(dest="referral_command", required=True)
    escalate = commands.add_parser(
        "escalate", help="escalate referrals not accepted within the rules' time"
    )
    escalate.set_defaults(func=_escalate)


def _demo_cases(args: argparse.Namespace) -> int:
    from .demo_cases import demo_cases_exist, plant_billing_case, plant_referral_case
    from .security.demo import read_demo_file
    from .store import Store

    settings = Settings()
    if settings.environment != "development":
        err.print("[red]error:[/] demo cases exist only in development")
        return 2
    store = Store.open(settings)
    try:
        if args.if_missing and demo_cases_exist(store):
            err.print("demo cases exist already (--if-missing)")
            return 0
        accounts = {a["role"]: a for a in read_demo_file(settings)}
        referral = plant_referral_case(store, accounts)
        billing = plant_billing_case(store, accounts)
        err.print(
            f"referral case: Patient/{referral.patient} (the village doctor's patient); "
            f"billing case: Encounter/{billing.encounter} of the demo resident"
        )
    finally:
        store.close()
    return 0


def register_demo_commands(sub: Any) -> None:
    demo = sub.add_parser("demo", help="development demo: plant cases to walk the workflows")
    commands = demo.add_subparsers(dest="demo_command", required=True)
    cases = commands.add_parser(
        "cases",
        help="a patient the referral rules flag today and an open bill of the demo resident",
    )
    cases.add_argument("--if-missing", action="store_true", help="do nothing when planted")
    cases.set_defaults(func=_demo_cases)
