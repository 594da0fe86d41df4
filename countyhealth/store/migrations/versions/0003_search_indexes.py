"""indexes for counting and prefix search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # COUNT(*) of a type (_total=accurate) from the index alone
    op.create_index("ix_resource_type_deleted", "resource", ["res_type", "deleted", "res_pk"])
    if op.get_bind().dialect.name == "postgresql":
        # prefix LIKE for string and :text search, whatever the database collation
        op.execute(
            "CREATE INDEX ix_idx_string_prefix ON idx_string "
            "(res_type, param, value_norm text_pattern_ops)"
        )
        op.execute(
            "CREATE INDEX ix_idx_token_text_prefix ON idx_token "
            "(res_type, param, text_norm text_pattern_ops)"
        )
        op.execute(
            "CREATE INDEX ix_idx_uri_prefix ON idx_uri (res_type, param, value text_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_idx_uri_prefix")
        op.execute("DROP INDEX ix_idx_token_text_prefix")
        op.execute("DROP INDEX ix_idx_string_prefix")
    op.drop_index("ix_resource_type_deleted", "resource")
