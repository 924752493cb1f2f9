"""songs: covering index for the chart and coverage scans, per-state due-date indexes for the
song list, PostgreSQL extended statistics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

See BENCHMARKS.md (findings 4 and 5): the recompute's grouped scan reads only
``ix_songs_season_charts`` in group order; on PostgreSQL the ndistinct statistics
stop the planner from estimating ~100,000 groups where there are ~600.
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COLUMNS = [
    'season_id', 'label_id', 'artist_id', 'album_id', 'department_id', 'municipality_id', 'state', 'due_date',
    'delivered_on', 'timeliness', 'quality', 'review_score', 'satisfaction', 'points', 'on_time',
]


def upgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.create_index('ix_songs_season_charts', COLUMNS, unique=False)
        batch_op.drop_index('ix_songs_season_due')
        batch_op.create_index('ix_songs_season_state_due', ['season_id', 'state', 'due_date'], unique=False)
        batch_op.create_index('ix_songs_state_due', ['state', 'due_date'], unique=False)
        batch_op.create_index('ix_songs_state_delivered', ['state', 'delivered_on', 'label_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'CREATE STATISTICS IF NOT EXISTS songs_groups_nd (ndistinct) '
            'ON label_id, artist_id, album_id, department_id FROM songs'
        )
        op.execute('ANALYZE songs')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP STATISTICS IF EXISTS songs_groups_nd')
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_index('ix_songs_state_delivered')
        batch_op.drop_index('ix_songs_state_due')
        batch_op.drop_index('ix_songs_season_state_due')
        batch_op.create_index('ix_songs_season_due', ['season_id', 'due_date'], unique=False)
        batch_op.drop_index('ix_songs_season_charts')
