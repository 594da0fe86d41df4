"""access grants derived from Consent, break-glass openings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_grant",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("grantee", sa.String(length=200), nullable=False),
        sa.Column("scope_type", sa.String(length=64), nullable=True),
        sa.Column("valid_from_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_to_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_access_grant_res", "access_grant", ["res_pk"])
    op.create_index("ix_access_grant_patient_id_grantee", "access_grant", ["patient_id", "grantee"])
    op.create_table(
        "break_glass",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=200), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("audit_event", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_break_glass_caller_patient", "break_glass", ["caller", "patient_id", "expires_us"]
    )
    op.create_index("ix_break_glass_started", "break_glass", ["started_us"])
    # Consents stored before this revision get their grants from a reindex of Consent
    # (countyhealth reindex), which extracts the _grant rows like any index rows.


def downgrade() -> None:
    op.drop_index("ix_break_glass_started", "break_glass")
    op.drop_index("ix_break_glass_caller_patient", "break_glass")
    op.drop_table("break_glass")
    op.drop_index("ix_access_grant_patient_id_grantee", "access_grant")
    op.drop_index("ix_access_grant_res", "access_grant")
    op.drop_table("access_grant")
