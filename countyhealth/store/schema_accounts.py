"""Tables of accounts, sessions and credentials (SQLAlchemy Core), beside the resource store.

Nothing here is FHIR data: these rows say who may sign in and how. Secrets are never stored in
the clear — passwords and client secrets as Argon2id hashes, session ids and one-time codes as
keyed hashes — except TOTP seeds, which the server needs to compute the expected code.
Times are integer microseconds since the epoch (UTC), like the rest of the schema. Migration
0006 creates these tables and 0007 the PINs of e-health cards; names are stable (STYLE.md §6).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from .schema import metadata

#: Staff and residents who sign in. ``roles`` and ``actors`` are JSON lists of text;
#: ``organization`` is ``Organization/id``; residents carry their own ``patient_id`` and phone.
user_account = Table(
    "user_account",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("roles", Text, nullable=False),
    Column("organization", String(200), nullable=True),
    Column("actors", Text, nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("totp_secret", String(64), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_user_account_phone", "phone"),
)

#: Systems that call the API with OAuth2 client credentials: a secret (Argon2id hash) and/or a
#: JWK Set for SMART Backend Services (private_key_jwt). ``scope`` is the most they may get;
#: ``access`` overrides the default reach of their tokens (see ``store.context.ACCESS_MODES``).
api_client = Table(
    "api_client",
    metadata,
    Column("client_id", String(100), primary_key=True),
    Column("secret_hash", Text, nullable=True),
    Column("jwks", Text, nullable=True),
    Column("scope", Text, nullable=False),
    Column("organization", String(200), nullable=True),
    Column("access", String(16), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

#: Server-side web sessions. Only a hash of the session id is kept, so a copy of the table
#: does not let anyone sign in. ``patients`` is the JSON list of Patient ids a resident may
#: see, fixed at sign-in.
web_session = Table(
    "web_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(100), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("patients", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Index("ix_web_session_username", "username"),
    Index("ix_web_session_expires", "expires_us"),
)

#: Failed sign-ins (and one-time codes sent) by key — ``user:<name>``, ``ip:<address>``,
#: ``phone:<number>``, ``client:<id>`` — so that throttling holds across processes.
login_failure = Table(
    "login_failure",
    metadata,
    Column("key", String(200), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Index("ix_login_failure_key_at", "key", "at_us"),
    Index("ix_login_failure_at", "at_us"),
)

#: The one-time code last sent to a phone (keyed hash), until it expires or is used up.
otp_code = Table(
    "otp_code",
    metadata,
    Column("phone", String(32), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
)

#: Revoked access tokens by ``jti`` until they would have expired anyway.
token_revocation = Table(
    "token_revocation",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger, nullable=False),
    Index("ix_token_revocation_revoked", "revoked_us"),
)

#: ``jti`` of the client assertions (private_key_jwt) already used: a replayed assertion is
#: refused (RFC 7523 §3, SMART Backend Services). Kept until the assertion expires.
client_assertion_jti = Table(
    "client_assertion_jti",
    metadata,
    Column("client_id", String(100), nullable=False),
    Column("jti", String(200), nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("client_id", "jti", name="pk_client_assertion_jti"),
    Index("ix_client_assertion_jti_expires", "expires_us"),
)

#: The PIN of an e-health card's static code, kept out of the Patient resource (which every
#: reader of the record, and every export, would carry): an Argon2id hash of a keyed digest.
card_pin = Table(
    "card_pin",
    metadata,
    Column("card_id", String(64), primary_key=True),
    Column("pin_hash", Text, nullable=False),
    Column("set_us", BigInteger, nullable=False),
)
