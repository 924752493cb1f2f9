"""Integrity alerts (issue 15): what the set-based alerts read, stored at write time — the day a
song was cancelled, how many business days a declared delivery date lies before its recording,
how often a review was corrected — and an index to find evidence files reused across songs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

import app.models.base  # noqa: F401  (UTCDateTime)


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_sha256', ['sha256', 'song_id'], unique=False)

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrections', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('declared_lag_days', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_column('declared_lag_days')
        batch_op.drop_column('cancelled_on')

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('corrections')

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_sha256')

