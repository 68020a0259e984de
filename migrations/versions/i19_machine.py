"""machine depth: storage layouts, boot mode, the OS's user state, hardware health

Revision ID: i19_machine
Revises: i15_network
"""
from alembic import op
import sqlalchemy as sa


revision = 'i19_machine'
down_revision = 'i15_network'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('user_state_message', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('user_state_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('storage', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('storage', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('machines') as batch:
        batch.add_column(sa.Column('boot_mode', sa.String(length=8), nullable=False, server_default='bios'))
        batch.add_column(sa.Column('health_status', sa.String(length=16), nullable=False,
                                   server_default='unknown'))
        batch.add_column(sa.Column('health', sa.JSON(), nullable=False, server_default='{}'))
        batch.add_column(sa.Column('health_checked_at', sa.DateTime(timezone=True), nullable=True))
    # the IPMI driver's boot_mode option was the boot mode until now
    op.execute("UPDATE machines SET boot_mode = 'uefi' "
               "WHERE CAST(bmc_options AS TEXT) LIKE '%\"boot_mode\": \"uefi\"%'")


def downgrade() -> None:
    with op.batch_alter_table('machines') as batch:
        for column in ('health_checked_at', 'health', 'health_status', 'boot_mode'):
            batch.drop_column(column)
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('storage')
    with op.batch_alter_table('devices') as batch:
        for column in ('storage', 'user_state_at', 'user_state_message'):
            batch.drop_column(column)
