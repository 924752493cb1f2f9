"""Fair scoring (issue 14): song standing, committed due date, late cancellations,
carried-over hook, evidence pending for imported deliveries, re-planned link,
album maximum duration, season declaration window, credited/waiting/late counts
on the label board

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD_CHART_COLUMNS = [
    'season_id', 'label_id', 'artist_id', 'album_id', 'department_id', 'municipality_id', 'state', 'due_date',
    'delivered_on', 'timeliness', 'quality', 'review_score', 'satisfaction', 'points', 'on_time',
]
STANDINGS = "'credited','not_approved','waiting','evidence_pending','open','late_cancelled','carried_over','cancelled'"


def upgrade():
    with op.batch_alter_table('albums', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_duration_days', sa.Integer(), server_default='180', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_albums_max_duration_positive'), 'max_duration_days > 0')
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declaration_window_days', sa.Integer(), server_default='10', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_seasons_declaration_window_nonnegative'), 'declaration_window_days >= 0')
    with op.batch_alter_table('label_chart_entries', schema=None) as batch_op:
        for name in ('credited_songs', 'not_approved_songs', 'waiting_songs', 'late_songs'):
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('committed_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_late', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('late_cancel_reason', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('late_cancel_approved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('carried_over', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('awaiting_evidence', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('standing', sa.String(length=20), server_default='open', nullable=False))
        batch_op.create_foreign_key(
            batch_op.f('fk_songs_late_cancel_approved_by_id_users'), 'users', ['late_cancel_approved_by_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_songs_replaces_id_songs'), 'songs', ['replaces_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_check_constraint(batch_op.f('ck_songs_standing_valid'), f'standing IN ({STANDINGS})')
        batch_op.drop_index('ix_songs_season_charts')
        batch_op.create_index('ix_songs_season_charts', [*OLD_CHART_COLUMNS, 'standing'], unique=False)
    # Existing songs: their standing from the stored terms (the threshold of their season).
    op.execute(
        "UPDATE songs SET committed_due = due_date WHERE state <> 'planned'"
    )
    op.execute(
        "UPDATE songs SET standing = CASE "
        "WHEN state = 'reviewed' AND review_score >= (SELECT approval_threshold FROM seasons "
        "WHERE seasons.id = songs.season_id) - 1e-12 THEN 'credited' "
        "WHEN state = 'reviewed' THEN 'not_approved' "
        "WHEN state = 'delivered' THEN 'waiting' "
        "WHEN state = 'cancelled' THEN 'cancelled' "
        "ELSE 'open' END"
    )


def downgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_index('ix_songs_season_charts')
        batch_op.create_index('ix_songs_season_charts', OLD_CHART_COLUMNS, unique=False)
        batch_op.drop_constraint(batch_op.f('ck_songs_standing_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_songs_replaces_id_songs'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_songs_late_cancel_approved_by_id_users'), type_='foreignkey')
        for name in (
            'standing', 'replaces_id', 'awaiting_evidence', 'carried_over', 'late_cancel_approved_by_id',
            'late_cancel_reason', 'cancelled_late', 'returned_on', 'committed_due',
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table('label_chart_entries', schema=None) as batch_op:
        for name in ('late_songs', 'waiting_songs', 'not_approved_songs', 'credited_songs'):
            batch_op.drop_column(name)
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_seasons_declaration_window_nonnegative'), type_='check')
        batch_op.drop_column('declaration_window_days')
    with op.batch_alter_table('albums', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_albums_max_duration_positive'), type_='check')
        batch_op.drop_column('max_duration_days')
