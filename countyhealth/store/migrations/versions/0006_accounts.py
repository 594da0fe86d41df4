"""accounts, API clients, web sessions, sign-in throttling, one-time codes, token revocation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("actors", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_index("ix_user_account_phone", "user_account", ["phone"])
    op.create_table(
        "api_client",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("access", sa.String(length=16), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("patients", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_session_username", "web_session", ["username"])
    op.create_index("ix_web_session_expires", "web_session", ["expires_us"])
    op.create_table(
        "login_failure",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_login_failure_key_at", "login_failure", ["key", "at_us"])
    op.create_index("ix_login_failure_at", "login_failure", ["at_us"])
    op.create_table(
        "otp_code",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.create_table(
        "token_revocation",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_token_revocation_revoked", "token_revocation", ["revoked_us"])
    op.create_table(
        "client_assertion_jti",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name="pk_client_assertion_jti"),
    )
    op.create_index("ix_client_assertion_jti_expires", "client_assertion_jti", ["expires_us"])


def downgrade() -> None:
    op.drop_index("ix_client_assertion_jti_expires", "client_assertion_jti")
    op.drop_table("client_assertion_jti")
    op.drop_index("ix_token_revocation_revoked", "token_revocation")
    op.drop_table("token_revocation")
    op.drop_table("otp_code")
    op.drop_index("ix_login_failure_at", "login_failure")
    op.drop_index("ix_login_failure_key_at", "login_failure")
    op.drop_table("login_failure")
    op.drop_index("ix_web_session_expires", "web_session")
    op.drop_index("ix_web_session_username", "web_session")
    op.drop_table("web_session")
    op.drop_table("api_client")
    op.drop_index("ix_user_account_phone", "user_account")
    op.drop_table("user_account")
