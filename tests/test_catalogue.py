"""Catalogue administration: albums, artists, seasons and weights, playlists (DESIGN.md §1, §2, §4)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest
from sqlalchemy import select

from app.domain import catalogue
from app.domain.errors import Conflict, PermissionDenied, ValidationFailed
from app.domain.scoring import SongTerms
from app.domain.terms import refresh_song_terms
from app.extensions import db
from app.models import AuditEvent, Playlist, Season, Song
from tests.factories import make_song


def weights_form(season: Season, **overrides) -> dict:
    values = {name: str(getattr(season, name)) for name in catalogue.SEASON_WEIGHT_FIELDS}
    values["declaration_window_days"] = "10"  # the test world's window is open wide (tests/factories.py)
    values.update(overrides)
    return values


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# --------------------------------------------------------------------------- seasons


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"late_floor_days": "0"}, "late_floor_days"),
        ({"late_floor_days": "2.5"}, "late_floor_days"),
        ({"equity_cap": "0.9"}, "equity_cap"),
        ({"equity_cap": "3.5"}, "equity_cap"),
        ({"equity_pdet": "-0.1"}, "equity_pdet"),
        ({"approval_threshold": "abc"}, "approval_threshold"),
        ({"approval_threshold": "nan"}, "approval_threshold"),
        ({"quality_review_weight": "0.7"}, "quality_survey_weight"),  # 0.7 + 0.4 ≠ 1
        ({"points_quality_weight": "0.5"}, "points_timeliness_weight"),
        ({"index_quality_weight": "0.5"}, "index_progress_weight"),
        ({"badge_platinum_songs": "5"}, "badge_platinum_songs"),  # fewer than gold (10)
        ({"points_scale": ""}, "points_scale"),
    ],
)
def test_season_weight_validation(world, overrides, field):
    with pytest.raises(ValidationFailed) as info:
        catalogue.update_season_weights(world.season, weights_form(world.season, **overrides), world.admin)
    assert field in info.value.details
    db.session.rollback()
    assert db.session.get(Season, world.season.id).late_floor_days == 20
    assert events("season_weights_changed") == []


def test_season_weights_change_recomputes_stored_terms_and_audits(world):
    song = make_song(world, state="delivered", due=date(2024, 3, 15), delivered_on=date(2024, 3, 22))
    assert song.timeliness == pytest.approx(1 - 5 / 20)
    form = weights_form(world.season, late_floor_days="10", quality_review_weight="0,5", quality_survey_weight="0,5")
    changes = catalogue.update_season_weights(world.season, form, world.admin)
    assert changes["late_floor_days"] == [20, 10] and changes["quality_review_weight"] == [0.6, 0.5]
    db.session.expire_all()
    assert song.timeliness == pytest.approx(1 - 5 / 10)
    assert events("season_weights_changed")[0].actor_id == world.admin.id
    assert events("song_terms_recomputed")[0].changes == {"songs": [None, 1]}


def test_recomputed_terms_equal_the_terms_stored_at_write_time(world):
    """Recomputing after a weights change reads the same facts as a write (issue 20).

    It used to ignore the committed due date, count a held survey and leave the standing."""
    postponed = make_song(world, state="delivered", due=date(2024, 3, 15), delivered_on=date(2024, 3, 22))
    postponed.committed_due, postponed.due_date = date(2024, 3, 15), date(2024, 3, 29)  # moved after commitment
    held = make_song(
        world, state="reviewed", delivered_on=date(2024, 3, 29), review=(4, 4, 4, 4), survey=(5, 5, 5, 5, 5)
    )
    held.survey.held = True
    low = make_song(world, state="reviewed", delivered_on=date(2024, 3, 29), review=(1, 1, 1, 1))
    songs = (postponed, held, low)
    for song in songs:
        refresh_song_terms(song)
    db.session.commit()
    stored = {song.id: refresh_song_terms(song) and _terms(song) for song in songs}
    assert stored[held.id]["satisfaction"] is None and stored[postponed.id]["late_business_days"] == 5

    assert catalogue.recompute_stored_terms(Song.id.in_(stored)) == 3
    db.session.expire_all()
    assert {song.id: _terms(db.session.get(Song, song.id)) for song in songs} == stored


def _terms(song: Song) -> dict:
    return {f.name: getattr(song, f.name) for f in fields(SongTerms)}


def test_only_admin_changes_weights(world):
    with pytest.raises(PermissionDenied):
        catalogue.update_season_weights(world.season, weights_form(world.season), world.coordinator)


def test_create_season_copies_latest_weights(world):
    world.season.late_floor_days = 15
    db.session.commit()
    season = catalogue.create_season("2025", world.admin)
    assert (season.starts_on, season.ends_on, season.late_floor_days) == (date(2025, 1, 1), date(2025, 12, 31), 15)
    with pytest.raises(Conflict):
        catalogue.create_season(2025, world.admin)
    with pytest.raises(ValidationFailed):
        catalogue.create_season("1999", world.admin)


def test_season_pages(client, auth, world):
    auth.login(world.coordinator)
    assert client.get("/admin/seasons").status_code == 403
    auth.login(world.admin)
    assert "2024" in client.get("/admin/seasons").get_data(as_text=True)
    page = client.post(f"/admin/seasons/{world.season.id}", data=weights_form(world.season, equity_cap="9"))
    assert page.status_code == 422 and "Debe estar entre 1 y 3" in page.get_data(as_text=True)
    ok = client.post(f"/admin/seasons/{world.season.id}", data=weights_form(world.season, equity_cap="1.4"))
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Season, world.season.id).equity_cap == 1.4
    created = client.post("/admin/seasons", data={"year": "2026"})
    assert created.status_code == 302
    assert db.session.scalar(select(Season.id).where(Season.year == 2026)) is not None


# --------------------------------------------------------------------------- albums and artists


def test_album_weight_change_recomputes_points(world):
    song = make_song(world, state="reviewed", due=date(2024, 4, 1), delivered_on=date(2024, 3, 28), review=(4, 4, 4, 4))
    before = song.points
    changes = catalogue.update_album(world.album_inn, "Innovación pública", "2", True, world.admin)
    assert changes == {"weight": [1.0, 2.0]}
    db.session.expire_all()
    assert song.points == before * 2
    with pytest.raises(ValidationFailed):
        catalogue.update_album(world.album_inn, "Innovación pública", "0", True, world.admin)
    with pytest.raises(Conflict):
        catalogue.update_album(world.album_inn, "consolidación de la paz total", "1", True, world.admin)


def test_album_pages(client, auth, world):
    auth.login(world.manager)
    assert client.get("/admin/albums").status_code == 403
    auth.login(world.admin)
    created = client.post("/admin/albums", data={"code": "ord", "name": "Ordenamiento territorial", "weight": "1,1"})
    assert created.status_code == 302
    assert "ORD" in client.get("/admin/albums").get_data(as_text=True)
    duplicate = client.post("/admin/albums", data={"code": "INN", "name": "Otra", "weight": "1"})
    assert duplicate.status_code == 422
    assert client.post(f"/admin/albums/{world.album_paz.id}/active").status_code == 302
    db.session.expire_all()
    assert world.album_paz.active is False
    assert events("album_updated")[0].changes == {"active": [True, False]}


def test_artist_members_must_be_territorial_users_of_the_label(world):
    with pytest.raises(ValidationFailed):
        catalogue.update_artist(world.artist_a, "Equipo Andino", True, [world.territorial_b.id], world.admin)
    with pytest.raises(ValidationFailed):
        catalogue.update_artist(world.artist_a, "Equipo Andino", True, [world.coordinator.id], world.admin)
    changes = catalogue.update_artist(world.artist_a, "Equipo Andino Norte", True, [], world.admin)
    assert changes == {"name": ["Equipo Andino", "Equipo Andino Norte"], "members": [["ta@test.co"], []]}


def test_artist_pages(client, auth, world):
    auth.login(world.admin)
    created = client.post("/admin/artists", data={"label_id": str(world.label_a.id), "name": "Equipo Urabá"})
    assert created.status_code == 302
    artist_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/admin/artists/{artist_id}")
    assert "Territorial A" in page.get_data(as_text=True) and "Territorial B" not in page.get_data(as_text=True)
    saved = client.post(
        f"/admin/artists/{artist_id}", data={"name": "Equipo Urabá", "members": [str(world.territorial_a.id)]}
    )
    assert saved.status_code == 302
    assert (
        client.post("/admin/artists", data={"label_id": str(world.label_a.id), "name": "equipo urabá"}).status_code
        == 422
    )
    assert client.post(f"/admin/artists/{artist_id}/active").status_code == 302
    assert events("artist_updated")[-1].changes == {"active": [True, False]}


# --------------------------------------------------------------------------- playlists


def test_playlists_coordinator_and_admin_edit_others_403(client, auth, world):
    for user in (world.manager, world.territorial_a):
        auth.login(user)
        assert client.get("/admin/playlists").status_code == 403
        assert client.post("/admin/playlists?season=2024", data={f"t_{world.label_a.id}_0": "5"}).status_code == 403
    assert db.session.scalars(select(Playlist)).all() == []
    with pytest.raises(PermissionDenied):
        catalogue.set_playlists(world.season, {(world.label_a.id, None): "5"}, world.manager)

    auth.login(world.coordinator)
    page = client.get("/admin/playlists?season=2024")
    assert page.status_code == 200 and "DT01" in page.get_data(as_text=True)
    saved = client.post(
        "/admin/playlists?season=2024",
        data={
            f"t_{world.label_a.id}_0": "12",
            f"t_{world.label_a.id}_{world.album_paz.id}": "4",
            f"t_{world.label_b.id}_0": "",
        },
    )
    assert saved.status_code == 302
    assert catalogue.playlist_grid(world.season) == {
        (world.label_a.id, None): 12,
        (world.label_a.id, world.album_paz.id): 4,
    }
    assert [e.changes["target"] for e in events("playlist_target_set")] == [[None, 12], [None, 4]]

    auth.login(world.admin)
    removed = client.post("/admin/playlists?season=2024", data={f"t_{world.label_a.id}_{world.album_paz.id}": ""})
    assert removed.status_code == 302
    assert catalogue.playlist_grid(world.season) == {(world.label_a.id, None): 12}


@pytest.mark.parametrize("value", ["-1", "2.5", "abc", "100001"])
def test_playlist_target_validation(client, auth, world, value):
    auth.login(world.coordinator)
    page = client.post("/admin/playlists?season=2024", data={f"t_{world.label_a.id}_0": value})
    assert page.status_code == 422 and "número entero" in page.get_data(as_text=True)
    assert db.session.scalars(select(Playlist)).all() == []


def test_album_targets_may_not_exceed_the_total(world):
    with pytest.raises(ValidationFailed) as info:
        catalogue.set_playlists(
            world.season,
            {
                (world.label_a.id, None): "5",
                (world.label_a.id, world.album_inn.id): "4",
                (world.label_a.id, world.album_paz.id): "3",
            },
            world.coordinator,
        )
    assert f"t_{world.label_a.id}_0" in info.value.details
    db.session.rollback()
    assert db.session.scalars(select(Playlist)).all() == []


def test_metas_nav_item_for_coordinator_only_roles(client, auth, world):
    auth.login(world.coordinator)
    assert "/admin/playlists" in client.get("/admin/playlists").get_data(as_text=True)
    auth.login(world.territorial_a)
    assert "/admin/playlists" not in client.get("/songs/import").get_data(as_text=True)


# --------------------------------------------------------------------------- date settings (issue 14)


@pytest.mark.parametrize("bad", ["0", "731", "abc", "-5", "12.5"])
def test_album_maximum_duration_form_refuses_bad_values(client, auth, world, bad):
    auth.login(world.admin)
    form = {"name": world.album_inn.name, "weight": "1", "max_duration_days": bad}
    page = client.post(f"/admin/albums/{world.album_inn.id}", data=form)
    assert page.status_code == 422
    assert "La duración máxima debe ser un número entero de días entre 1 y 730." in page.get_data(as_text=True)
    db.session.expire_all()
    assert world.album_inn.max_duration_days == 180 and events("album_updated") == []
    created = client.post(
        "/admin/albums", data={"code": "ORD", "name": "Ordenamiento", "weight": "1", **{"max_duration_days": bad}}
    )
    assert created.status_code == 422


def test_album_maximum_duration_is_set_in_the_form_and_holds_the_due_date(client, auth, world):
    auth.login(world.admin)
    page = client.get(f"/admin/albums/{world.album_inn.id}").get_data(as_text=True)
    assert 'name="max_duration_days"' in page and 'value="180"' in page
    form = {"name": world.album_inn.name, "weight": "1", "max_duration_days": "60"}
    assert client.post(f"/admin/albums/{world.album_inn.id}", data=form).status_code == 302
    db.session.expire_all()
    assert world.album_inn.max_duration_days == 60
    assert events("album_updated")[0].changes == {"max_duration_days": [180, 60]}
    created = client.post("/admin/albums", data={"code": "ORD", "name": "Ordenamiento", "weight": "1"})
    assert created.status_code == 302  # blank: the default 180 days
    auth.login(world.territorial_a)
    song = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality_id": world.mun_plain.id,
        "scope": "Plan de desarrollo",
        "planned_start": "2024-03-01",
    }
    refused = client.post("/api/v1/songs", json={**song, "due_date": "2024-05-15"})  # 75 days after the start
    assert refused.status_code == 422 and "60 días" in str(refused.get_json()["details"]["due_date"])
    assert client.post("/api/v1/songs", json={**song, "due_date": "2024-04-26"}).status_code == 201


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("declaration_window_days", "61", "Debe estar entre 0 y 60."),
        ("declaration_window_days", "2,5", "Debe ser un número entero."),
        ("review_sla_days", "0", "Debe estar entre 1 y 60."),
    ],
)
def test_season_date_settings_are_validated(client, auth, world, name, bad, message):
    auth.login(world.admin)
    page = client.post(f"/admin/seasons/{world.season.id}", data=weights_form(world.season, **{name: bad}))
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    db.session.expire_all()
    assert getattr(db.session.get(Season, world.season.id), name) == getattr(world.season, name)
    assert events("season_weights_changed") == []


def test_season_declaration_window_is_set_in_the_form_and_holds_the_delivery_date(client, auth, world, monkeypatch):
    from app.domain import calendar, lifecycle

    auth.login(world.admin)
    page = client.get(f"/admin/seasons/{world.season.id}").get_data(as_text=True)
    assert 'name="declaration_window_days"' in page and 'name="review_sla_days"' in page
    ok = client.post(f"/admin/seasons/{world.season.id}", data=weights_form(world.season, declaration_window_days="3"))
    assert ok.status_code == 302
    db.session.expire_all()
    season = db.session.get(Season, world.season.id)
    assert season.declaration_window_days == 3
    assert events("season_weights_changed")[0].changes == {"declaration_window_days": [100_000, 3]}
    assert catalogue.create_season("2025", world.admin).declaration_window_days == 3  # copied on
    monkeypatch.setattr(calendar, "today", lambda: date(2024, 4, 12))  # Friday
    song = make_song(world, state="in_progress", due=date(2024, 4, 30))
    from tests.test_permissions_matrix import _evidence

    _evidence(client.application, song, world.territorial_a)
    db.session.commit()
    fields = {"product": "Acta", "beneficiaries": 3}
    with pytest.raises(ValidationFailed) as refused:  # five business days back: beyond the window of 3
        lifecycle.transition_song(world.territorial_a, song, "delivered", delivered_on="2024-04-05", **fields)
    assert "3 días hábiles" in str(refused.value.details["delivered_on"])
    db.session.rollback()
    song = db.session.get(type(song), song.id)
    lifecycle.transition_song(world.territorial_a, song, "delivered", delivered_on="2024-04-09", **fields)
    assert song.state == "delivered"
