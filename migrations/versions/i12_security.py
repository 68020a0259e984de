"""per-boot agent credentials and shared abuse-limit counters

Revision ID: i12_security
Revises: i17_console
"""
from alembic import op
import sqlalchemy as sa


revision = 'i12_security'
down_revision = 'i17_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('bucket_ms', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'bucket_ms', name=op.f('pk_rate_counters'))
    )
    op.create_table('boot_credentials',
    sa.Column('machine_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_enc', sa.Text(), nullable=False),
    sa.Column('op_id', sa.String(length=32), nullable=False),
    sa.Column('step_pos', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=48), nullable=False),
    sa.Column('issued_to', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_boot_credentials_machine_id_machines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boot_credentials')),
    sa.UniqueConstraint('machine_id', 'op_id', 'step_pos', 'purpose', name='uq_boot_credentials_step'),
    sa.UniqueConstraint('token_hash', name=op.f('uq_boot_credentials_token_hash'))
    )
    with op.batch_alter_table('boot_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_boot_credentials_machine_id'), ['machine_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('boot_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_boot_credentials_machine_id'))

    op.drop_table('boot_credentials')
    op.drop_table('rate_counters')
