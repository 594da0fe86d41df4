"""Which search parameters the stored index rows are valid for, and reindexing.

The index rows of a parameter are written from its FHIRPath expression. When the set of
parameters changes — a new release of the definitions, or a SearchParameter resource posted to
this server — rows written before the change are stale or missing. Each parameter therefore has
a state row (``search_param_state``): ``ready``, or ``pending`` until ``countyhealth reindex``
has rebuilt its rows. Searches on a pending parameter are refused with CH-6010 rather than
answered wrongly. Reindexing goes in short transactions of a few hundred resources and records
where it got to, so it does not block readers and resumes after an interruption.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, exists, false, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..fhir import definitions
from ..fhir.indexing import extract
from ..fhir.search_params import definition_hash, params_for, set_custom_parameters
from .dialect import Engines
from .rows import NewVersion, replace_index_rows
from .schema import INDEX_TABLES, resource, search_param_state

FINGERPRINT_KEY = "*"
REFRESH_S = 5.0


def current_hashes() -> dict[str, str]:
    """``Type.code`` → definition hash of every indexed parameter of the current registry."""
    out: dict[str, str] = {}
    for rtype in sorted(definitions.resource_types()):
        for code, sp in params_for(rtype).items():
            if sp.evaluator is not None:
                out[f"{rtype}.{code}"] = definition_hash(sp)
    return out


def _fingerprint(hashes: dict[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(sorted(hashes.items()))).hexdigest()[:32]


class SearchParamState:
    """The per-process view of parameter states, refreshed every few seconds."""

    def __init__(self, engines: Engines, now_us: Callable[[], int]) -> None:
        self._engines = engines
        self._now_us = now_us
        self._pending: frozenset[str] = frozenset()
        self._checked = 0.0
        self._refreshing = threading.Lock()
        self._custom_stamp: int | None = None

    # ------------------------------------------------------------------ registry and state

    def load_custom_parameters(self, conn: Connection) -> bool:
        rows = conn.execute(
            select(resource.c.content).where(
                resource.c.res_type == "SearchParameter", resource.c.deleted == false()
            )
        ).scalars()
        return set_custom_parameters([orjson.loads(c) for c in rows if c])

    def sync(self) -> frozenset[str]:
        """Bring the state rows in line with the registry; returns the pending keys."""
        with self._engines.read.connect() as conn:
            self.load_custom_parameters(conn)
        hashes = current_hashes()
        fingerprint = _fingerprint(hashes)
        for attempt in range(3):
            try:
                with self._engines.write.begin() as conn:
                    stored = dict(
                        conn.execute(
                            select(
                                search_param_state.c.param_key, search_param_state.c.definition_hash
                            )
                        ).all()
                    )
                    if stored.get(FINGERPRINT_KEY) != fingerprint:
                        self._apply(conn, hashes, stored, fingerprint)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        return self.pending(force=True)

    def _apply(
        self, conn: Connection, hashes: dict[str, str], stored: dict[str, str], fingerprint: str
    ) -> None:
        now = self._now_us()
        with_data = {
            rtype
            for rtype in {k.split(".", 1)[0] for k in hashes}
            if conn.execute(select(exists().where(resource.c.res_type == rtype))).scalar()
        }
        new_rows = []
        for key, digest in hashes.items():
            status = "pending" if key.split(".", 1)[0] in with_data else "ready"
            if key not in stored:
                new_rows.append(
                    {
                        "param_key": key,
                        "definition_hash": digest,
                        "status": status,
                        "resume_after": 0,
                        "updated_us": now,
                    }
                )
            elif stored[key] != digest:
                conn.execute(
                    update(search_param_state)
                    .where(search_param_state.c.param_key == key)
                    .values(definition_hash=digest, status=status, resume_after=0, updated_us=now)
                )
        if new_rows:
            conn.execute(insert(search_param_state), new_rows)
        retired = [k for k in stored if k != FINGERPRINT_KEY and k not in hashes]
        for key in retired:
            conn.execute(
                update(search_param_state)
                .where(search_param_state.c.param_key == key)
                .values(status="retired", resume_after=0, updated_us=now)
            )
        values = {
            "definition_hash": fingerprint,
            "status": "ready",
            "resume_after": 0,
            "updated_us": now,
        }
        if FINGERPRINT_KEY in stored:
            conn.execute(
                update(search_param_state)
                .where(search_param_state.c.param_key == FINGERPRINT_KEY)
                .values(**values)
            )
        else:
            conn.execute(insert(search_param_state).values(param_key=FINGERPRINT_KEY, **values))

    def pending(self, force: bool = False, conn: Connection | None = None) -> frozenset[str]:
        """Keys (``Type.code``) whose index rows are not complete yet. Every few seconds this
        also picks up SearchParameter resources written by other processes.

        One thread refreshes at a time while the others keep the last answer, and a caller
        inside a unit of work passes its connection: a thread that already holds a pooled
        connection must not wait for a second one (on PostgreSQL reads and writes share one
        pool, and a crowd of such threads would wait on each other until the pool times out).
        """
        if not force and time.monotonic() - self._checked <= REFRESH_S:
            return self._pending
        if not self._refreshing.acquire(blocking=force):
            return self._pending
        try:
            if force or time.monotonic() - self._checked > REFRESH_S:
                if conn is not None:
                    self._refresh(conn)
                else:
                    with self._engines.read.connect() as own:
                        self._refresh(own)
                self._checked = time.monotonic()
        finally:
            self._refreshing.release()
        return self._pending

    def _refresh(self, conn: Connection) -> None:
        stamp = conn.execute(
            select(func.max(resource.c.last_updated_us)).where(
                resource.c.res_type == "SearchParameter"
            )
        ).scalar()
        if stamp != self._custom_stamp:
            self.load_custom_parameters(conn)
            self._custom_stamp = stamp
        self._pending = frozenset(
            conn.execute(
                select(search_param_state.c.param_key).where(
                    search_param_state.c.status == "pending"
                )
            ).scalars()
        )

    # ------------------------------------------------------------------ reindex

    def reindex(
        self, chunk: int = 500, progress: Callable[[str, int, int], None] | None = None
    ) -> int:
        """Rebuild the index rows of pending (and remove those of retired) parameters.

        Returns the number of resources processed. ``progress(type, done, total)`` is called
        after every committed chunk; an exception from it stops the reindex, which resumes
        from the last committed chunk next time.
        """
        self.sync()
        with self._engines.read.connect() as conn:
            rows = conn.execute(
                select(
                    search_param_state.c.param_key,
                    search_param_state.c.status,
                    search_param_state.c.resume_after,
                ).where(search_param_state.c.status.in_(("pending", "retired")))
            ).all()
        by_type: dict[str, list[tuple[str, str, int]]] = {}
        for key, status, resume in rows:
            rtype, code = key.split(".", 1)
            by_type.setdefault(rtype, []).append((code, status, resume))
        processed = 0
        for rtype, params in sorted(by_type.items()):
            processed += self._reindex_type(rtype, params, chunk, progress)
        self.pending(force=True)
        return processed

    def _reindex_type(
        self,
        rtype: str,
        params: list[tuple[str, str, int]],
        chunk: int,
        progress: Callable[[str, int, int], None] | None,
    ) -> int:
        codes = frozenset(code for code, _, _ in params)
        keys = [f"{rtype}.{code}" for code in codes]
        start = min(resume for _, _, resume in params)
        with self._engines.read.connect() as conn:
            total = (
                conn.execute(
                    select(func.count()).select_from(resource).where(resource.c.res_type == rtype)
                ).scalar()
                or 0
            )
        done = 0
        for batch in self._batches(rtype, start, chunk):
            with self._engines.write.begin() as conn:
                pks = [pk for pk, _ in batch]
                for table in INDEX_TABLES.values():
                    conn.execute(
                        delete(table).where(
                            table.c.res_pk.in_(pks),
                            table.c.param.in_(
                                [
                                    *codes,
                                    *(f"{c}:of-type" for c in codes),
                                    *(f"{c}:identifier" for c in codes),
                                ]
                            ),
                        )
                    )
                versions = []
                for pk, content in batch:
                    if content is None:
                        continue
                    parsed = orjson.loads(content)
                    versions.append(
                        (pk, NewVersion(rtype, parsed.get("id", ""), 0, 0, "PUT", content, parsed))
                    )
                replace_index_rows(conn, versions, lambda r: extract(r, codes), fresh=True)
                conn.execute(
                    update(search_param_state)
                    .where(search_param_state.c.param_key.in_(keys))
                    .values(resume_after=pks[-1], updated_us=self._now_us())
                )
            done += len(batch)
            if progress is not None:
                progress(rtype, done, total)
        with self._engines.write.begin() as conn:
            conn.execute(
                update(search_param_state)
                .where(
                    and_(
                        search_param_state.c.param_key.in_(keys),
                        search_param_state.c.status == "pending",
                    )
                )
                .values(status="ready", resume_after=0, updated_us=self._now_us())
            )
            conn.execute(
                delete(search_param_state).where(
                    and_(
                        search_param_state.c.param_key.in_(keys),
                        search_param_state.c.status == "retired",
                    )
                )
            )
        return done

    def _batches(self, rtype: str, after: int, size: int) -> Iterator[list[tuple[int, Any]]]:
        while True:
            with self._engines.read.connect() as conn:
                batch = [
                    tuple(r)
                    for r in conn.execute(
                        select(resource.c.res_pk, resource.c.content)
                        .where(resource.c.res_type == rtype, resource.c.res_pk > after)
                        .order_by(resource.c.res_pk)
                        .limit(size)
                    )
                ]
            if not batch:
                return
            yield batch
            after = batch[-1][0]
