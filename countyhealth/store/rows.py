"""Row-level reads and writes of resource versions; only the Repository and the audit writer call it.

Every function takes an open connection inside a transaction, so that a resource version, its
history row and its index rows commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from .dialect import insert_rows
from .schema import INDEX_COLUMNS, INDEX_TABLES, resource, resource_history

# The statements of a single write are built once: building a Core expression per call (and
# its cache key) costs more than SQLite takes to run it.
_CURRENT = select(
    resource.c.res_pk,
    resource.c.version_id,
    resource.c.last_updated_us,
    resource.c.deleted,
    resource.c.content,
).where(resource.c.res_type == bindparam("t"), resource.c.res_id == bindparam("i"))
_INSERT_RESOURCE = insert(resource)
_INSERT_HISTORY = insert(resource_history)
#: what an update sets on the current row (bound by :func:`_new_values`)
_NEW_VALUES: dict[str, Any] = {
    "version_id": bindparam("new_version"),
    "last_updated_us": bindparam("new_updated"),
    "deleted": bindparam("new_deleted"),
    "content": bindparam("new_content"),
}
_UPDATE_CURRENT = (
    update(resource)
    .where(and_(resource.c.res_pk == bindparam("key"), resource.c.version_id == bindparam("was")))
    .values(_NEW_VALUES)
)
_UPDATE_IF_CURRENT = (
    update(resource)
    .where(
        and_(
            resource.c.res_type == bindparam("t"),
            resource.c.res_id == bindparam("i"),
            resource.c.version_id == bindparam("was"),
            resource.c.deleted == False,  # noqa: E712 (SQL, not Python)
        )
    )
    .values(_NEW_VALUES)
    .returning(resource.c.res_pk)
)
_DELETE_INDEX_ROWS = [
    delete(table).where(table.c.res_pk.in_(bindparam("pks", expanding=True)))
    for table in INDEX_TABLES.values()
]

#: Extracts index rows from a resource: {index type: [row dicts without res_pk/res_type]}.
IndexExtractor = Callable[[dict[str, Any]], dict[str, list[dict[str, Any]]]]


def no_index_rows(_resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The extractor used until search parameters are indexed."""
    return {}


@dataclass(frozen=True, slots=True)
class CurrentRow:
    res_pk: int
    version_id: int
    last_updated_us: int
    deleted: bool
    content: bytes | None


def current_row(
    conn: Connection, rtype: str, rid: str, *, lock: Callable[[Any], Any]
) -> CurrentRow | None:
    row = conn.execute(lock(_CURRENT), {"t": rtype, "i": rid}).first()
    return None if row is None else CurrentRow(*row)


@dataclass(frozen=True, slots=True)
class NewVersion:
    """One resource version to write."""

    rtype: str
    rid: str
    version_id: int
    last_updated_us: int
    method: str
    content: bytes | None  # None for a deletion
    parsed: dict[str, Any] | None  # the resource, for index extraction


def _resource_row(v: NewVersion) -> dict[str, Any]:
    """The ``resource`` row of a version (its key aside)."""
    return {
        "res_type": v.rtype,
        "res_id": v.rid,
        "version_id": v.version_id,
        "last_updated_us": v.last_updated_us,
        "deleted": v.content is None,
        "content": v.content,
    }


def _new_values(v: NewVersion) -> dict[str, Any]:
    """The parameters of :data:`_NEW_VALUES` for version ``v``."""
    return {
        "new_version": v.version_id,
        "new_updated": v.last_updated_us,
        "new_deleted": v.content is None,
        "new_content": v.content,
    }


