"""The per-process store: engines, clock, audit writer and index extraction, built by a factory."""

from __future__ import annotations

from ..config import Settings
from .audit import AuditWriter
from .context import Caller
from .dialect import Engines, create_engines
from .repository import Repository
from .rows import IndexExtractor, no_index_rows
from .clock import Clock


class Store:
    """Everything a process needs to serve data. Build one per process with :meth:`open`."""

    def __init__(self, settings: Settings, engines: Engines,
                 extract: IndexExtractor = no_index_rows) -> None:
        self.settings = settings
        self.engines = engines
        self.clock = Clock()
        self.extract = extract
        self.audit = AuditWriter(
            engines.write.begin,
            extract,
            self.clock.now_us,
            batch_size=settings.audit_batch_size,
            flush_ms=settings.audit_flush_ms,
        )

    @classmethod
    def open(cls, settings: Settings) -> Store:
        return cls(settings, create_engines(settings))

    def repository(self, caller: Caller) -> Repository:
        return Repository(self, caller)

    def close(self) -> None:
        self.audit.close()
        self.engines.dispose()
