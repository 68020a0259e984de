"""boot credentials: a machine that asks again for its boot script, before anyone used the first
credential, gets a new one (generation), the old one kept as superseded (its later use is a contest);
when the ask that got a credential arrived (an older ask answered after its retry is not a second asker)

Revision ID: i18_boot_retry
Revises: i18_engine
"""
from alembic import op
import sqlalchemy as sa


revision = 'i18_boot_retry'
down_revision = 'i18_engine'
branch_labels = None
depends_on = None

STEP = ['machine_id', 'op_id', 'step_pos', 'purpose']


def upgrade() -> None:
    with op.batch_alter_table('boot_credentials') as batch:
        batch.add_column(sa.Column('generation', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('asked_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('presented_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint('uq_boot_credentials_step', type_='unique')
        batch.create_unique_constraint('uq_boot_credentials_step', STEP + ['generation'])
    # a credential already used for its result was presented; the others' first use is unknown (the
    # cautious reading: a re-ask for one of them is a contest, as it was before this revision)
    op.execute("UPDATE boot_credentials SET presented_at = COALESCE(used_at, created_at)")


def downgrade() -> None:
    op.execute("DELETE FROM boot_credentials WHERE superseded_at IS NOT NULL")
    op.execute("UPDATE boot_credentials SET generation = 0")
    with op.batch_alter_table('boot_credentials') as batch:
        batch.drop_constraint('uq_boot_credentials_step', type_='unique')
        batch.create_unique_constraint('uq_boot_credentials_step', STEP)
        batch.drop_column('superseded_at')
        batch.drop_column('presented_at')
        batch.drop_column('asked_at')
        batch.drop_column('generation')
