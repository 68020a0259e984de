"""partial indexes for a device create: on the devices' own address blocks (a single address's search reads
its pools' blocks, and without it read through every address the pools had given) and on the machines free to
claim, in the order a claim takes them (it read and sorted every free machine of the plan)

Revision ID: i18_alloc
Revises: i18_boot_retry
"""
from alembic import op
import sqlalchemy as sa


revision = 'i18_alloc'
down_revision = 'i18_boot_retry'
branch_labels = None
depends_on = None

# as api/models/network.py and machine.py write them: a query uses an index only if its WHERE says the same
BLOCKS = sa.text("reservation_id IS NULL AND (kind = 'public_ipv4' AND prefix < 31 "
                 "OR kind = 'private_ipv4' AND prefix < 31 OR kind = 'public_ipv6' AND prefix < 127)")
FREE = sa.text("state = 'available' AND operation IS NULL")


def upgrade() -> None:
    op.create_index('ix_ip_assignments_blocks', 'ip_assignments', ['pool_id'], sqlite_where=BLOCKS,
                    postgresql_where=BLOCKS)
    op.create_index('ix_machines_free', 'machines', ['plan_id', 'metro_id', 'updated_at', 'id'], sqlite_where=FREE,
                    postgresql_where=FREE)


def downgrade() -> None:
    op.drop_index('ix_machines_free', table_name='machines')
    op.drop_index('ix_ip_assignments_blocks', table_name='ip_assignments')
