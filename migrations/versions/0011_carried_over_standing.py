"""Songs carried over to the next season stand as "carried_over" (late in their own season),
so the chart scan reads the standing off its covering index instead of carried_over_to_id

Data only: songs carried over before this revision were stored with the standing "cancelled"
and ``carried_over`` false; the board counted them as late through ``carried_over_to_id``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE songs SET carried_over = TRUE, standing = 'carried_over' WHERE carried_over_to_id IS NOT NULL"
    )


def downgrade():
    op.execute(
        "UPDATE songs SET carried_over = FALSE, standing = 'cancelled' WHERE carried_over_to_id IS NOT NULL"
    )