def insert_first_version(conn: Connection, v: NewVersion) -> int:
    """Insert a resource that has no row yet; returns its res_pk."""
    key = conn.execute(_INSERT_RESOURCE, _resource_row(v)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update_current(conn: Connection, res_pk: int, expected_version: int, v: NewVersion) -> bool:
    """Move the current row to ``v`` if it is still at ``expected_version``."""
    result = conn.execute(
        _UPDATE_CURRENT,
        {"key": res_pk, "was": expected_version, **_new_values(v)},
    )
    return result.rowcount == 1


def update_if_current(conn: Connection, expected_version: int, v: NewVersion) -> int | None:
    """Move ``v.rtype/v.rid`` to ``v`` if it is still at ``expected_version`` and not deleted
    (one statement); its res_pk, or None when it has moved on."""
    key = conn.execute(
        _UPDATE_IF_CURRENT,
        {"t": v.rtype, "i": v.rid, "was": expected_version, **_new_values(v)},
    ).scalar()
    return None if key is None else int(key)


def insert_history(conn: Connection, rows: Sequence[tuple[int, NewVersion]]) -> None:
    if not rows:
        return
    conn.execute(
        _INSERT_HISTORY,
        [
            {
                "res_pk": res_pk,
                "version_id": v.version_id,
                "res_type": v.rtype,
                "res_id": v.rid,
                "last_updated_us": v.last_updated_us,
                "method": v.method,
                "content": v.content,
            }
            for res_pk, v in rows
        ],
    )


#: A resource's index rows: index table kind → rows in :data:`INDEX_COLUMNS` order.
IndexTuples = dict[str, list[tuple[Any, ...]]]


def index_tuples(extract: IndexExtractor, document: dict[str, Any]) -> IndexTuples:
    """The index rows of ``document`` as tuples, ready to bind (without res_pk/res_type)."""
    return {
        kind: [tuple(value.get(c) for c in INDEX_COLUMNS[kind]) for value in values]
        for kind, values in extract(document).items()
    }


def delete_index_rows(conn: Connection, pks: Sequence[int]) -> None:
    """Remove every index row of the resources ``pks`` (before their new version's).

    One resource — the common case, a single update — takes one plain ``DELETE … WHERE
    res_pk = ?`` per table sent straight to the driver: ten Core statements cost more than
    SQLite takes to run them."""
    if len(pks) == 1:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        for table in INDEX_TABLES.values():
            conn.exec_driver_sql(f"DELETE FROM {table.name} WHERE res_pk = {mark}", (pks[0],))
    elif pks:
        for statement in _DELETE_INDEX_ROWS:
            conn.execute(statement, {"pks": list(pks)})


def insert_index_tuples(conn: Connection, rows: Sequence[tuple[int, str, IndexTuples]]) -> None:
    """Insert the index rows of resources ``(res_pk, res_type, rows)``, one statement per table."""
    batches: dict[str, list[tuple[Any, ...]]] = {}
    for res_pk, rtype, index in rows:
        head = (res_pk, rtype)
        for kind, values in index.items():
            batches.setdefault(kind, []).extend([head + value for value in values])
    backend = conn.dialect.name
    for kind, batch in batches.items():
        columns = ("res_pk", "res_type", *INDEX_COLUMNS[kind])
        insert_rows(conn, INDEX_TABLES[kind].name, columns, batch, backend)


def replace_index_rows(
    conn: Connection,
    rows: Sequence[tuple[int, NewVersion]],
    extract: IndexExtractor,
    *,
    fresh: bool = False,
) -> None:
    """Replace the index rows of each resource by those of its new version.

    Args:
        fresh: the resources were just inserted, so there is nothing to delete.
    """
    if not fresh:
        delete_index_rows(conn, [pk for pk, _ in rows])
    insert_index_tuples(
        conn,
        [(pk, v.rtype, index_tuples(extract, v.parsed)) for pk, v in rows if v.parsed is not None],
    )


def insert_new_resources(
    conn: Connection,
    versions: Sequence[NewVersion],
    extract: IndexExtractor,
    index: Sequence[IndexTuples] | None = None,
) -> list[int]:
    """Insert brand-new resources (version 1) with history and index rows, in bulk.

    One multi-row INSERT … RETURNING (SQLAlchemy's "insertmanyvalues", on SQLite and
    PostgreSQL alike) returns the keys in parameter order.

    Args:
        index: the versions' index rows, extracted beforehand (outside the transaction);
            None extracts them here.
    """
    if not versions:
        return []
    rows = [_resource_row(v) for v in versions]
    result = conn.execute(
        insert(resource).returning(resource.c.res_pk, sort_by_parameter_order=True), rows
    )
    pks = [int(pk) for pk in result.scalars()]
    pairs = list(zip(pks, versions, strict=True))
    insert_history(conn, pairs)
    if index is None:
        replace_index_rows(conn, pairs, extract, fresh=True)
    else:
        insert_index_tuples(
            conn, [(pk, v.rtype, rows) for (pk, v), rows in zip(pairs, index, strict=True)]
        )
    return pks
