"""equinix contract: organizations (a default one), facilities, invitations, batches; device, project,
user and IP columns the Equinix shapes need

Revision ID: i13_contract
Revises: i12_security
"""
import datetime
import uuid

from alembic import op
import sqlalchemy as sa


revision = 'i13_contract'
down_revision = 'i12_security'
branch_labels = None
depends_on = None

EMPTY_OBJECT = sa.text("'{}'")
EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    organizations = op.create_table('organizations',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('website', sa.String(length=255), nullable=False),
    sa.Column('twitter', sa.String(length=255), nullable=False),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('billing_address', sa.JSON(), nullable=False),
    sa.Column('customdata', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations'))
    )
    # the installation's default organization: every existing project joins it (operators rename it)
    default_id = str(uuid.uuid4())
    now = datetime.datetime.now(datetime.timezone.utc)
    op.bulk_insert(organizations, [{
        'id': default_id, 'name': 'Default organization', 'description': '', 'website': '', 'twitter': '',
        'address': {}, 'billing_address': {}, 'customdata': {}, 'is_default': True, 'created_at': now, 'updated_at': now}])
    op.create_table('facilities',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('metro_id', sa.String(length=36), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metro_id'], ['metros.id'], name=op.f('fk_facilities_metro_id_metros')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facilities')),
    sa.UniqueConstraint('code', name=op.f('uq_facilities_code'))
    )
    op.create_index(op.f('ix_facilities_metro_id'), 'facilities', ['metro_id'], unique=False)
    op.create_table('invitations',
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('invitee', sa.String(length=255), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('invited_by_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_invitations_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations'))
    )
    op.create_index(op.f('ix_invitations_invitee'), 'invitations', ['invitee'], unique=False)
    op.create_index(op.f('ix_invitations_organization_id'), 'invitations', ['organization_id'], unique=False)
    op.create_table('invitation_projects',
    sa.Column('invitation_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_invitation_projects_invitation_id_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_invitation_projects_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invitation_id', 'project_id', name=op.f('pk_invitation_projects'))
    )
    op.create_table('batches',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('error_messages', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_batches_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    op.create_index(op.f('ix_batches_project_id'), 'batches', ['project_id'], unique=False)

    with op.batch_alter_table('devices') as batch_op:
        batch_op.add_column(sa.Column('facility_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('batch_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('termination_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_devices_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_termination_time'), ['termination_time'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_devices_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_devices_batch_id_batches'), 'batches', ['batch_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_devices_facility_id_facilities'), 'facilities', ['facility_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('ip_assignments') as batch_op:
        batch_op.add_column(sa.Column('customdata', sa.JSON(), nullable=False, server_default=EMPTY_OBJECT))

    with op.batch_alter_table('ip_reservations') as batch_op:
        batch_op.add_column(sa.Column('customdata', sa.JSON(), nullable=False, server_default=EMPTY_OBJECT))
        batch_op.add_column(sa.Column('facility_id', sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ip_reservations_facility_id_facilities'), 'facilities', ['facility_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('projects') as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default=EMPTY_LIST))
    op.execute(sa.text("UPDATE projects SET organization_id = :org").bindparams(org=default_id))
    with op.batch_alter_table('projects') as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_index(batch_op.f('ix_projects_organization_id'), ['organization_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_projects_organization_id_organizations'), 'organizations', ['organization_id'], ['id'])

    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('customdata', sa.JSON(), nullable=False, server_default=EMPTY_OBJECT))
        batch_op.add_column(sa.Column('phone_number', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('phone_number')
        batch_op.drop_column('customdata')

    with op.batch_alter_table('projects') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_projects_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_projects_organization_id'))
        batch_op.drop_column('tags')
        batch_op.drop_column('organization_id')

    with op.batch_alter_table('ip_reservations') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ip_reservations_facility_id_facilities'), type_='foreignkey')
        batch_op.drop_column('facility_id')
        batch_op.drop_column('customdata')

    with op.batch_alter_table('ip_assignments') as batch_op:
        batch_op.drop_column('customdata')

    with op.batch_alter_table('devices') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_devices_facility_id_facilities'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_devices_batch_id_batches'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_devices_created_by_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_devices_termination_time'))
        batch_op.drop_index(batch_op.f('ix_devices_batch_id'))
        batch_op.drop_column('termination_time')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('batch_id')
        batch_op.drop_column('facility_id')

    op.drop_index(op.f('ix_batches_project_id'), table_name='batches')
    op.drop_table('batches')
    op.drop_table('invitation_projects')
    op.drop_index(op.f('ix_invitations_organization_id'), table_name='invitations')
    op.drop_index(op.f('ix_invitations_invitee'), table_name='invitations')
    op.drop_table('invitations')
    op.drop_index(op.f('ix_facilities_metro_id'), table_name='facilities')
    op.drop_table('facilities')
    op.drop_table('organizations')
