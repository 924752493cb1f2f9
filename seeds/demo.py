"""Deterministic demo data (issue 3): users, artists, playlists and songs in every state.

``seed_demo(songs=5000, seed=42)`` gives the same data for the same arguments.
Songs, reviews and surveys are written with bulk inserts (Core ``insert`` in
chunks), so a million songs takes minutes, not hours.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, insert, select, text

from app.domain.accounts import hash_password
from app.domain.calendar import add_business_days, is_business_day
from app.domain.scoring import song_terms
from app.extensions import db
from app.models import (
    Album,
    Artist,
    Evidence,
    Label,
    Municipality,
    Playlist,
    Review,
    Role,
    Song,
    Survey,
    User,
)
from seeds.reference import ensure_season, load_reference

DEMO_DOMAIN = "sinfonia.demo"
ARTIST_NAMES = ("Equipo Andino", "Equipo Río", "Equipo Montaña", "Equipo Llano", "Equipo Costa")
CHUNK = 5000
EVIDENCE_FILE_LIMIT = 50_000  # above this, demo songs carry no placeholder evidence files

# Minimal valid PDF used as placeholder evidence.
PLACEHOLDER_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

SCOPES = (
    "Acompañamiento en la formulación del plan de desarrollo municipal",
    "Asistencia en rediseño de la planta de personal",
    "Taller de contratación estatal con SECOP II",
    "Guía de enfoque diferencial étnico para la alcaldía",
    "Acompañamiento a la instancia territorial de paz",
    "Laboratorio de innovación pública con servidores municipales",
    "Revisión del esquema de ordenamiento territorial",
)
PRODUCTS = (
    "Documento técnico entregado y socializado",
    "Acta de taller y guía metodológica",
    "Propuesta de manual de funciones",
    "Hoja de ruta concertada con la alcaldía",
)


def demo_users_exist() -> bool:
    return db.session.scalar(select(func.count(User.id)).where(User.email.like(f"%@{DEMO_DOMAIN}"))) > 0


def _ensure_user(email: str, name: str, role: str, password_hash: str, label_id: int | None = None) -> User:
    user = db.session.scalar(select(User).filter_by(email=email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash=password_hash, label_id=label_id)
        db.session.add(user)
        db.session.flush()
    return user


def _demo_categories(rng: random.Random) -> None:
    """A synthetic category for municipalities without an official one, labelled "demo"."""
    rows = db.session.execute(select(Municipality.id, Municipality.code).where(Municipality.category.is_(None))).all()
    if not rows:
        return
    updates = []
    for mid, code in rows:
        if code.endswith("001"):  # capitals: larger categories
            category = rng.choice(("especial", "1", "2", "3"))
        else:
            category = rng.choices(("6", "5", "4", "3", "2"), weights=(78, 9, 6, 4, 3))[0]
        updates.append({"b_id": mid, "b_category": category})
    from sqlalchemy import bindparam, update

    stmt = (
        update(Municipality.__table__)
        .where(Municipality.__table__.c.id == bindparam("b_id"))
        .values(category=bindparam("b_category"), category_source="demo")
    )
    db.session.connection().execute(stmt, updates)


def seed_demo(songs: int = 5000, seed: int = 42, today: date | None = None) -> dict[str, int]:
    """Create the demo: seasons 2023, 2024 and the current year, users, artists, playlists, songs."""
    today = today or date.today()
    rng = random.Random(seed)
    load_reference(today)
    _demo_categories(rng)

    seasons = [ensure_season(y) for y in sorted({2023, 2024, today.year})]
    labels = list(db.session.scalars(select(Label).order_by(Label.code)))
    albums = list(db.session.scalars(select(Album).order_by(Album.code)))
    password_hash = hash_password(current_app.config["DEMO_PASSWORD"])

    # Users of DESIGN.md §8 and a few more territorial users.
    _ensure_user(f"admin@{DEMO_DOMAIN}", "Administración Sinfonía", Role.ADMIN, password_hash)
    coordinator = _ensure_user(f"coordinador@{DEMO_DOMAIN}", "Coordinación Nacional", Role.COORDINATOR, password_hash)
    _ensure_user(f"coordinador2@{DEMO_DOMAIN}", "Coordinación de Calidad", Role.COORDINATOR, password_hash)
    _ensure_user(f"gestor@{DEMO_DOMAIN}", "Gestión y Planeación", Role.MANAGER, password_hash)
    artists_by_label: dict[int, list[Artist]] = {}
    for i, label in enumerate(labels, start=1):
        user = _ensure_user(
            f"territorial{i}@{DEMO_DOMAIN}",
            f"Profesional {label.name.replace('Dirección Territorial ', '')}",
            Role.TERRITORIAL,
            password_hash,
            label.id,
        )
        extra = None
        if i <= 4:
            extra = _ensure_user(
                f"territorial{i}b@{DEMO_DOMAIN}",
                f"Estudiante {label.name.replace('Dirección Territorial ', '')}",
                Role.TERRITORIAL,
                password_hash,
                label.id,
            )
        count = 2 + (i % 3)
        team = []
        for name in ARTIST_NAMES[:count]:
            artist = db.session.scalar(select(Artist).filter_by(label_id=label.id, name=name))
            if artist is None:
                artist = Artist(label_id=label.id, name=name)
                db.session.add(artist)
                db.session.flush()
            team.append(artist)
        if user not in team[0].members:
            team[0].members.append(user)
        if extra is not None and extra not in team[1].members:
            team[1].members.append(extra)
        artists_by_label[label.id] = team
    db.session.flush()

    if db.session.scalar(select(func.count(Song.id))) > 0:
        db.session.commit()
        return {"songs": 0}

    municipalities_by_label: dict[int, list[tuple[int, int, bool, str | None]]] = {}
    for mid, dep_id, label_id, pdet, category in db.session.execute(
        text(
            "SELECT m.id, m.department_id, d.label_id, m.pdet, m.category FROM municipalities m "
            "JOIN departments d ON d.id = m.department_id ORDER BY m.code"
        )
    ):
        municipalities_by_label.setdefault(label_id, []).append((mid, dep_id, bool(pdet), category))

    # Label "skill" makes the boards interesting and stable for a given seed.
    skill = {label.id: rng.uniform(-0.8, 0.8) for label in labels}
    punctuality = {label.id: rng.uniform(0.45, 0.9) for label in labels}
    weights = [rng.uniform(0.6, 1.6) for _ in labels]
    season_by_year = {s.year: s for s in seasons}

    next_id = (db.session.scalar(select(func.max(Song.id))) or 0) + 1
    review_id = (db.session.scalar(select(func.max(Review.id))) or 0) + 1
    survey_id = (db.session.scalar(select(func.max(Survey.id))) or 0) + 1
    song_rows, review_rows, survey_rows, evidence_rows = [], [], [], []
    per_label_season: dict[tuple[int, int], int] = {}
    with_files = songs <= EVIDENCE_FILE_LIMIT
    upload_dir = Path(current_app.config["UPLOAD_FOLDER"])
    if with_files:
        upload_dir.mkdir(parents=True, exist_ok=True)
    pdf_sha = hashlib.sha256(PLACEHOLDER_PDF).hexdigest()
    now = datetime.now(UTC)
    years = sorted(season_by_year)
    span_end = {y: min(date(y, 12, 31), today + timedelta(days=120)) for y in years}

    def flush() -> None:
        if song_rows:
            db.session.execute(insert(Song), song_rows)
        if review_rows:
            db.session.execute(insert(Review), review_rows)
        if survey_rows:
            db.session.execute(insert(Survey), survey_rows)
        if evidence_rows:
            db.session.execute(insert(Evidence), evidence_rows)
        song_rows.clear(), review_rows.clear(), survey_rows.clear(), evidence_rows.clear()

    album_weight = {a.id: a.weight for a in albums}
    for _ in range(songs):
        label = rng.choices(labels, weights=weights)[0]
        artist = rng.choice(artists_by_label[label.id])
        album = rng.choice(albums)
        mid, dep_id, pdet, category = rng.choice(municipalities_by_label[label.id])
        year = rng.choice(years)
        first = date(year, 1, 20)
        last = span_end[year]
        if last <= first:
            last = first + timedelta(days=30)
        due = first + timedelta(days=rng.randrange((last - first).days + 1))
        while not is_business_day(due):
            due += timedelta(days=1)
        if due.year != year:
            due = date(year, 12, 28)
        planned_start = due - timedelta(days=rng.randint(15, 75))
        season = season_by_year[due.year]
        state, delivered_on = _pick_state(rng, due, planned_start, today, punctuality[label.id])
        review = survey = None
        if state == "reviewed":
            base = 3.6 + skill[label.id]
            review = tuple(max(1, min(5, round(rng.gauss(base, 0.8)))) for _ in range(4))
        if state in ("delivered", "reviewed") and rng.random() < 0.6:
            base = 3.9 + skill[label.id] / 2
            survey = tuple(max(1, min(5, round(rng.gauss(base, 0.7)))) for _ in range(5))
        terms = song_terms(
            state=state,
            due_date=due,
            delivered_on=delivered_on,
            pdet=pdet,
            category=category,
            album_weight=album_weight[album.id],
            review=review,
            survey=survey,
            w=season,
        )
        created = datetime.combine(planned_start - timedelta(days=rng.randint(1, 20)), time(14), UTC)
        song_rows.append(
            {
                "id": next_id,
                "season_id": season.id,
                "label_id": label.id,
                "artist_id": artist.id,
                "album_id": album.id,
                "municipality_id": mid,
                "department_id": dep_id,
                "state": state,
                "scope": rng.choice(SCOPES),
                "planned_start": planned_start,
                "due_date": due,
                "diagnosis": "Diagnóstico inicial con la alcaldía." if state != "planned" else None,
                "action_plan": "Plan de acción concertado." if state not in ("planned",) else None,
                "delivered_on": delivered_on,
                "product": rng.choice(PRODUCTS) if delivered_on else None,
                "beneficiaries": rng.randint(3, 60) if delivered_on else None,
                "return_comment": "Falta el acta firmada por la alcaldía." if state == "returned" else None,
                "cancel_reason": "La alcaldía solicitó aplazar la asistencia." if state == "cancelled" else None,
                "survey_nonce": hashlib.md5(f"{seed}-{next_id}".encode()).hexdigest() if delivered_on else None,
                "survey_issued_at": datetime.combine(delivered_on, time(15), UTC) if delivered_on else None,
                "created_by_id": None,
                "created_at": created,
                "updated_at": now,
                "version": 1,
                "late_business_days": terms.late_business_days,
                "timeliness": terms.timeliness,
                "review_score": terms.review_score,
                "satisfaction": terms.satisfaction,
                "quality": terms.quality,
                "equity": terms.equity,
                "points": terms.points,
                "on_time": terms.on_time,
            }
        )
        if review:
            review_rows.append(
                {
                    "id": review_id,
                    "song_id": next_id,
                    "reviewer_id": coordinator.id,
                    "pertinence": review[0],
                    "rigour": review[1],
                    "usefulness": review[2],
                    "evidence_quality": review[3],
                    "comment": "Buen trabajo." if sum(review) >= 14 else "Fortalecer las evidencias.",
                    "created_at": datetime.combine(add_business_days(delivered_on, 3), time(16), UTC),
                    "updated_at": datetime.combine(add_business_days(delivered_on, 3), time(16), UTC),
                }
            )
            review_id += 1
        if survey:
            survey_rows.append(
                {
                    "id": survey_id,
                    "song_id": next_id,
                    "q1": survey[0],
                    "q2": survey[1],
                    "q3": survey[2],
                    "q4": survey[3],
                    "q5": survey[4],
                    "comment": None,
                    "respondent_name": "Persona de ejemplo",
                    "respondent_position": "Secretaría de Planeación",
                    "consent": True,
                    "submitted_at": datetime.combine(delivered_on + timedelta(days=2), time(10), UTC),
                }
            )
            survey_id += 1
        if delivered_on and with_files:
            stored = f"demo-{seed}-{next_id}.pdf"
            (upload_dir / stored).write_bytes(PLACEHOLDER_PDF)
            evidence_rows.append(
                {
                    "song_id": next_id,
                    "original_name": "acta-de-entrega.pdf",
                    "stored_name": stored,
                    "content_type": "application/pdf",
                    "size_bytes": len(PLACEHOLDER_PDF),
                    "sha256": pdf_sha,
                    "uploaded_by_id": None,
                    "uploaded_at": datetime.combine(delivered_on, time(12), UTC),
                }
            )
        if state != "cancelled":
            key = (season.id, label.id)
            per_label_season[key] = per_label_season.get(key, 0) + 1
        next_id += 1
        if len(song_rows) >= CHUNK:
            flush()
    flush()

    # Playlists: a yearly target per label, a little above what the demo plans.
    for (season_id, label_id), count in sorted(per_label_season.items()):
        exists = db.session.scalar(select(Playlist.id).filter_by(season_id=season_id, label_id=label_id, album_id=None))
        if not exists:
            target = max(1, round(count * rng.uniform(0.8, 1.25)))
            db.session.add(Playlist(season_id=season_id, label_id=label_id, album_id=None, target=target))
    _reset_sequences()
    db.session.commit()
    return {"songs": songs}


def _pick_state(rng: random.Random, due: date, planned_start: date, today: date, punctual: float):
    """A realistic state and delivery date for a song due on ``due``."""
    if due > today + timedelta(days=10):
        roll = rng.random()
        if roll < 0.45:
            return "planned", None
        if roll < 0.85:
            return "in_progress", None
        if roll < 0.9:
            return "cancelled", None
        delivered = min(today, due - timedelta(days=rng.randint(0, 10)))
        delivered = max(delivered, planned_start)
        return ("reviewed" if rng.random() < 0.5 else "delivered"), delivered
    roll = rng.random()
    if roll < 0.05:
        return "cancelled", None
    if roll < 0.10:
        return rng.choice(("planned", "in_progress")), None  # overdue, undelivered
    if rng.random() < punctual:
        delivered = due - timedelta(days=rng.randint(0, 12))
    else:
        delivered = due + timedelta(days=rng.randint(1, 40))
    delivered = max(planned_start, min(delivered, today))
    roll = rng.random()
    if delivered > today - timedelta(days=20) and roll < 0.5:
        state = "delivered"
    elif roll < 0.04:
        state = "returned"
    elif roll < 0.16:
        state = "delivered"
    else:
        state = "reviewed"
    if state == "returned":
        return "returned", delivered
    return state, delivered


def _reset_sequences() -> None:
    """PostgreSQL: explicit ids were inserted, move the sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("songs", "reviews", "surveys", "evidence"):
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))")
        )
