"""The few places where SQLite and PostgreSQL differ (STYLE.md §5).

SQLite is the embedded default: WAL journal, one writer at a time (``BEGIN IMMEDIATE`` on a
single-connection writer pool per process, an advisory file lock between processes
(:mod:`.sqlite_writer_lock`) with ``busy_timeout`` behind it), many readers.
PostgreSQL is the production backend through psycopg 3; writers lock the resource row with
``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ARRAY, Engine, String, and_, bindparam, create_engine, event, func, select
from sqlalchemy.pool import NullPool, QueuePool
from sqlalchemy.sql import Select

from ..config import Settings
from ..errors import error
from .sqlite_writer_lock import serialise_writers


@dataclass(frozen=True, slots=True)
class Engines:
    """Read and write engines of one process. On PostgreSQL both are the same engine."""

    read: Engine
    write: Engine
    backend: str  # "sqlite" or "postgresql"

    @property
    def reads_inline(self) -> bool:
        """Whether single-row reads may run on the event loop instead of a worker thread.

        An SQLite read of one row is a page-cache lookup of tens of microseconds, cheaper than
        the hand-off to a thread; a PostgreSQL read waits on the network and goes to a thread.
        """
        return self.backend == "sqlite"

    def dispose(self) -> None:
        self.read.dispose()
        if self.write is not self.read:
            self.write.dispose()


def create_engines(settings: Settings) -> Engines:
    """Create the engines for ``settings.database_url`` (never at import time)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return _sqlite_engines(settings)
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_pre_ping=True,
        )
        return Engines(engine, engine, "postgresql")
    raise error("CH-5001", f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def _sqlite_engines(settings: Settings) -> Engines:
    path = settings.sqlite_path()
    if path is None:
        raise error("CH-5001", "SQLite needs a file path (WAL does not work in memory)")
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{Path(path)}"
    timeout_s = settings.sqlite_busy_timeout_ms / 1000

    def build(begin: str | None, pool: Any, *pragmas: str, **pool_args: Any) -> Engine:
        engine = create_engine(
            url,
            poolclass=pool,
            connect_args={"timeout": timeout_s, "check_same_thread": False},
            **pool_args,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions are off).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={settings.sqlite_busy_timeout_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA cache_size=-65536")
            for pragma in pragmas:
                cur.execute(pragma)
            cur.close()

        if begin is not None:

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:
                conn.exec_driver_sql(begin)

        return engine

    # Commits leave checkpoints to the thread of :mod:`.sqlite_checkpointer` when it runs.
    autocheckpoint = 0 if settings.sqlite_checkpoint_ms > 0 else 1000
    write = build(
        "BEGIN IMMEDIATE",
        QueuePool,
        f"PRAGMA wal_autocheckpoint={autocheckpoint}",
        pool_size=1,
        max_overflow=0,
        pool_timeout=timeout_s,
    )
    serialise_writers(write, Path(path), timeout_s)
    # Readers run in autocommit: each statement sees one consistent WAL snapshot, and a
    # single-statement read needs no BEGIN/COMMIT round trip.
    # As many pooled readers as request threads, so connections are not opened per request.
    read = build(None, QueuePool, pool_size=40, max_overflow=8)
    return Engines(read, write, "sqlite")


def create_migration_engine(settings: Settings) -> Engine:
    """A plain engine for Alembic (no pooling). On SQLite it switches the file to WAL once;
    the journal mode is persistent, so connections need not set it again."""
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=NullPool)
    if path is not None:

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

    return engine


def lock_for_update(stmt: Select[Any], backend: str) -> Select[Any]:
    """Lock the selected rows for the rest of the write transaction.

    SQLite needs nothing: ``BEGIN IMMEDIATE`` already holds the database write lock.
    """
    return stmt.with_for_update() if backend == "postgresql" else stmt


def starts_with(column: Any, prefix: str, backend: str) -> Any:
    """``column`` starts with ``prefix``, in a form the backend answers from a B-tree index.

    SQLite compares with the binary collation, so a prefix is the range [prefix,
    prefix + U+10FFFF). PostgreSQL answers ``LIKE 'prefix%'`` from the ``text_pattern_ops``
    indexes created by migration 0003 (a range would depend on the database collation).
    """
    if backend == "sqlite":
        return and_(column >= prefix, column < prefix + "\U0010ffff")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


def lock_key(conn: Any, key: str, backend: str) -> None:
    """Serialise writers that use the same ``key`` until the transaction ends (conditional
    creates with the same criteria). SQLite's writer already holds the database lock."""
    if backend == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(k)s))", {"k": key})


def reserve_resource_keys(conn: Any, count: int, backend: str) -> list[int]:
    """``count`` new ``resource.res_pk`` values for rows inserted with explicit keys.

    SQLite's single writer holds the database lock for the whole transaction, so the keys
    after the largest one are free; PostgreSQL draws them from the column's sequence.
    """
    if count == 0:
        return []
    if backend == "sqlite":
        first = int(conn.exec_driver_sql("SELECT coalesce(max(res_pk), 0) FROM resource").scalar())
        return list(range(first + 1, first + 1 + count))
    rows = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('resource', 'res_pk'))"
        " FROM generate_series(1, %(n)s)",
        {"n": count},
    )
    return [int(r[0]) for r in rows]


def insert_rows(
    conn: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], backend: str
) -> None:
    """Append ``rows`` to ``table`` the fastest way the backend offers, in ``conn``'s
    transaction: one ``executemany`` of a plain INSERT on SQLite, ``COPY … FROM STDIN`` on
    PostgreSQL (several times faster than row-by-row INSERTs for the tens of thousands of index
    rows of an import chunk)."""
    if not rows:
        return
    names = ", ".join(columns)
    if backend == "sqlite":
        marks = ", ".join(["?"] * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def in_values(column: Any, values: Sequence[str], backend: str) -> Any:
    """``column IN (values)`` with the values bound as one parameter, however many there are
    (SQLite limits the number of parameters of a statement): a JSON array read by
    ``json_each`` on SQLite, an array read by ``unnest`` on PostgreSQL."""
    if backend == "sqlite":
        rows = func.json_each(bindparam(None, orjson.dumps(list(values)).decode(), String))
        return column.in_(select(rows.table_valued("value").c.value))
    return column.in_(select(func.unnest(bindparam(None, list(values), ARRAY(String)))))
