"""Offline deliveries (issue 22): the idempotency key of each draft synced from a device
(client_draft_id, unique), with the device's recorded time and the server's receipt time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (UTCDateTime)


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('offline_syncs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_draft_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('song_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('evidence_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['song_id'], ['songs.id'], name=op.f('fk_offline_syncs_song_id_songs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_offline_syncs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_syncs')),
    sa.UniqueConstraint('client_draft_id', name=op.f('uq_offline_syncs_client_draft_id'))
    )
    with op.batch_alter_table('offline_syncs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_syncs_song_id'), ['song_id'], unique=False)



def downgrade():
    with op.batch_alter_table('offline_syncs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_syncs_song_id'))

    op.drop_table('offline_syncs')
