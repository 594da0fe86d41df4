"""Tables of the FHIR resource store (SQLAlchemy Core).

``resource`` holds the current version of every resource, ``resource_history`` every version.
Search works on one index table per search-parameter type, filled at write time in the same
transaction as the resource. Table and index names are stable: a retired name is never reused
(STYLE.md §6). Alembic migrations in ``store/migrations`` create exactly these tables.

Times are stored as integer microseconds since the Unix epoch (UTC) so that ordering and
equality are exact and identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: BIGINT on PostgreSQL, INTEGER on SQLite (so that it is the rowid alias there).
PrimaryKeyInt = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

resource = Table(
    "resource",
    metadata,
    Column("res_pk", PrimaryKeyInt, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated_us", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    # The resource as JSON (UTF-8), meta.versionId/lastUpdated included; NULL once deleted.
    Column("content", LargeBinary, nullable=True),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated_us"),
    Index("ix_resource_type_deleted", "res_type", "deleted", "res_pk"),
)
# PostgreSQL only (migration 0003): ix_idx_string_prefix, ix_idx_token_text_prefix and
# ix_idx_uri_prefix, with text_pattern_ops for prefix LIKE.

resource_history = Table(
    "resource_history",
    metadata,
    Column("res_pk", BigInteger, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("last_updated_us", BigInteger, nullable=False),
    # POST, PUT, PATCH or DELETE: Bundle.entry.request.method of the history entry.
    Column("method", String(8), nullable=False),
    Column("content", LargeBinary, nullable=True),
    PrimaryKeyConstraint("res_pk", "version_id", name="pk_resource_history"),
    Index("ix_history_updated", "last_updated_us"),
    Index("ix_history_type_updated", "res_type", "last_updated_us"),
    Index("ix_history_type_id", "res_type", "res_id", "version_id"),
)


def _index_table(name: str, *columns: Column, indexes: tuple[tuple[str, ...], ...]) -> Table:
    """An index table: one row per (resource, parameter, value)."""
    table = Table(
        name,
        metadata,
        Column("res_pk", BigInteger, nullable=False),
        Column("res_type", String(64), nullable=False),
        Column("param", String(100), nullable=False),
        *columns,
    )
    Index(f"ix_{name}_res", table.c.res_pk)
    for cols in indexes:
        Index(f"ix_{name}_{'_'.join(cols)}", *(table.c[c] for c in cols))
    return table


#: string parameters: value normalised (NFKC, case-folded, CJK whitespace removed) and exact.
idx_string = _index_table(
    "idx_string",
    Column("value_norm", String(255), nullable=False),
    Column("value_exact", Text, nullable=False),
    indexes=(("res_type", "param", "value_norm"),),
)

#: token parameters: system|code, plus the display/text for :text.
idx_token = _index_table(
    "idx_token",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("text_norm", String(255), nullable=True),
    indexes=(("res_type", "param", "code", "system"),),
)

#: date parameters: each value as the range [low_us, high_us] its precision implies.
idx_date = _index_table(
    "idx_date",
    Column("low_us", BigInteger, nullable=False),
    Column("high_us", BigInteger, nullable=False),
    indexes=(("res_type", "param", "low_us", "high_us"),),
)

#: reference parameters: local target (type/id/version) or absolute/canonical URL.
idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("target_version", String(64), nullable=True),
    Column("target_url", String(2048), nullable=True),
    indexes=(
        ("res_type", "param", "target_type", "target_id"),
        ("target_type", "target_id"),
    ),
)

#: quantity parameters: value range by precision, as given and UCUM-canonical.
idx_quantity = _index_table(
    "idx_quantity",
    Column("value_low", Float, nullable=False),
    Column("value_high", Float, nullable=False),
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("unit", String(255), nullable=True),
    Column("canonical_low", Float, nullable=True),
    Column("canonical_high", Float, nullable=True),
    Column("canonical_code", String(255), nullable=True),
    indexes=(("res_type", "param", "code", "value_low"),),
)

#: number parameters: value range by precision.
idx_number = _index_table(
    "idx_number",
    Column("value_low", Float, nullable=False),
    Column("value_high", Float, nullable=False),
    indexes=(("res_type", "param", "value_low"),),
)

#: uri parameters.
idx_uri = _index_table(
    "idx_uri",
    Column("value", String(2048), nullable=False),
    indexes=(("res_type", "param", "value"),),
)

#: composite parameters (token + quantity/token/date): one row per combination.
idx_composite = _index_table(
    "idx_composite",
    Column("c1_system", String(255), nullable=True),
    Column("c1_code", String(255), nullable=True),
    Column("c2_system", String(255), nullable=True),
    Column("c2_code", String(255), nullable=True),
    Column("c2_low", Float, nullable=True),
    Column("c2_high", Float, nullable=True),
    indexes=(("res_type", "param", "c1_code", "c2_code"),),
)

#: Location.near: latitude and longitude in degrees (WGS84).
idx_geo = _index_table(
    "idx_geo",
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    indexes=(("res_type", "param", "latitude", "longitude"),),
)

#: Access grants derived from active Consent resources at write time, like index rows, so a
#: grant and its revocation commit with the Consent (param ``_grant``). ``grantee`` is
#: ``Organization/x``, ``Practitioner/y`` or ``PractitionerRole/z``; ``scope_type`` a resource
#: type (NULL: every type); the grant holds while valid_from_us <= now < valid_to_us.
access_grant = _index_table(
    "access_grant",
    Column("patient_id", String(64), nullable=False),
    Column("grantee", String(200), nullable=False),
    Column("scope_type", String(64), nullable=True),
    Column("valid_from_us", BigInteger, nullable=False),
    Column("valid_to_us", BigInteger, nullable=False),
    indexes=(("patient_id", "grantee"),),
)

INDEX_TABLES: dict[str, Table] = {
    "string": idx_string,
    "token": idx_token,
    "date": idx_date,
    "reference": idx_reference,
    "quantity": idx_quantity,
    "number": idx_number,
    "uri": idx_uri,
    "composite": idx_composite,
    "special": idx_geo,
    "grant": access_grant,
}

#: Column order of each index table after ``res_pk`` and ``res_type`` (rows as tuples).
INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(c.name for c in table.columns)[2:] for kind, table in INDEX_TABLES.items()
}

#: Which search parameters are indexed for the stored data, and how far a reindex has got.
#: ``param_key`` is ``Type.code``; ``definition_hash`` identifies the expression indexed;
#: ``status`` is ``ready`` or ``pending`` (a reindex is due: searches on it are refused).
search_param_state = Table(
    "search_param_state",
    metadata,
    Column("param_key", String(200), primary_key=True),
    Column("definition_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("resume_after", BigInteger, nullable=False, default=0),
    Column("updated_us", BigInteger, nullable=False),
)

#: Asynchronous bulk data jobs (``$export``; ``kind`` leaves room for other kinds such as an
#: import). ``caller`` is the JSON of the Caller the job runs as (its scopes included), so the
#: access rules of the request apply while it runs; ``owner`` (``kind/id`` of that caller) is
#: the only party who may poll, download or cancel. ``params`` and ``manifest`` are JSON;
#: ``error`` is the OperationOutcome of a failed job. ``updated_us`` is the worker's heartbeat.
bulk_job = Table(
    "bulk_job",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("caller", Text, nullable=False),
    Column("request_url", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", String(200), nullable=False, default=""),
    Column("runner", String(120), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("manifest", Text, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_bulk_job_status_created", "status", "created_us"),
    Index("ix_bulk_job_owner_created", "owner", "created_us"),
)

#: Break-glass openings: a clinician read a patient's record without consent, for a reason,
#: until ``expires_us``. ``caller`` is ``kind/id``; ``grantees`` the caller's references
#: (JSON list) at the time; ``audit_event`` the id of the AuditEvent written with it.
break_glass = Table(
    "break_glass",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("caller", String(200), nullable=False),
    Column("organization", String(200), nullable=True),
    Column("patient_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("audit_event", String(64), nullable=False),
    Index("ix_break_glass_caller_patient", "caller", "patient_id", "expires_us"),
    Index("ix_break_glass_started", "started_us"),
)
