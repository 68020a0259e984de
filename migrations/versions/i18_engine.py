"""engine order: when a machine's running operation started (due steps are claimed oldest operation first)

Revision ID: i18_engine
Revises: i19_machine
"""
from alembic import op
import sqlalchemy as sa


revision = 'i18_engine'
down_revision = 'i19_machine'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('machines') as batch:
        batch.add_column(sa.Column('operation_started_at', sa.DateTime(timezone=True), nullable=True))
    # an operation running during the upgrade: its current step's start is the best guess there is
    op.execute("UPDATE machines SET operation_started_at = step_started_at WHERE operation IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('machines') as batch:
        batch.drop_column('operation_started_at')
