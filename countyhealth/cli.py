"""The ``countyhealth`` command: serve, migrate, token, seed, import, reindex, users, clients."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from .cli_accounts import register as register_account_commands
from .cli_linkage import register_linkage_commands
from .cli_referral import register_demo_commands, register_referral_commands
from .cli_schedule import register_schedule_commands
from .config import Settings

err = Console(stderr=True)


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    settings = Settings()
    if args.migrate:
        from .store import migrate

        migrate(settings)
    err.print(
        f"[bold]CountyHealth[/] serving http://{args.host}:{args.port} "
        f"({settings.environment}, {settings.database_url.split(':', 1)[0]}, "
        f"{args.workers} worker(s))"
    )
    serve(
        args.host,
        args.port,
        args.workers,
        log_level=settings.log_level,
        access_log=args.access_log,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from .store import migrate

    settings = Settings()
    with err.status("migrating the database…"):
        migrate(settings)
    err.print(f"database at {_safe_url(settings.database_url)} is up to date")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from rich.progress import Progress, TaskID

    from .store import Store

    store = Store.open(Settings())
    try:
        pending = sorted(store.search_state.pending(force=True))
        if not pending:
            err.print("every search parameter is indexed; nothing to do")
            return 0
        err.print(f"rebuilding the index of {len(pending)} search parameter(s)")
        with Progress(console=err) as progress:
            tasks: dict[str, TaskID] = {}

            def report(rtype: str, done: int, total: int) -> None:
                if rtype not in tasks:
                    tasks[rtype] = progress.add_task(rtype, total=total)
                progress.update(tasks[rtype], completed=done)

            count = store.search_state.reindex(chunk=args.chunk, progress=report)
        err.print(f"reindexed {count} resources")
    finally:
        store.close()
    return 0


def _token(args: argparse.Namespace) -> int:
    from .api.auth import issue_token

    settings = Settings()
    token = issue_token(
        settings, args.client, args.scope, kind=args.kind, lifetime_seconds=args.lifetime
    )
    sys.stdout.write(token + "\n")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from datetime import date
    from pathlib import Path

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .store import HistoryQuery, Store, migrate, system_caller
    from .synthetic import SeedOptions, default_ground_truth_path, seed_county

    settings = Settings()
    extra = {"county_name": args.county} if args.county else {}
    options = SeedOptions(
        residents=args.residents,
        seed=args.seed,
        start=date.fromisoformat(args.start),
        years=args.years,
        duplicate_share=args.duplicates,
        chunk_size=args.chunk_size,
        patients_only=args.patients_only,
        **extra,
    )
    migrate(settings)
    store = Store.open(settings)
    try:
        repo = store.repository(system_caller("seed"))
        if args.if_empty and repo.history(HistoryQuery(type="Patient", count=1)).entries:
            err.print("the database already holds Patients: not seeding (--if-empty)")
            return 0
        truth = (
            Path(args.ground_truth)
            if args.ground_truth
            else default_ground_truth_path(settings, options)
        )
        columns = (
            TextColumn("[bold]seeding {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("residents · {task.fields[resources]:,} resources"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task(options.county_name, total=options.residents, resources=0)
            report = seed_county(
                repo,
                options,
                ground_truth=truth,
                progress=lambda residents, resources: bar.update(
                    task, completed=residents, resources=resources
                ),
                parallel=not args.in_process,
                workers=0 if args.in_process else args.workers,
            )
    finally:
        store.close()
    err.print(
        f"{report.residents:,} residents, {report.resources:,} resources in {report.seconds:.1f} s "
        f"({report.resources / max(report.seconds, 1e-9):,.0f}/s); ground truth: {report.ground_truth}"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    import hashlib
    from pathlib import Path

    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .ingest import import_paths
    from .store import Store, migrate, system_caller

    settings = Settings()
    paths = [Path(p) for p in args.paths]
    key = hashlib.sha256("\0".join(sorted(str(p.resolve()) for p in paths)).encode()).hexdigest()
    db = settings.sqlite_path()
    folder = (db.parent if db is not None else Path("data")) / "import-state"
    state = Path(args.state) if args.state else folder / f"{key[:16]}.json"
    rejects = Path(args.rejects) if args.rejects else folder / f"{key[:16]}.rejects.ndjson"
    migrate(settings)
    store = Store.open(settings)
    try:
        columns = (
            TextColumn("[bold]importing"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("· {task.fields[resources]:,} resources"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task("import", total=None, resources=0)

            def progress(done: int, done_bytes: int, total_bytes: int) -> None:
                bar.update(task, completed=done_bytes, total=total_bytes, resources=done)

            report = import_paths(
                store.repository(system_caller("import")),
                paths,
                workers=args.workers,
                chunk_size=args.chunk_size,
                state_path=state,
                rejects_path=rejects,
                restart=args.restart,
                progress=progress,
            )
    finally:
        store.close()
    if report.already_complete:
        err.print(f"these files were imported already (state: {state}); --restart to import again")
        return 0
    rate = report.stored / max(report.seconds, 1e-9)
    err.print(
        f"{'resumed: ' if report.resumed else ''}{report.created:,} created, "
        f"{report.updated:,} updated, {report.unchanged:,} unchanged"
        f"{f', {report.bundles:,} request Bundles' if report.bundles else ''} "
        f"from {report.sources} file(s) in {report.seconds:.1f} s ({rate:,.0f} resources/s)"
    )
    if report.rejected:
        err.print(f"[yellow]{report.rejected:,} rejected[/]: reasons in {rejects}")
        return 3
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="countyhealth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web UI and FHIR API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 1)))
    serve.add_argument("--migrate", action="store_true", help="migrate the database first")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=_serve)

    mig = sub.add_parser("migrate", help="create or upgrade the database schema")
    mig.set_defaults(func=_migrate)

    rei = sub.add_parser(
        "reindex", help="rebuild search index rows after the search parameters changed"
    )
    rei.add_argument("--chunk", type=int, default=500, help="resources per transaction")
    rei.set_defaults(func=_reindex)

    tok = sub.add_parser("token", help="print a signed access token on stdout")
    tok.add_argument("--client", required=True, help="client id (the token subject)")
    tok.add_argument("--scope", required=True, help="SMART scopes, e.g. 'system/*.*'")
    tok.add_argument("--kind", default="client", choices=["client", "user"])
    tok.add_argument("--lifetime", type=int, default=None, help="seconds (default: setting)")
    tok.set_defaults(func=_token)

    seed = sub.add_parser(
        "seed",
        help="write a synthetic county (deterministic for a seed) through the Repository",
        description="Generate a fictional county medical community — geography, institutions, "
        "staff, households and their histories — and write it through the Repository bulk "
        "path. The same options always give the same content. See docs/synthetic.md.",
    )
    seed.add_argument("--residents", type=int, default=2000, help="number of residents")
    seed.add_argument(
        "--seed", type=int, default=1, help="random seed (another seed, another county)"
    )
    seed.add_argument("--start", default="2025-01-01", help="first day of the history (YYYY-MM-DD)")
    seed.add_argument("--years", type=int, default=1, help="length of the history in years")
    seed.add_argument(
        "--county", default=None, help="name of the fictional county (default 青山县)"
    )
    seed.add_argument(
        "--duplicates", type=float, default=0.02, help="share of residents registered twice"
    )
    seed.add_argument("--chunk-size", type=int, default=2000, help="resources per bulk write")
    seed.add_argument("--ground-truth", default=None, help="where to write the ground-truth JSON")
    seed.add_argument(
        "--patients-only",
        action="store_true",
        help="the network and Patient records only, no histories (identity benchmarks)",
    )
    seed.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has Patients"
    )
    seed.add_argument(
        "--in-process",
        action="store_true",
        help="generate, validate and index in this process (no helper processes)",
    )
    seed.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes that validate and index while this one writes",
    )
    seed.set_defaults(func=_seed)

    imp = sub.add_parser(
        "import",
        help="import NDJSON files, Bundles or folders of them (validated and indexed)",
        description="Import FHIR R4 data: NDJSON (one resource per line, .ndjson/.jsonl, "
        "optionally .gz), Bundles (transaction and batch Bundles run as requests; the "
        "resources of other Bundles are imported one by one) and single resources (.json). "
        "Folders are searched recursively. Every resource is validated and indexed; invalid "
        "ones are skipped and reported as OperationOutcomes. An interrupted import resumes "
        "where it stopped when run again with the same paths. Exit status 3 when some "
        "resources were rejected.",
    )
    imp.add_argument("paths", nargs="+", help="files or folders")
    imp.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes that validate and index (0: none, all in this process)",
    )
    imp.add_argument("--chunk-size", type=int, default=2000, help="resources per transaction")
    imp.add_argument("--rejects", default=None, help="NDJSON file of OperationOutcomes")
    imp.add_argument("--state", default=None, help="checkpoint file (default: per path set)")
    imp.add_argument(
        "--restart", action="store_true", help="ignore the checkpoint and import everything"
    )
    imp.set_defaults(func=_import)
    register_account_commands(sub)
    register_schedule_commands(sub)
    register_referral_commands(sub)
    register_demo_commands(sub)
    register_linkage_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # settings refused (e.g. default secret outside development)
        err.print(f"[red]error:[/] {exc}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
