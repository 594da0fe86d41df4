"""The benchmarks' county databases, built once under ``--cache-dir`` and reused.

A benchmark seeds its county the first time (minutes at 10⁵–10⁶ residents) and writes a
ground-truth file when the seeding has finished; that file marks the database as complete. A
database without it, or ``--rebuild``, is deleted and seeded again. With ``--database-url`` a
PostgreSQL database is used instead, built the first time in the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from countyhealth.config import Settings
from countyhealth.store import migrate


def add_cache_arguments(parser: argparse.ArgumentParser, *, postgresql: bool = True) -> None:
    """``--cache-dir`` and ``--rebuild``; with ``postgresql``, ``--database-url`` too."""
    if postgresql:
        parser.add_argument(
            "--database-url",
            default=None,
            help="PostgreSQL URL (an empty database the first time) instead of the cached "
            "SQLite file",
        )
    parser.add_argument("--cache-dir", default=".cache/bench", help="where built databases live")
    parser.add_argument("--rebuild", action="store_true", help="seed again (SQLite)")


def cached_settings(
    cache: Path,
    stem: str,
    marker: Path,
    *,
    database_url: str | None = None,
    rebuild: bool = False,
    derived: tuple[Path, ...] = (),
) -> Settings:
    """Settings of the database ``stem`` under ``cache``, migrated. A cached SQLite file whose
    ``marker`` is missing (the seeding never finished), or any with ``rebuild``, is deleted
    first, with the marker and the ``derived`` files made from it."""
    cache.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        environment="test",
        secret_key="bench-" + "x" * 40,
        database_url=database_url or f"sqlite:///{cache / f'{stem}.db'}",
        audit_spool_dir=str(cache / "audit-spool"),
    )
    db = settings.sqlite_path()
    if db is not None and (rebuild or not marker.exists()):
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
        for path in (marker, *derived):
            path.unlink(missing_ok=True)
    migrate(settings)
    return settings
