"""``countyhealth schedule …``: generate the slot pool ahead and record the day's no-shows.

Run ``schedule generate`` daily (cron or a systemd timer) so that the pool always reaches the
rules' horizon; ``schedule no-shows`` after the last session marks booked appointments whose
slot ended without a check-in.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from rich.console import Console

from .config import Settings

err = Console(stderr=True)


def _generate(args: argparse.Namespace) -> int:
    from .scheduling import generate_pool
    from .store import Store, system_caller

    store = Store.open(Settings())
    try:
        repo = store.repository(system_caller("scheduling"))
        with err.status("generating the slot pool…"):
            done = generate_pool(
                repo, date.fromisoformat(args.start) if args.start else None, args.days
            )
        err.print(
            f"{done.departments} departments, {done.slots_created} new slots "
            f"({done.slots_existing} already there), {done.first_day} – {done.last_day}"
        )
    finally:
        store.close()
    return 0


def _no_shows(args: argparse.Namespace) -> int:
    from .scheduling.no_shows import sweep_no_shows
    from .store import Store, system_caller

    store = Store.open(Settings())
    try:
        marked = sweep_no_shows(store.repository(system_caller("scheduling")))
        err.print(f"{marked} appointments marked as no-show")
    finally:
        store.close()
    return 0


def register_schedule_commands(sub: Any) -> None:
    schedule = sub.add_parser("schedule", help="the slot pool: generate ahead, record no-shows")
    commands = schedule.add_subparsers(dest="schedule_command", required=True)
    gen = commands.add_parser("generate", help="create the missing schedules, rooms and slots")
    gen.add_argument("--start", default=None, help="first day (YYYY-MM-DD, default today)")
    gen.add_argument("--days", type=int, default=None, help="days (default: the rules' horizon)")
    gen.set_defaults(func=_generate)
    miss = commands.add_parser("no-shows", help="mark ended, unattended bookings as no-shows")
    miss.set_defaults(func=_no_shows)
