"""Small, explicit test data. Values are written out so expected results can be
computed by hand in the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.accounts import hash_password
from app.domain.terms import refresh_song_terms
from app.extensions import db
from app.models import (
    Album,
    Artist,
    Department,
    Label,
    Municipality,
    Playlist,
    Review,
    Season,
    Song,
    Survey,
    User,
)

PASSWORD = "clave-segura-2024"
OPEN_WINDOW = 100_000  # business days: ~400 years


@dataclass
class World:
    label_a: Label
    label_b: Label
    dep_a: Department
    dep_b: Department
    mun_pdet: Municipality  # label A, PDET, category 6 -> E = 1.4
    mun_cat5: Municipality  # label A, category 5 -> E = 1.1
    mun_plain: Municipality  # label A, category 1 -> E = 1.0
    mun_b: Municipality  # label B, category 6 -> E = 1.15
    album_inn: Album  # weight 1.0
    album_paz: Album  # weight 1.2
    season: Season  # 2024
    artist_a: Artist
    artist_b: Artist
    territorial_a: User
    territorial_b: User
    coordinator: User
    manager: User
    admin: User


def build_world() -> World:
    label_a = Label(code="DT01", name="Dirección Territorial Antioquia", city="Medellín")
    label_b = Label(code="DT02", name="Dirección Territorial Atlántico", city="Barranquilla")
    db.session.add_all([label_a, label_b])
    db.session.flush()
    dep_a = Department(code="05", name="Antioquia", label_id=label_a.id)
    dep_b = Department(code="08", name="Atlántico", label_id=label_b.id)
    db.session.add_all([dep_a, dep_b])
    db.session.flush()
    mun_pdet = Municipality(
        code="05031",
        name="Amalfi",
        department_id=dep_a.id,
        category="6",
        pdet=True,
        pdet_subregion_code=3,
        pdet_subregion="Bajo Cauca y Nordeste Antioqueño",
    )
    mun_cat5 = Municipality(code="05002", name="Abejorral", department_id=dep_a.id, category="5")
    mun_plain = Municipality(code="05001", name="Medellín", department_id=dep_a.id, category="1")
    mun_b = Municipality(code="08078", name="Baranoa", department_id=dep_b.id, category="6")
    album_inn = Album(code="INN", name="Innovación pública", weight=1.0)
    album_paz = Album(code="PAZ", name="Consolidación de la paz total", weight=1.2)
    # The tests run years after 2024: this season accepts any past declared delivery date
    # (the declaration window has its own tests, in tests/test_song_rules.py and test_strategy.py).
    season = Season(
        year=2024, starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31), declaration_window_days=OPEN_WINDOW
    )
    db.session.add_all([mun_pdet, mun_cat5, mun_plain, mun_b, album_inn, album_paz, season])
    db.session.flush()
    artist_a = Artist(label_id=label_a.id, name="Equipo Andino")
    artist_b = Artist(label_id=label_b.id, name="Equipo Costa")
    db.session.add_all([artist_a, artist_b])
    pw = hash_password(PASSWORD)
    territorial_a = User(
        email="ta@test.co", name="Territorial A", role="territorial", label_id=label_a.id, password_hash=pw
    )
    territorial_b = User(
        email="tb@test.co", name="Territorial B", role="territorial", label_id=label_b.id, password_hash=pw
    )
    coordinator = User(email="coord@test.co", name="Coordinación", role="coordinator", password_hash=pw)
    manager = User(email="gestor@test.co", name="Gestor", role="manager", password_hash=pw)
    admin = User(email="admin@test.co", name="Admin", role="admin", password_hash=pw)
    db.session.add_all([territorial_a, territorial_b, coordinator, manager, admin])
    db.session.flush()
    artist_a.members.append(territorial_a)
    artist_b.members.append(territorial_b)
    db.session.commit()
    return World(
        label_a,
        label_b,
        dep_a,
        dep_b,
        mun_pdet,
        mun_cat5,
        mun_plain,
        mun_b,
        album_inn,
        album_paz,
        season,
        artist_a,
        artist_b,
        territorial_a,
        territorial_b,
        coordinator,
        manager,
        admin,
    )


def add_coordinator(email: str, *home: Label) -> User:
    """Another coordinator; ``home``: the labels of their home directorate (none: the national office)."""
    user = User(email=email, name=email.split("@")[0], role="coordinator", password_hash="x")
    user.home_labels = list(home)
    db.session.add(user)
    db.session.commit()
    return user


def add_playlist(world: World, label: Label, target: int, album: Album | None = None) -> Playlist:
    playlist = Playlist(
        season_id=world.season.id, label_id=label.id, album_id=album.id if album else None, target=target
    )
    db.session.add(playlist)
    db.session.commit()
    return playlist


def make_song(
    world: World,
    *,
    artist: Artist | None = None,
    municipality: Municipality | None = None,
    album: Album | None = None,
    state: str = "planned",
    planned_start: date = date(2024, 3, 1),
    due: date = date(2024, 4, 1),
    delivered_on: date | None = None,
    review: tuple[int, int, int, int] | None = None,
    survey: tuple[int, int, int, int, int] | None = None,
    product: str | None = None,
) -> Song:
    """A song written straight to the database with its stored scoring terms."""
    artist = artist or world.artist_a
    municipality = municipality or (world.mun_plain if artist.label_id == world.label_a.id else world.mun_b)
    album = album or world.album_inn
    song = Song(
        season_id=world.season.id,
        label_id=artist.label_id,
        artist_id=artist.id,
        album_id=album.id,
        municipality_id=municipality.id,
        department_id=municipality.department_id,
        state=state,
        scope="Asistencia de prueba",
        planned_start=planned_start,
        due_date=due,
        delivered_on=delivered_on,
        product=product or ("Producto entregado" if delivered_on else None),
        beneficiaries=10 if delivered_on else None,
    )
    db.session.add(song)
    db.session.flush()
    if review:
        db.session.add(
            Review(
                song_id=song.id,
                reviewer_id=world.coordinator.id,
                pertinence=review[0],
                rigour=review[1],
                usefulness=review[2],
                evidence_quality=review[3],
            )
        )
    if survey:
        db.session.add(
            Survey(song_id=song.id, q1=survey[0], q2=survey[1], q3=survey[2], q4=survey[3], q5=survey[4], consent=True)
        )
    db.session.flush()
    db.session.refresh(song)
    refresh_song_terms(song)
    db.session.commit()
    return song
