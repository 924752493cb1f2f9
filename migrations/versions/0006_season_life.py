"""seasons: state (planning/open/closing/closed), closing and target dates, drafts, closure;
chart snapshots of kind 'final'; songs carried over to the next season

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

DESIGN.md §5 (a season has a life too). Existing seasons keep ``open``; the
daily season job (app.domain.seasons.advance) moves them on from their dates.
"""
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _closing_date(year):
    from app.domain.calendar import is_business_day

    day = date(year + 1, 1, 31)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def upgrade():
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=False, server_default='open'))
        batch_op.add_column(sa.Column('closing_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('target_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('drafts_from_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('corrected_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_seasons_confirmed_by_id_users'), 'users', ['confirmed_by_id'], ['id']
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_seasons_state_valid'), "state IN ('planning','open','closing','closed')"
        )
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)
    seasons = sa.table('seasons', sa.column('id', sa.Integer), sa.column('year', sa.Integer),
                       sa.column('closing_date', sa.Date), sa.column('target_date', sa.Date))
    bind = op.get_bind()
    for season_id, year in bind.execute(sa.select(seasons.c.id, seasons.c.year)).all():
        bind.execute(
            seasons.update().where(seasons.c.id == season_id)
            .values(closing_date=_closing_date(year), target_date=date(year, 1, 31))
        )

    with op.batch_alter_table('chart_snapshots', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_chart_snapshots_kind_valid'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_chart_snapshots_kind_valid'), "kind IN ('live','closing','final')"
        )

    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carried_over_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_songs_carried_over_to_id_songs'), 'songs', ['carried_over_to_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('songs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_songs_carried_over_to_id_songs'), type_='foreignkey')
        batch_op.drop_column('carried_over_to_id')
    op.execute("DELETE FROM chart_snapshots WHERE kind = 'final'")
    with op.batch_alter_table('chart_snapshots', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_chart_snapshots_kind_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_chart_snapshots_kind_valid'), "kind IN ('live','closing')")
    with op.batch_alter_table('seasons', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_seasons_state_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_seasons_confirmed_by_id_users'), type_='foreignkey')
        for column in ('corrected_at', 'closed_at', 'confirmed_by_id', 'confirmed_at', 'drafts_from_year',
                       'target_date', 'closing_date', 'state'):
            batch_op.drop_column(column)
