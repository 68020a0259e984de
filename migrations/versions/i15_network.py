"""tenant networking: switches, routers, VLANs, ports, BGP

Revision ID: i15_network
Revises: i20_lab
"""
from alembic import op
import sqlalchemy as sa


revision = 'i15_network'
down_revision = 'i20_lab'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('asn_ranges',
    sa.Column('first', sa.BigInteger(), nullable=False),
    sa.Column('last', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asn_ranges'))
    )
    op.create_table('network_syncs',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('wanted', sa.Integer(), nullable=False),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('restoring', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('applied_config', sa.JSON(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_syncs')),
    sa.UniqueConstraint('kind', 'target_id', name=op.f('uq_network_syncs_kind'))
    )
    with op.batch_alter_table('network_syncs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_syncs_next_check_at'), ['next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_network_syncs_state'), ['state'], unique=False)

    op.create_table('bgp_configs',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('asn', sa.BigInteger(), nullable=False),
    sa.Column('deployment_type', sa.String(length=8), nullable=False),
    sa.Column('md5_enc', sa.Text(), nullable=False),
    sa.Column('use_case', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('max_prefix', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_bgp_configs_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bgp_configs')),
    sa.UniqueConstraint('project_id', name=op.f('uq_bgp_configs_project_id'))
    )
    op.create_table('global_bgp_ranges',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('address_family', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_global_bgp_ranges_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_global_bgp_ranges'))
    )
    with op.batch_alter_table('global_bgp_ranges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_global_bgp_ranges_project_id'), ['project_id'], unique=False)

    op.create_table('routers',
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('asn', sa.BigInteger(), nullable=False),
    sa.Column('peer_ipv4', sa.JSON(), nullable=False),
    sa.Column('peer_ipv6', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('driver', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=512), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('password_enc', sa.Text(), nullable=False),
    sa.Column('private_key_enc', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_routers_metro_id_metros')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routers')),
    sa.UniqueConstraint('metro_id', name=op.f('uq_routers_metro_id'))
    )
    op.create_table('switches',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('uplinks', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('driver', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=512), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('password_enc', sa.Text(), nullable=False),
    sa.Column('private_key_enc', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_switches_metro_id_metros')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_switches')),
    sa.UniqueConstraint('name', name=op.f('uq_switches_name'))
    )
    with op.batch_alter_table('switches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_switches_metro_id'), ['metro_id'], unique=False)

    op.create_table('virtual_networks',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('vxlan', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_virtual_networks_metro_id_metros')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_virtual_networks_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_virtual_networks')),
    sa.UniqueConstraint('metro_id', 'vxlan', name=op.f('uq_virtual_networks_metro_id'))
    )
    with op.batch_alter_table('virtual_networks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_virtual_networks_metro_id'), ['metro_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_virtual_networks_project_id'), ['project_id'], unique=False)

    op.create_table('vlan_ranges',
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('first', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_vlan_ranges_metro_id_metros')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vlan_ranges'))
    )
    with op.batch_alter_table('vlan_ranges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vlan_ranges_metro_id'), ['metro_id'], unique=False)

    op.create_table('ports',
    sa.Column('machine_id', sa.String(length=36), nullable=False),
    sa.Column('nic_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('bonded', sa.Boolean(), nullable=False),
    sa.Column('layer2', sa.Boolean(), nullable=False),
    sa.Column('native_vlan_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_ports_machine_id_machines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['native_vlan_id'], ['virtual_networks.id'], name=op.f('fk_ports_native_vlan_id_virtual_networks')),
    sa.ForeignKeyConstraint(['nic_id'], ['nics.id'], name=op.f('fk_ports_nic_id_nics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ports')),
    sa.UniqueConstraint('machine_id', 'name', name=op.f('uq_ports_machine_id'))
    )
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ports_machine_id'), ['machine_id'], unique=False)

    op.create_table('bgp_sessions',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('address_family', sa.String(length=8), nullable=False),
    sa.Column('default_route', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('learned_routes', sa.JSON(), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_bgp_sessions_device_id_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bgp_sessions')),
    sa.UniqueConstraint('device_id', 'address_family', name=op.f('uq_bgp_sessions_device_id'))
    )
    with op.batch_alter_table('bgp_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bgp_sessions_device_id'), ['device_id'], unique=False)

    op.create_table('port_batches',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('vlan_assignments', sa.JSON(), nullable=False),
    sa.Column('error_messages', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_port_batches_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_port_batches_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_port_batches'))
    )
    with op.batch_alter_table('port_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_port_batches_port_id'), ['port_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_port_batches_project_id'), ['project_id'], unique=False)

    op.create_table('port_vlan_assignments',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('virtual_network_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_port_vlan_assignments_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['virtual_network_id'], ['virtual_networks.id'], name=op.f('fk_port_vlan_assignments_virtual_network_id_virtual_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_port_vlan_assignments')),
    sa.UniqueConstraint('port_id', 'virtual_network_id', name=op.f('uq_port_vlan_assignments_port_id'))
    )
    with op.batch_alter_table('port_vlan_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_port_vlan_assignments_port_id'), ['port_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_port_vlan_assignments_virtual_network_id'), ['virtual_network_id'], unique=False)

    with op.batch_alter_table('nics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('switch_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('switch_port', sa.String(length=64), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_nics_switch_id'), ['switch_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_nics_switch_id_switches'), 'switches', ['switch_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('nics', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nics_switch_id_switches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_nics_switch_id'))
        batch_op.drop_column('switch_port')
        batch_op.drop_column('switch_id')

    with op.batch_alter_table('port_vlan_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_port_vlan_assignments_virtual_network_id'))
        batch_op.drop_index(batch_op.f('ix_port_vlan_assignments_port_id'))

    op.drop_table('port_vlan_assignments')
    with op.batch_alter_table('port_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_port_batches_project_id'))
        batch_op.drop_index(batch_op.f('ix_port_batches_port_id'))

    op.drop_table('port_batches')
    with op.batch_alter_table('bgp_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bgp_sessions_device_id'))

    op.drop_table('bgp_sessions')
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ports_machine_id'))

    op.drop_table('ports')
    with op.batch_alter_table('vlan_ranges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vlan_ranges_metro_id'))

    op.drop_table('vlan_ranges')
    with op.batch_alter_table('virtual_networks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_virtual_networks_project_id'))
        batch_op.drop_index(batch_op.f('ix_virtual_networks_metro_id'))

    op.drop_table('virtual_networks')
    with op.batch_alter_table('switches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_switches_metro_id'))

    op.drop_table('switches')
    op.drop_table('routers')
    with op.batch_alter_table('global_bgp_ranges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_global_bgp_ranges_project_id'))

    op.drop_table('global_bgp_ranges')
    op.drop_table('bgp_configs')
    with op.batch_alter_table('network_syncs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_syncs_state'))
        batch_op.drop_index(batch_op.f('ix_network_syncs_next_check_at'))

    op.drop_table('network_syncs')
    op.drop_table('asn_ranges')
