"""An index on songs.survey_issued_at: the notification run reads survey links by the time they
were issued (about to expire; the municipal contact's invitation and reminder), issue 18

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.create_index('ix_songs_survey_issued', ['survey_issued_at'], unique=False)


def downgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_index('ix_songs_survey_issued')
