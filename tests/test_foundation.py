"""Issue 3: factory, config, health, reference data, migrations, sign-in, demo seed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.extensions import db
from app.models import Department, Label, Municipality, Song, User
from config import ProductionConfig, TestingConfig
from seeds.reference import load_reference


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_healthz_503_when_database_does_not_answer(tmp_path):
    app = create_app(
        {
            "CONFIG_CLASS": TestingConfig,
            "UPLOAD_FOLDER": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(
            {
                "CONFIG_CLASS": ProductionConfig,
                "SECRET_KEY": None,
                "SECRET_KEY_FILE": str(tmp_path / "no-such-file"),
                "UPLOAD_FOLDER": str(tmp_path),
            }
        )


def test_reference_data_counts_and_coverage(app):
    counts = load_reference()
    assert counts["departments"] == 33
    assert counts["municipalities"] >= 1100
    assert counts["pdet"] == 170
    assert counts["labels"] == 16
    # Every department is covered by exactly one label, and every label covers one or more.
    assert db.session.scalar(select(func.count()).where(Department.label_id.is_(None))) == 0
    per_label = dict(db.session.execute(select(Department.label_id, func.count()).group_by(Department.label_id)).all())
    assert len(per_label) == 16 and all(n >= 1 for n in per_label.values())
    # PDET subregions 1–16 all present.
    subregions = db.session.scalars(
        select(Municipality.pdet_subregion_code).distinct().where(Municipality.pdet.is_(True))
    ).all()
    assert sorted(subregions) == list(range(1, 17))


def test_reference_seed_is_idempotent(app, runner):
    first = runner.invoke(args=["seed", "reference"])
    assert first.exit_code == 0, first.output
    before = {
        t: db.session.scalar(text(f"SELECT COUNT(*) FROM {t}"))
        for t in ("departments", "municipalities", "labels", "albums", "seasons")
    }
    second = runner.invoke(args=["seed", "reference"])
    assert second.exit_code == 0, second.output
    after = {t: db.session.scalar(text(f"SELECT COUNT(*) FROM {t}")) for t in before}
    assert before == after
    assert db.session.scalar(select(Municipality.name).filter_by(code="05001")) == "Medellín"


def test_categories_import_all_or_nothing(app, tmp_path, runner):
    load_reference()
    bad = tmp_path / "cat.csv"
    bad.write_text(
        "municipality_code,year,category\n05001,2024,especial\n99999,2024,6\n05002,2024,9\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", "categories", str(bad)])
    assert result.exit_code == 1
    assert "línea 3" in result.output and "línea 4" in result.output
    assert db.session.scalar(select(Municipality.category_source).filter_by(code="05001")) == "official:2023"
    good = tmp_path / "ok.csv"
    good.write_text("municipality_code;year;category\n05001;2024;especial\n5002;2024;5\n", encoding="utf-8")
    result = runner.invoke(args=["import", "categories", str(good)])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Municipality.category).filter_by(code="05002")) == "5"
    assert db.session.scalar(select(Municipality.category_source).filter_by(code="05001")) == "official:2024"


def _fingerprint():
    rows = db.session.execute(
        select(Song.id, Song.state, Song.due_date, Song.municipality_id, Song.points, Song.timeliness).order_by(Song.id)
    ).all()
    return [tuple(r) for r in rows]


def test_demo_seed_is_deterministic_and_has_every_state(app, runner):
    from tests.conftest import _empty_tables

    result = runner.invoke(args=["seed", "demo", "--songs", "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    first = _fingerprint()
    states = {row[1] for row in first}
    assert states == {"planned", "in_progress", "delivered", "returned", "reviewed", "cancelled"}
    assert db.session.scalar(select(func.count(User.id)).filter(User.email.like("territorial%@sinfonia.demo"))) >= 16
    t16 = db.session.scalar(select(User).filter_by(email="territorial16@sinfonia.demo"))
    last_label = db.session.scalar(select(Label).order_by(Label.code.desc()))
    assert t16.label_id == last_label.id
    db.session.remove()
    _empty_tables()
    result = runner.invoke(args=["seed", "demo", "--songs", "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert _fingerprint() == first


def test_seed_demo_if_empty_does_not_duplicate(app, runner):
    runner.invoke(args=["seed", "demo", "--songs", "50"])
    result = runner.invoke(args=["seed", "demo", "--songs", "50", "--if-empty"])
    assert result.exit_code == 0
    assert db.session.scalar(select(func.count(Song.id))) == 50


def test_sign_in_and_out(world, client, auth):
    response = auth.login_with_password("ta@test.co")
    assert response.status_code == 302
    assert client.get("/songs").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/songs").status_code == 302  # back to the sign-in page


def test_bad_password_gets_generic_error(world, client, auth):
    bad = auth.login_with_password("ta@test.co", "wrong-password-1")
    unknown = auth.login_with_password("nobody@test.co", "wrong-password-1")
    assert bad.status_code == unknown.status_code == 401
    assert "Correo o contraseña incorrectos" in bad.get_data(as_text=True)
    assert "Correo o contraseña incorrectos" in unknown.get_data(as_text=True)


def test_inactive_user_cannot_sign_in(world, auth):
    world.territorial_a.active = False
    db.session.commit()
    assert auth.login_with_password("ta@test.co").status_code == 401


def test_role_decorator_forbids_other_roles(world, client, auth):
    auth.login(world.manager)
    assert client.get("/admin").status_code == 403
    auth.login(world.admin)
    assert client.get("/admin").status_code == 200


def test_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Página no encontrada" in response.get_data(as_text=True)


def test_users_create_cli(world, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Nuevo@Test.co",
            "--name",
            "Nuevo",
            "--role",
            "territorial",
            "--label",
            "DT01",
            "--password",
            "unaclave12345",
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.label_id).filter_by(email="nuevo@test.co")) == world.label_a.id
    weak = runner.invoke(
        args=["users", "create", "--email", "x@test.co", "--name", "X", "--role", "manager", "--password", "corta"]
    )
    assert weak.exit_code != 0
