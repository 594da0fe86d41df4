"""``countyhealth linkage``: train the match model, deduplicate every Patient, evaluate.

- ``train`` reads the Patients of the database and fits the model with Splink (docs/linkage.md).
- ``dedupe`` scores every candidate pair and links certain pairs / opens review Tasks.
- ``evaluate`` scores without writing and compares with a synthetic county's ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from .config import Settings

err = Console(stderr=True)


def _thresholds(settings: Settings) -> Any:
    from .linkage.dedupe import Thresholds

    return Thresholds(
        certain=settings.mpi_certain_probability,
        probable=settings.mpi_probable_probability,
        possible=settings.mpi_possible_probability,
    )


def _train(args: argparse.Namespace) -> int:
    import duckdb

    from .identity.matching.model import MODEL_PATH
    from .linkage.table import load_from_store
    from .linkage.train import train
    from .store import Store, system_caller

    store = Store.open(Settings())
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        with err.status("reading patients"):
            n = load_from_store(store.repository(system_caller("linkage")), con)
        err.print(f"{n:,} patients read in {time.perf_counter() - started:.1f} s")
        with err.status("training (u by random sampling, m by EM)"):
            command = (
                f"countyhealth linkage train --seed {args.seed} --max-pairs {args.max_pairs:g}"
            )
            source = {"data": args.describe, "command": command} if args.describe else {}
            model = train(con, seed=args.seed, max_pairs=args.max_pairs, source=source)
    finally:
        con.close()
        store.close()
    out = Path(args.out) if args.out else MODEL_PATH
    out.write_text(json.dumps(model, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    err.print(f"model written to {out} ({time.perf_counter() - started:.1f} s)")
    return 0


def _dedupe(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .linkage.dedupe import Hooks, dedupe
    from .store import Store, system_caller

    settings = Settings()
    store = Store.open(settings)
    try:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err) as bar:
            reading = bar.add_task("reading patients", total=None)
            acting: list[Any] = []

            def step(name: str) -> None:
                if name.startswith("scoring"):
                    bar.update(reading, total=bar.tasks[reading].completed)
                    acting.append(bar.add_task(name, total=None))
                elif name.startswith("linking"):
                    bar.update(acting[0], total=1, completed=1)
                    acting.insert(0, bar.add_task(name, total=None))

            hooks = Hooks(
                read=lambda n: bar.advance(reading, n),
                step=step,
                acted=lambda done, total: bar.update(acting[0], completed=done, total=total),
            )
            report, _ = dedupe(
                store.repository(system_caller("linkage")),
                _thresholds(settings),
                threshold=args.threshold,
                dry_run=args.dry_run,
                hooks=hooks,
            )
            for task in bar.tasks:  # a step that ended without a count (scoring, an empty apply)
                if task.total is None:
                    bar.update(
                        task.id, total=max(task.completed, 1), completed=max(task.completed, 1)
                    )
    finally:
        store.close()
    summary = {
        "patients": report.patients,
        "pairs": report.pairs,
        "certain": report.certain,
        "probable": report.probable,
        "possible": report.possible,
        "linked": report.linked,
        "reviews_opened": report.reviews,
        "unchanged": report.unchanged,
        "failed": report.failed,
        "dry_run": args.dry_run,
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "total_seconds": round(report.total_seconds, 2),
    }
    for problem in report.problems:
        err.print(f"[yellow]not done:[/] {problem}")
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .linkage.dedupe import dedupe
    from .linkage.evaluate import confusion, planted_pairs
    from .store import Store, system_caller

    settings = Settings()
    truth = json.loads(Path(args.ground_truth).read_text(encoding="utf-8"))
    store = Store.open(settings)
    try:
        with err.status("scoring every candidate pair"):
            report, pairs = dedupe(
                store.repository(system_caller("linkage")),
                _thresholds(settings),
                threshold=args.threshold,
                dry_run=True,
            )
    finally:
        store.close()
    result = confusion(
        ((p.a, p.b) for p in pairs), planted_pairs(truth["duplicates"]), report.patients
    )
    out = {"patients": report.patients, "threshold": args.threshold, **result.as_dict()}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


def register_linkage_commands(sub: Any) -> None:
    linkage = sub.add_parser(
        "linkage", help="patient record linkage with Splink: train, dedupe, evaluate"
    )
    commands = linkage.add_subparsers(dest="linkage_command", required=True)
    train = commands.add_parser(
        "train", help="fit the match model on the database's Patients (no labels used)"
    )
    train.add_argument("--out", default=None, help="model file (default: the shipped model)")
    train.add_argument("--seed", type=int, default=7, help="seed of the u random sampling")
    train.add_argument("--max-pairs", type=float, default=2e7, help="pairs sampled to estimate u")
    train.add_argument(
        "--describe", default="", help="what the data is, recorded as the model's provenance"
    )
    train.set_defaults(func=_train)
    dd = commands.add_parser(
        "dedupe",
        help="score every Patient pair; link certain pairs, open review Tasks for the rest",
    )
    dd.add_argument(
        "--threshold",
        choices=["probable", "possible"],
        default="probable",
        help="lowest grade that opens a review Task (default probable)",
    )
    dd.add_argument("--dry-run", action="store_true", help="score and count, write nothing")
    dd.set_defaults(func=_dedupe)
    ev = commands.add_parser(
        "evaluate", help="precision and recall against a synthetic county's ground truth"
    )
    ev.add_argument("--ground-truth", required=True, help="the ground-truth JSON of the seed")
    ev.add_argument("--threshold", choices=["probable", "possible"], default="probable")
    ev.set_defaults(func=_evaluate)
