"""a partial index on the devices' own address blocks: a single address's search reads its pools' blocks
at every create, and without it read through every address the pools had given

Revision ID: i18_alloc
Revises: i18_boot_retry
"""
from alembic import op
import sqlalchemy as sa


revision = 'i18_alloc'
down_revision = 'i18_boot_retry'
branch_labels = None
depends_on = None

# as api/models/network.py writes it: a query uses the index only if its WHERE says the same
BLOCKS = sa.text("reservation_id IS NULL AND (kind = 'public_ipv4' AND prefix < 31 "
                 "OR kind = 'private_ipv4' AND prefix < 31 OR kind = 'public_ipv6' AND prefix < 127)")


def upgrade() -> None:
    op.create_index('ix_ip_assignments_blocks', 'ip_assignments', ['pool_id'], sqlite_where=BLOCKS,
                    postgresql_where=BLOCKS)


def downgrade() -> None:
    op.drop_index('ix_ip_assignments_blocks', table_name='ip_assignments')
