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
