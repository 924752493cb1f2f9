"""The (season, label, state) index of songs also carries survey_issued_at, so a team's home
counts its unanswered and expired survey links off the index alone (issue 18)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.create_index(
            'ix_songs_season_label_state_link', ['season_id', 'label_id', 'state', 'survey_issued_at'], unique=False
        )
        batch_op.drop_index('ix_songs_season_label_state')


def downgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.create_index('ix_songs_season_label_state', ['season_id', 'label_id', 'state'], unique=False)
        batch_op.drop_index('ix_songs_season_label_state_link')
