"""Issue 3: the migrations build the schema from empty and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.conftest import create_test_database, drop_test_database


def test_migrations_match_models(server_url, tmp_path):
    url = create_test_database(server_url) if server_url else f"sqlite:///{tmp_path / 'migrated.db'}"
    try:
        app = create_app(
            {"CONFIG_CLASS": TestingConfig, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(tmp_path / "up")}
        )
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
            db.engine.dispose()
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        if server_url:
            drop_test_database(url)


def test_postgresql_gets_the_song_group_statistics(server_url, tmp_path):
    """Migration 0002 creates the extended statistics the recompute's plan depends on."""
    if not server_url:
        import pytest

        pytest.skip("PostgreSQL only")
    from sqlalchemy import text

    url = create_test_database(server_url)
    try:
        app = create_app(
            {"CONFIG_CLASS": TestingConfig, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(tmp_path / "up")}
        )
        with app.app_context():
            upgrade()
            names = db.session.scalars(text("SELECT stxname FROM pg_statistic_ext")).all()
            db.session.remove()
            db.engine.dispose()
        assert "songs_groups_nd" in names
    finally:
        drop_test_database(url)
