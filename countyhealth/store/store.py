"""The per-process store: engines, clock, audit writer, SQLite checkpointer, index extraction
and bulk jobs, built by a factory."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..fhir.indexing import extract
from .accounts import AccountStore
from .audit_writer import AuditWriter
from .clock import Clock
from .context import Caller
from .dialect import Engines, create_engines
from .jobs import JobStore
from .repository import Repository
from .rows import IndexExtractor, no_index_rows
from .search_state import SearchParamState
from .sqlite_checkpointer import start_checkpointer


class Store:
    """Everything a process needs to serve data. Build one per process with :meth:`open`."""

    def __init__(
        self, settings: Settings, engines: Engines, extract: IndexExtractor = no_index_rows
    ) -> None:
        self.settings = settings
        self.engines = engines
        self.clock = Clock()
        self.extract = extract
        self.search_state = SearchParamState(engines, self.clock.now_us)
        self.jobs = JobStore(engines, self.clock, Path(settings.bulk_dir))
        self.accounts = AccountStore(engines, self.clock, settings.token_revocation_refresh_seconds)
        self.audit = AuditWriter(
            engines.write.begin,
            extract,
            self.clock.now_us,
            settings.audit_spool_path(),
            batch_size=settings.audit_batch_size,
            flush_ms=settings.audit_flush_ms,
            fsync=settings.audit_spool_fsync,
        )
        # None on PostgreSQL, which has no SQLite file
        self.checkpointer = start_checkpointer(
            settings.sqlite_path(), settings.sqlite_checkpoint_ms
        )

    @classmethod
    def open(cls, settings: Settings, *, recover_audit: bool = True) -> Store:
        """Open the store; first ingest audit spools left by processes that are gone."""
        store = cls(settings, create_engines(settings), extract)
        store.search_state.sync()
        if recover_audit:
            store.audit.recover()
        return store

    def repository(self, caller: Caller) -> Repository:
        return Repository(self, caller)

    def close(self) -> None:
        self.audit.flush()
        self.audit.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engines.dispose()
