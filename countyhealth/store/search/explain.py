"""Query plans of searches, for checking index design on each backend (bench/explain.py)."""

from __future__ import annotations

from typing import Any

from ...fhir.search_request import SearchRequest
from .conditions import ConditionBuilder
from .engine import run_search


class _PlanRecorder:
    """Stands in for a connection: records each statement's plan, then runs it."""

    def __init__(self, conn: Any, backend: str) -> None:
        self.conn = conn
        self.backend = backend
        self.plans: list[tuple[str, list[str]]] = []

    def execute(self, stmt: Any, *args: Any, **kwargs: Any) -> Any:
        sql = str(stmt.compile(self.conn.engine, compile_kwargs={"literal_binds": True}))
        prefix = (
            "EXPLAIN QUERY PLAN " if self.backend == "sqlite" else "EXPLAIN (ANALYZE, COSTS OFF) "
        )
        rows = self.conn.exec_driver_sql(prefix + sql).all()
        lines = [r[-1] if self.backend == "sqlite" else r[0] for r in rows]
        self.plans.append((sql, [str(line) for line in lines]))
        return self.conn.execute(stmt, *args, **kwargs)


def explain_search(store: Any, req: SearchRequest) -> list[tuple[str, list[str]]]:
    """(SQL, plan lines) of every statement a search runs."""
    builder = ConditionBuilder(store.settings.base_url, req.resource_types, store.engines.backend)
    with store.engines.read.connect() as conn:
        recorder = _PlanRecorder(conn, store.engines.backend)
        run_search(recorder, req, builder)  # type: ignore[arg-type]
    return recorder.plans
