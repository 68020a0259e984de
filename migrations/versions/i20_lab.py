"""serial console, Wake-on-LAN, discovery: provisioning networks, BMC discoveries, machine inspection by the ramdisk

Revision ID: i20_lab
Revises: i16_terraform
"""
from alembic import op
import sqlalchemy as sa


revision = 'i20_lab'
down_revision = 'i16_terraform'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provisioning_networks',
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('wol_broadcast', sa.String(length=64), nullable=False),
    sa.Column('wol_interface', sa.String(length=15), nullable=False),
    sa.Column('wol_port', sa.Integer(), nullable=False),
    sa.Column('bmc_discovery', sa.Boolean(), nullable=False),
    sa.Column('unknown_mac_discovery', sa.Boolean(), nullable=False),
    sa.Column('auto_accept', sa.Boolean(), nullable=False),
    sa.Column('auto_accept_plans', sa.JSON(), nullable=False),
    sa.Column('bmc_username', sa.String(length=255), nullable=False),
    sa.Column('bmc_password_enc', sa.Text(), nullable=False),
    sa.Column('bmc_options', sa.JSON(), nullable=False),
    sa.Column('redfish_url', sa.String(length=255), nullable=False),
    sa.Column('ipmi_port', sa.Integer(), nullable=False),
    sa.Column('lease_hook_token_hash', sa.String(length=64), nullable=True),
    sa.Column('lease_hook_token_enc', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_provisioning_networks_metro_id_metros'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_networks')),
    sa.UniqueConstraint('lease_hook_token_hash', name=op.f('uq_provisioning_networks_lease_hook_token_hash')),
    sa.UniqueConstraint('metro_id', name=op.f('uq_provisioning_networks_metro_id'))
    )
    op.create_table('bmc_discoveries',
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('mac', sa.String(length=17), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('hostname', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('machine_id', sa.String(length=36), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_bmc_discoveries_machine_id_machines'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_bmc_discoveries_metro_id_metros'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bmc_discoveries')),
    sa.UniqueConstraint('mac', name=op.f('uq_bmc_discoveries_mac'))
    )
    with op.batch_alter_table('bmc_discoveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bmc_discoveries_metro_id'), ['metro_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bmc_discoveries_next_check_at'), ['next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bmc_discoveries_state'), ['state'], unique=False)

    with op.batch_alter_table('machines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inspection_token_hash', sa.String(length=64), nullable=True))
        # existing machines have reported nothing
        batch_op.add_column(sa.Column('reported_facts', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.create_unique_constraint(batch_op.f('uq_machines_inspection_token_hash'), ['inspection_token_hash'])



def downgrade() -> None:
    with op.batch_alter_table('machines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_machines_inspection_token_hash'), type_='unique')
        batch_op.drop_column('reported_facts')
        batch_op.drop_column('inspection_token_hash')

    with op.batch_alter_table('bmc_discoveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bmc_discoveries_state'))
        batch_op.drop_index(batch_op.f('ix_bmc_discoveries_next_check_at'))
        batch_op.drop_index(batch_op.f('ix_bmc_discoveries_metro_id'))

    op.drop_table('bmc_discoveries')
    op.drop_table('provisioning_networks')
