"""Segregation of duties (issue 15): coordinators' home directorates, who delivered a song,
review assignment and service level, municipal contact, held surveys, four-eyes pending changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (UTCDateTime)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coordinator_home_labels',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], name=op.f('fk_coordinator_home_labels_label_id_labels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coordinator_home_labels_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'label_id', name=op.f('pk_coordinator_home_labels'))
    )
    with op.batch_alter_table('coordinator_home_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordinator_home_labels_label_id'), ['label_id'], unique=False)

    op.create_table('pending_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=True),
    sa.Column('label_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending','confirmed','rejected')", name=op.f('ck_pending_changes_status_valid')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_pending_changes_decided_by_id_users')),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], name=op.f('fk_pending_changes_label_id_labels')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_pending_changes_requested_by_id_users')),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_pending_changes_song_id_songs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_changes'))
    )
    with op.batch_alter_table('pending_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_changes_song_id'), ['song_id'], unique=False)
        batch_op.create_index('ix_pending_changes_status', ['status', 'requested_at'], unique=False)

    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_sla_days', sa.Integer(), server_default='10', nullable=False))

    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('contact_position', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('survey_discarded_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assigned_reviewer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_assigned_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_songs_assigned_reviewer_id'), ['assigned_reviewer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_songs_assigned_reviewer_id_users'), 'users', ['assigned_reviewer_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_songs_delivered_by_id_users'), 'users', ['delivered_by_id'], ['id'])

    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('hold_reasons', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('validated_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('validated_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ip_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('browser_family', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('answer_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_surveys_validated_by_id_users'), 'users', ['validated_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_surveys_answered_by_id_users'), 'users', ['answered_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_surveys_answered_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_surveys_validated_by_id_users'), type_='foreignkey')
        batch_op.drop_column('answered_by_id')
        batch_op.drop_column('answer_seconds')
        batch_op.drop_column('browser_family')
        batch_op.drop_column('ip_hash')
        batch_op.drop_column('validated_by_id')
        batch_op.drop_column('validated_at')
        batch_op.drop_column('hold_reasons')
        batch_op.drop_column('held')

    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_songs_delivered_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_songs_assigned_reviewer_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_songs_assigned_reviewer_id'))
        batch_op.drop_column('review_assigned_at')
        batch_op.drop_column('assigned_reviewer_id')
        batch_op.drop_column('delivered_by_id')
        batch_op.drop_column('survey_discarded_at')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_position')
        batch_op.drop_column('contact_name')

    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.drop_column('review_sla_days')

    with op.batch_alter_table('pending_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_changes_status')
        batch_op.drop_index(batch_op.f('ix_pending_changes_song_id'))

    op.drop_table('pending_changes')
    with op.batch_alter_table('coordinator_home_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordinator_home_labels_label_id'))

    op.drop_table('coordinator_home_labels')
