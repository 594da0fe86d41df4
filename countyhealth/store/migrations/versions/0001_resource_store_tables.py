"""resource store tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 11:28:50.560540
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idx_composite',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('c1_system', sa.String(length=255), nullable=True),
    sa.Column('c1_code', sa.String(length=255), nullable=True),
    sa.Column('c2_system', sa.String(length=255), nullable=True),
    sa.Column('c2_code', sa.String(length=255), nullable=True),
    sa.Column('c2_low', sa.Float(), nullable=True),
    sa.Column('c2_high', sa.Float(), nullable=True)
    )
    with op.batch_alter_table('idx_composite', schema=None) as batch_op:
        batch_op.create_index('ix_idx_composite_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_composite_res_type_param_c1_code_c2_code', ['res_type', 'param', 'c1_code', 'c2_code'], unique=False)

    op.create_table('idx_date',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('low_us', sa.BigInteger(), nullable=False),
    sa.Column('high_us', sa.BigInteger(), nullable=False)
    )
    with op.batch_alter_table('idx_date', schema=None) as batch_op:
        batch_op.create_index('ix_idx_date_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_date_res_type_param_low_us_high_us', ['res_type', 'param', 'low_us', 'high_us'], unique=False)

    op.create_table('idx_geo',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False)
    )
    with op.batch_alter_table('idx_geo', schema=None) as batch_op:
        batch_op.create_index('ix_idx_geo_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_geo_res_type_param_latitude_longitude', ['res_type', 'param', 'latitude', 'longitude'], unique=False)

    op.create_table('idx_number',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('value_low', sa.Float(), nullable=False),
    sa.Column('value_high', sa.Float(), nullable=False)
    )
    with op.batch_alter_table('idx_number', schema=None) as batch_op:
        batch_op.create_index('ix_idx_number_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_number_res_type_param_value_low', ['res_type', 'param', 'value_low'], unique=False)

    op.create_table('idx_quantity',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('value_low', sa.Float(), nullable=False),
    sa.Column('value_high', sa.Float(), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.Column('unit', sa.String(length=255), nullable=True),
    sa.Column('canonical_low', sa.Float(), nullable=True),
    sa.Column('canonical_high', sa.Float(), nullable=True),
    sa.Column('canonical_code', sa.String(length=255), nullable=True)
    )
    with op.batch_alter_table('idx_quantity', schema=None) as batch_op:
        batch_op.create_index('ix_idx_quantity_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_quantity_res_type_param_code_value_low', ['res_type', 'param', 'code', 'value_low'], unique=False)

    op.create_table('idx_reference',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('target_version', sa.String(length=64), nullable=True),
    sa.Column('target_url', sa.String(length=2048), nullable=True)
    )
    with op.batch_alter_table('idx_reference', schema=None) as batch_op:
        batch_op.create_index('ix_idx_reference_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_reference_res_type_param_target_type_target_id', ['res_type', 'param', 'target_type', 'target_id'], unique=False)
        batch_op.create_index('ix_idx_reference_target_type_target_id', ['target_type', 'target_id'], unique=False)

    op.create_table('idx_string',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('value_norm', sa.String(length=255), nullable=False),
    sa.Column('value_exact', sa.Text(), nullable=False)
    )
    with op.batch_alter_table('idx_string', schema=None) as batch_op:
        batch_op.create_index('ix_idx_string_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_string_res_type_param_value_norm', ['res_type', 'param', 'value_norm'], unique=False)

    op.create_table('idx_token',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.Column('text_norm', sa.String(length=255), nullable=True)
    )
    with op.batch_alter_table('idx_token', schema=None) as batch_op:
        batch_op.create_index('ix_idx_token_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_token_res_type_param_code_system', ['res_type', 'param', 'code', 'system'], unique=False)

    op.create_table('idx_uri',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=2048), nullable=False)
    )
    with op.batch_alter_table('idx_uri', schema=None) as batch_op:
        batch_op.create_index('ix_idx_uri_res', ['res_pk'], unique=False)
        batch_op.create_index('ix_idx_uri_res_type_param_value', ['res_type', 'param', 'value'], unique=False)

    op.create_table('resource',
    sa.Column('res_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('last_updated_us', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('res_pk'),
    sa.UniqueConstraint('res_type', 'res_id', name='uq_resource_type_id')
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.create_index('ix_resource_type_updated', ['res_type', 'last_updated_us'], unique=False)

    op.create_table('resource_history',
    sa.Column('res_pk', sa.BigInteger(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('last_updated_us', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('res_pk', 'version_id', name='pk_resource_history')
    )
    with op.batch_alter_table('resource_history', schema=None) as batch_op:
        batch_op.create_index('ix_history_type_id', ['res_type', 'res_id', 'version_id'], unique=False)
        batch_op.create_index('ix_history_type_updated', ['res_type', 'last_updated_us'], unique=False)
        batch_op.create_index('ix_history_updated', ['last_updated_us'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('resource_history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_updated')
        batch_op.drop_index('ix_history_type_updated')
        batch_op.drop_index('ix_history_type_id')

    op.drop_table('resource_history')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_type_updated')

    op.drop_table('resource')
    with op.batch_alter_table('idx_uri', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_uri_res_type_param_value')
        batch_op.drop_index('ix_idx_uri_res')

    op.drop_table('idx_uri')
    with op.batch_alter_table('idx_token', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_token_res_type_param_code_system')
        batch_op.drop_index('ix_idx_token_res')

    op.drop_table('idx_token')
    with op.batch_alter_table('idx_string', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_string_res_type_param_value_norm')
        batch_op.drop_index('ix_idx_string_res')

    op.drop_table('idx_string')
    with op.batch_alter_table('idx_reference', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_reference_target_type_target_id')
        batch_op.drop_index('ix_idx_reference_res_type_param_target_type_target_id')
        batch_op.drop_index('ix_idx_reference_res')

    op.drop_table('idx_reference')
    with op.batch_alter_table('idx_quantity', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_quantity_res_type_param_code_value_low')
        batch_op.drop_index('ix_idx_quantity_res')

    op.drop_table('idx_quantity')
    with op.batch_alter_table('idx_number', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_number_res_type_param_value_low')
        batch_op.drop_index('ix_idx_number_res')

    op.drop_table('idx_number')
    with op.batch_alter_table('idx_geo', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_geo_res_type_param_latitude_longitude')
        batch_op.drop_index('ix_idx_geo_res')

    op.drop_table('idx_geo')
    with op.batch_alter_table('idx_date', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_date_res_type_param_low_us_high_us')
        batch_op.drop_index('ix_idx_date_res')

    op.drop_table('idx_date')
    with op.batch_alter_table('idx_composite', schema=None) as batch_op:
        batch_op.drop_index('ix_idx_composite_res_type_param_c1_code_c2_code')
        batch_op.drop_index('ix_idx_composite_res')

    op.drop_table('idx_composite')
