"""Settings: one class, read from the environment with the ``COUNTYHEALTH_`` prefix.

Every field carries its help text in ``description``; docs/settings.md lists them all and a
test fails when one is missing there. Nothing is read at import time: callers build
``Settings()`` (or pass their own) and hand it to the factories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me-0000000000"

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    """Runtime configuration of a CountyHealth deployment."""

    model_config = SettingsConfigDict(env_prefix="COUNTYHEALTH_", extra="ignore")

    environment: Environment = Field(
        "development",
        description="development, test or production. Outside development, default secrets "
        "are refused at start-up.",
    )
    database_url: str = Field(
        "sqlite:///data/countyhealth.db",
        description="SQLAlchemy URL of the database: sqlite:///path (embedded default) or "
        "postgresql+psycopg://user:pass@host:port/db (production).",
    )
    secret_key: str = Field(
        DEVELOPMENT_SECRET,
        description="Key that signs access tokens (HS256). Must be set to a random value of at "
        "least 32 characters outside development.",
    )
    token_issuer: str = Field(
        "countyhealth", description="The `iss` claim of tokens this platform issues and accepts."
    )
    token_lifetime_seconds: int = Field(
        3600, ge=60, description="Lifetime of tokens issued by `countyhealth token`."
    )
    base_url: str = Field(
        "http://127.0.0.1:8000/fhir",
        description="Public base URL of the FHIR endpoint, used in Location headers, "
        "Bundle links and fullUrl.",
    )
    max_body_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Largest accepted request body in bytes; larger bodies answer 413.",
    )
    default_page_size: int = Field(
        50, ge=1, description="Entries per page of history and search when _count is not given."
    )
    max_page_size: int = Field(1000, ge=1, description="Largest _count a client may ask for.")
    audit_batch_size: int = Field(
        500, ge=1, description="Most AuditEvents written in one database transaction."
    )
    audit_flush_ms: float = Field(
        20.0,
        ge=0,
        description="How long the audit writer waits to gather a batch before committing.",
    )
    audit_spool_dir: str = Field(
        "",
        description="Folder of the audit spool files (AuditEvents are made durable there before "
        "a request is answered). Empty: an `audit-spool` folder beside the SQLite database, "
        "or `data/audit-spool` for PostgreSQL.",
    )
    audit_spool_fsync: bool = Field(
        False,
        description="fsync the audit spool on every request: survives power loss, not only a "
        "process crash, at a cost per request.",
    )
    sqlite_busy_timeout_ms: int = Field(
        30000, ge=0, description="How long an SQLite connection waits for the write lock."
    )
    sqlite_checkpoint_ms: float = Field(
        200.0,
        ge=0,
        description="How often a background thread of each process checkpoints SQLite's "
        "write-ahead log into the database file (PASSIVE: it waits for no reader or writer). "
        "0: SQLite's automatic checkpoints instead, run inside the commit that takes the log "
        "over 1,000 pages.",
    )
    db_pool_size: int = Field(
        10, ge=1, description="Connections kept per worker process (PostgreSQL)."
    )
    worker_threads: int = Field(
        8,
        ge=1,
        description="Threads per worker process that run requests' blocking work (database "
        "reads and writes). SQLite takes one writer at a time and PostgreSQL at most "
        "`COUNTYHEALTH_DB_POOL_SIZE` connections per process, so more threads only queue inside "
        "the process; fewer let a crowd's first writes start sooner (docs/performance.md).",
    )
    log_level: str = Field("info", description="Log level of the server (debug, info, warning).")
    bulk_dir: str = Field(
        "data/bulk",
        description="Folder of the files of bulk data jobs ($export output, $import input and "
        "reports): one folder per job.",
    )
    bulk_worker: bool = Field(
        True,
        description="Run bulk data jobs in a background thread of each server process. When "
        "off, jobs wait for a process whose worker is on.",
    )
    bulk_page_size: int = Field(
        1000, ge=1, description="Resources an export reads from the database per round trip."
    )
    bulk_max_lines_per_file: int = Field(
        100_000,
        ge=1,
        description="Most resources in one $export NDJSON file; more of the same type go to "
        "further files.",
    )
    bulk_stale_seconds: float = Field(
        120.0,
        ge=1,
        description="A running bulk job whose worker has not reported for this long is taken "
        "to be interrupted (its process ended) and is queued again: an export starts over, an "
        "import resumes after its last committed chunk.",
    )
    bulk_import_workers: int = Field(
        1,
        ge=0,
        description="Processes that validate and index the resources of an $import job while "
        "the server writes (0: the worker thread does it).",
    )
    bulk_import_chunk_size: int = Field(
        1000, ge=1, description="Resources an $import job writes per database transaction."
    )
    bulk_import_max_bytes: int = Field(
        2 * 1024**3,
        ge=1,
        description="Largest NDJSON body an $import kick-off accepts (as sent, so compressed "
        "when sent with Content-Encoding: gzip).",
    )
    bulk_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="How often an idle bulk worker looks for jobs submitted by other processes.",
    )
    # --- access control (consent and break-glass)
    consent_denial_status: Literal[403, 404] = Field(
        403,
        description="Status of a direct read of patient data that no consent covers: 403 "
        "(CH-4004) says the record exists; 404 (CH-2001) does not reveal it.",
    )
    break_glass_minutes: int = Field(
        180,
        ge=1,
        le=24 * 60,
        description="How long a break-glass opening of a patient's record lasts.",
    )
    break_glass_min_reason: int = Field(
        4, ge=1, description="Fewest characters a break-glass reason must have."
    )

    # --- HTTP hardening
    cors_origins: list[str] = Field(
        [],
        description="Origins (scheme://host[:port]) whose browser scripts may call the API "
        'across origins, as a JSON list, e.g. ["https://his.example.org"]. Empty: no CORS '
        "headers at all, so browsers keep other sites' scripts from reading responses.",
    )
    behind_https: bool = Field(
        False,
        description="The platform is reached only over HTTPS (TLS here or at a reverse proxy): "
        "responses carry Strict-Transport-Security, so browsers refuse plain HTTP afterwards.",
    )
    hsts_max_age_seconds: int = Field(
        31_536_000,
        ge=0,
        description="max-age of Strict-Transport-Security when COUNTYHEALTH_BEHIND_HTTPS is on.",
    )

    # --- accounts and sessions
    session_cookie_secure: bool | None = Field(
        None,
        description="Mark the session cookie Secure (sent over HTTPS only). Unset: Secure "
        "outside development and test.",
    )
    session_idle_minutes: int = Field(
        30, ge=1, description="A web session ends after this many minutes without a request."
    )
    session_absolute_hours: float = Field(
        12.0, gt=0, description="A web session ends this many hours after sign-in, however active."
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed sign-ins allowed per user name, phone, client or network address "
        "within the window; further attempts answer 429 (CH-4007) until the window has passed.",
    )
    login_window_seconds: int = Field(
        900, ge=1, description="The window of COUNTYHEALTH_LOGIN_MAX_FAILURES, in seconds."
    )
    otp_ttl_seconds: int = Field(
        300, ge=30, description="How long a one-time sign-in code sent to a phone is valid."
    )
    otp_max_attempts: int = Field(
        3, ge=1, description="Guesses allowed at one one-time code before it is void."
    )
    otp_max_sends: int = Field(
        5,
        ge=1,
        description="One-time codes sent to one phone within COUNTYHEALTH_LOGIN_WINDOW_SECONDS.",
    )
    health_code_ttl_seconds: int = Field(
        300,
        ge=30,
        le=3600,
        description="How long the dynamic QR code of a resident's e-health card stays valid "
        "(the resident's page shows a fresh one before it expires).",
    )
    health_code_single_use: bool = Field(
        False,
        description="Refuse an e-health code scanned a second time (replay); the resident's "
        "page shows a new code at every visit and refresh.",
    )
    health_card_valid_years: int = Field(
        10,
        ge=1,
        le=30,
        description="Years an issued e-health card (and the static code printed on it) stays "
        "valid; issuing a new card revokes the old one at once.",
    )
    health_card_pin_max_failures: int = Field(
        5,
        ge=1,
        description="Wrong PINs allowed for one e-health card's static code within "
        "COUNTYHEALTH_LOGIN_WINDOW_SECONDS; further attempts answer 429 (CH-4007).",
    )
    mpi_certain_probability: float = Field(
        0.999,
        gt=0,
        lt=1,
        description="Match probability from which Patient/$match grades a candidate 'certain' "
        "(an equal valid identity number is always certain).",
    )
    mpi_probable_probability: float = Field(
        0.95,
        gt=0,
        lt=1,
        description="Match probability from which a candidate is 'probable': a new "
        "registration that probable-matches a resident opens a review Task.",
    )
    mpi_possible_probability: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Match probability from which Patient/$match returns a candidate at all "
        "(graded 'possible').",
    )
    booking_no_show_limit: int = Field(
        3,
        ge=1,
        description="No-shows within the window that suspend a resident's online booking.",
    )
    booking_no_show_window_days: int = Field(
        90, ge=1, description="Days over which no-shows are counted for the suspension."
    )
    booking_suspension_days: int = Field(
        30,
        ge=0,
        description="Days online booking stays suspended after the no-show that reached the "
        "limit (booking at a registration desk stays open).",
    )
    password_min_length: int = Field(
        10, ge=8, description="Shortest password accepted for a new account."
    )
    password_time_cost: int = Field(
        3,
        ge=1,
        description="Argon2id passes (RFC 9106); hashes with other parameters are "
        "upgraded at the next sign-in.",
    )
    password_memory_kib: int = Field(
        65536, ge=8, description="Argon2id memory in KiB (RFC 9106 second recommendation: 64 MiB)."
    )
    password_parallelism: int = Field(4, ge=1, description="Argon2id lanes.")
    oauth_token_lifetime_seconds: int = Field(
        300,
        ge=60,
        description="Lifetime of access tokens issued by POST /auth/token (SMART Backend "
        "Services recommends at most five minutes).",
    )
    token_url: str = Field(
        "",
        description="Public URL of the token endpoint: the `aud` a client assertion must name. "
        "Empty: COUNTYHEALTH_BASE_URL with its last path segment replaced by auth/token.",
    )
    token_revocation_refresh_seconds: float = Field(
        1.0,
        gt=0,
        description="How often each process reads the tokens revoked by other processes.",
    )

    # --- mutual recognition of results (检查检验结果互认)
    recognition_catalogue_path: str | None = Field(
        None,
        description="JSON file of the county's recognition item catalogue (items, windows, "
        "prices, mark, re-test reasons; format and checks in docs/recognition.md). Unset: the "
        "packaged catalogue, whose imaging windows are unset and prices placeholders.",
    )

    # --- one settlement per visit (最多付一次)
    payment_ledger_path: str = Field(
        "data/payments-simulated.ndjson",
        description="File of the simulated payment provider's ledger (模拟支付: no money moves), "
        "shared by the server's processes and kept across restarts; the daily reconciliation "
        "compares the platform's cash with it. A deployment puts a real provider behind "
        "billing.PaymentProvider instead.",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins_only(cls, value: list[str]) -> list[str]:
        for origin in value:
            scheme, sep, host = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not host or "/" in host or "*" in host:
                raise ValueError(
                    f"COUNTYHEALTH_CORS_ORIGINS: {origin[:80]!r} is not an origin like "
                    "https://his.example.org (no path, no wildcard)"
                )
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        weak = self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        if self.environment != "development" and weak:
            raise ValueError(
                "COUNTYHEALTH_SECRET_KEY must be set to a random value of at least 32 "
                f"characters when COUNTYHEALTH_ENVIRONMENT={self.environment}"
            )
        return self

    def audit_spool_path(self) -> Path:
        if self.audit_spool_dir:
            return Path(self.audit_spool_dir)
        db = self.sqlite_path()
        return (db.parent if db is not None else Path("data")) / "audit-spool"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file of an SQLite URL (None for in-memory or another backend)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None
