"""notifications: the log (one row per kind, event and recipient) and per-user preferences;
index on reviews.created_at for the team's home (issue 18)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('event_key', sa.String(length=120), nullable=False),
        sa.Column('recipient_key', sa.String(length=300), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('song_id', sa.Integer(), nullable=True),
        sa.Column('label_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('read_at', UTCDateTime(), nullable=True),
        sa.Column('mail_status', sa.String(length=10), nullable=False),
        sa.Column('mail_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('mailed_at', UTCDateTime(), nullable=True),
        sa.Column('mail_error', sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "mail_status IN ('none','pending','digest','sent','failed')",
            name=op.f('ck_notifications_mail_status_valid'),
        ),
        sa.CheckConstraint('user_id IS NOT NULL OR email IS NOT NULL', name=op.f('ck_notifications_has_recipient')),
        sa.ForeignKeyConstraint(
            ['label_id'], ['labels.id'], name=op.f('fk_notifications_label_id_labels'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['song_id'], ['songs.id'], name=op.f('fk_notifications_song_id_songs'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint(
            'kind', 'event_key', 'recipient_key', name=op.f('uq_notifications_kind_event_key_recipient_key')
        ),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_mail', ['mail_status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table(
        'notification_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('delivery', sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "delivery IN ('immediate','digest')", name=op.f('ck_notification_preferences_delivery_valid')
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
        sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id_kind')),
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_created_at')
    op.drop_table('notification_preferences')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index('ix_notifications_mail')
    op.drop_table('notifications')
