"""Deterministic demo data (issue 3): users, artists, playlists and songs in every state.

``seed_demo(songs=5000, seed=42)`` gives the same data for the same arguments.
Songs, reviews, surveys and evidence rows are written in bulk straight through the
driver (SQLite ``executemany`` of prepared tuples, PostgreSQL ``COPY``), with the
per-song work cached (business days, scoring terms, timestamps) and the songs'
secondary indexes rebuilt once at the end of a large load, so a million songs takes
minutes, not hours (see BENCHMARKS.md for the figures).
"""

from __future__ import annotations

import hashlib
import os
import random
from bisect import bisect
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path

from flask import current_app
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.schema import CreateIndex, DropIndex

from app.domain import charts
from app.domain.accounts import hash_password
from app.domain.calendar import BOGOTA, add_business_days, is_business_day, late_business_days
from app.domain.calendar import today as calendar_today
from app.domain.categories import InForce
from app.domain.scoring import SongTerms, song_terms
from app.domain.seasons import close, opening_day, state_by_dates
from app.extensions import db
from app.models import (
    Album,
    Artist,
    BadgeAward,
    ChartSnapshot,
    Evidence,
    Label,
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
CHUNK = 20_000  # rows per bulk write
REBUILD_INDEXES_ABOVE = 50_000  # drop the songs indexes during larger loads, rebuild once
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


def _ensure_user(email: str, name: str, role: str, password_hash: str, label_id: int | None = None) -> User:
    user = db.session.scalar(select(User).filter_by(email=email))
    if user is None:
        user = User(email=email, name=name, role=role, password_hash=password_hash, label_id=label_id)
        db.session.add(user)
        db.session.flush()
    return user


SONG_COLUMNS = (
    "id",
    "season_id",
    "label_id",
    "artist_id",
    "album_id",
    "municipality_id",
    "department_id",
    "state",
    "scope",
    "planned_start",
    "due_date",
    "diagnosis",
    "action_plan",
    "delivered_on",
    "product",
    "beneficiaries",
    "return_comment",
    "cancel_reason",
    "carried_over_to_id",
    "carried_over",
    "survey_nonce",
    "survey_issued_at",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
    *(f.name for f in fields(SongTerms)),  # the stored terms, in the order of SongTerms.columns()
    "committed_due",
)
REVIEW_COLUMNS = (
    "id",
    "song_id",
    "reviewer_id",
    "pertinence",
    "rigour",
    "usefulness",
    "evidence_quality",
    "comment",
    "created_at",
    "updated_at",
)
SURVEY_COLUMNS = (
    "id",
    "song_id",
    "q1",
    "q2",
    "q3",
    "q4",
    "q5",
    "comment",
    "respondent_name",
    "respondent_position",
    "consent",
    "submitted_at",
)
EVIDENCE_COLUMNS = (
    "id",
    "song_id",
    "original_name",
    "stored_name",
    "content_type",
    "size_bytes",
    "sha256",
    "uploaded_by_id",
    "uploaded_at",
)


class _BulkWriter:
    """Writes prepared row tuples the fastest way the driver allows.

    Dates and timestamps arrive already rendered by :meth:`date` / :meth:`stamp` in the
    form the database stores (SQLite: the text SQLAlchemy writes; PostgreSQL: COPY
    text with an explicit UTC offset), so no per-row type processing happens here.
    Other dialects fall back to Core ``insert`` with Python objects.
    """

    def __init__(self) -> None:
        self.connection = db.session.connection()
        self.dialect = self.connection.dialect.name
        self.raw = self.connection.connection.driver_connection
        self._dates: dict[date, object] = {}
        self._stamps: dict[tuple[date, int], object] = {}

    def date(self, day: date | None):
        if day is None:
            return None
        value = self._dates.get(day)
        if value is None:
            value = day if self.dialect not in ("sqlite", "postgresql") else day.isoformat()
            self._dates[day] = value
        return value

    def stamp(self, day: date, hour: int):
        """Midnight-relative UTC timestamp ``day hour:00``, rendered for the database."""
        key = (day, hour)
        value = self._stamps.get(key)
        if value is None:
            if self.dialect == "sqlite":
                value = f"{day.isoformat()} {hour:02d}:00:00.000000"
            elif self.dialect == "postgresql":
                value = f"{day.isoformat()} {hour:02d}:00:00+00"
            else:
                value = datetime.combine(day, time(hour), UTC)
            self._stamps[key] = value
        return value

    def instant(self, moment: datetime):
        if self.dialect == "sqlite":
            return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.dialect == "postgresql":
            return moment.astimezone(UTC).isoformat()
        return moment

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.dialect == "sqlite":
            marks = ",".join("?" * len(columns))
            self.raw.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
        elif self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            model_table = db.metadata.tables[table]
            self.connection.execute(insert(model_table), [dict(zip(columns, row, strict=True)) for row in rows])

    def bulk_settings(self) -> None:
        """Per-transaction settings for a large load (restored by :meth:`normal_settings`)."""
        if self.dialect == "sqlite":
            self.raw.execute("PRAGMA cache_size=-131072")  # 128 MiB page cache for this connection
        elif self.dialect == "postgresql":
            self.connection.execute(text("SET LOCAL synchronous_commit = off"))
            self.connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))

    def normal_settings(self) -> None:
        if self.dialect == "sqlite":
            self.raw.execute("PRAGMA cache_size=-2000")


def seed_demo(songs: int = 5000, seed: int = 42, today: date | None = None, history_days: int = 0) -> dict[str, int]:
    """Create the demo: seasons 2023, 2024 and the current year, users, artists, playlists, songs.

    Deterministic: the same ``songs``, ``seed`` and ``today`` give the same rows (only
    ``updated_at`` records when the load ran).
    """
    today = today or calendar_today()
    rng = random.Random(seed)
    load_reference(today)  # with the official categories by year: the demo invents none

    # Three past seasons, this year's, and next year's once it has opened (1 October).
    this_year = today.year
    past_years = [this_year - 3, this_year - 2, this_year - 1]
    next_year = this_year + 1 if today >= opening_day(this_year + 1) else None
    seasons = [ensure_season(y, on=today) for y in past_years + [this_year] + ([next_year] if next_year else [])]
    labels = list(db.session.scalars(select(Label).order_by(Label.code)))
    albums = list(db.session.scalars(select(Album).order_by(Album.code)))
    password_hash = hash_password(current_app.config["DEMO_PASSWORD"])

    # Users of DESIGN.md §8 and a few more territorial users.
    _ensure_user(f"admin@{DEMO_DOMAIN}", "Administración Sinfonía", Role.ADMIN, password_hash)
    coordinator = _ensure_user(f"coordinador@{DEMO_DOMAIN}", "Coordinación Nacional", Role.COORDINATOR, password_hash)
    quality = _ensure_user(f"coordinador2@{DEMO_DOMAIN}", "Coordinación de Calidad", Role.COORDINATOR, password_hash)
    # Every coordinator but the national office has a home directorate (DESIGN.md §1): the
    # segregation-of-duties refusals show in the demo.
    if not quality.home_labels:
        quality.home_labels = labels[:2]
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
    evidence_id = (db.session.scalar(select(func.max(Evidence.id))) or 0) + 1
    song_rows: list[tuple] = []
    review_rows: list[tuple] = []
    survey_rows: list[tuple] = []
    evidence_rows: list[tuple] = []
    per_label_season: dict[tuple[int, int], int] = {}
    with_files = songs <= EVIDENCE_FILE_LIMIT
    upload_dir = Path(current_app.config["UPLOAD_FOLDER"])
    if with_files:
        upload_dir.mkdir(parents=True, exist_ok=True)
    pdf_sha = hashlib.sha256(PLACEHOLDER_PDF).hexdigest()
    first_file: Path | None = None
    main_years = past_years + [this_year]
    span = {y: (date(y, 1, 20), date(y, 12, 28)) for y in past_years}
    span[this_year] = (date(this_year, 1, 20), min(date(this_year, 12, 28), today + timedelta(days=90)))
    for y in range(this_year - 2, this_year + 2):  # carried-over songs and next year's plans: due early in the year
        span.setdefault(("early", y), (date(y, 1, 20), date(y, 3, 31)))
    span[("recent", "recent")] = (today - timedelta(days=12), today - timedelta(days=1))
    span[("recent", "late")] = (today - timedelta(days=24), today - timedelta(days=8))
    span[("recent", "returned")] = (today - timedelta(days=30), today - timedelta(days=12))

    writer = _BulkWriter()
    updated = writer.instant(datetime.now(UTC))
    rebuild = songs > REBUILD_INDEXES_ABOVE
    song_indexes = sorted(Song.__table__.indexes, key=lambda index: index.name)
    writer.bulk_settings()
    if rebuild and writer.dialect == "sqlite" and not writer.raw.in_transaction:
        writer.raw.execute("BEGIN")  # pysqlite would autocommit the DDL below outside a transaction
    if rebuild:  # the table is empty: build each index once at the end instead of row by row
        for index in song_indexes:
            writer.connection.execute(DropIndex(index))

    def flush() -> None:
        writer.write("songs", SONG_COLUMNS, song_rows)
        writer.write("reviews", REVIEW_COLUMNS, review_rows)
        writer.write("surveys", SURVEY_COLUMNS, survey_rows)
        writer.write("evidence", EVIDENCE_COLUMNS, evidence_rows)
        song_rows.clear(), review_rows.clear(), survey_rows.clear(), evidence_rows.clear()

    # Per-song work is cached: the same few thousand dates and term combinations recur.
    album_weight = {a.id: a.weight for a in albums}
    cum_weights = list(accumulate(weights))  # what rng.choices(labels, weights=…) does, once
    total_weight = cum_weights[-1] + 0.0
    last_label = len(labels) - 1
    due_cache: dict[date, date] = {}
    late_cache: dict[tuple[date, date], int] = {}
    terms_cache: dict[tuple, tuple] = {}
    review_day: dict[date, date] = {}
    # Plain ids in the loop: ORM attribute access per song adds up at a million songs.
    label_ids = [label.id for label in labels]
    artist_ids = {label_id: [artist.id for artist in team] for label_id, team in artists_by_label.items()}
    album_ids = [album.id for album in albums]
    season_ids = {year: season.id for year, season in season_by_year.items()}
    in_force = InForce()
    coordinator_id = coordinator.id
    choice, randint, randrange, rand, gauss = rng.choice, rng.randint, rng.randrange, rng.random, rng.gauss
    stamp, as_date = writer.stamp, writer.date
    delivered_states = ("delivered", "reviewed")

    def emit(
        label_id,
        artist_id,
        album_id,
        mid,
        dep_id,
        pdet,
        category,
        due,
        planned_start,
        state,
        delivered_on,
        carried_to,
        unsurveyed=False,
    ) -> int:
        """Write one song (with its review, survey and evidence); returns the next free id."""
        nonlocal review_id, survey_id, evidence_id, first_file
        season_id = season_ids[due.year]
        category = in_force.category(mid, due.year)  # E: the category in force in the season's year
        if state == "reviewed":
            reviewed_day = review_day.get(delivered_on)
            if reviewed_day is None:
                reviewed_day = review_day[delivered_on] = add_business_days(delivered_on, 3)
            if reviewed_day > today:  # nothing is dated after today: still waiting for its review
                state = "delivered"
        review = survey = None
        if state == "reviewed":
            base = 3.6 + skill[label_id]
            review = tuple(max(1, min(5, round(gauss(base, 0.8)))) for _ in range(4))
        if state in delivered_states and rand() < 0.6 and delivered_on + timedelta(days=2) <= today and not unsurveyed:
            base = 3.9 + skill[label_id] / 2
            survey = tuple(max(1, min(5, round(gauss(base, 0.7)))) for _ in range(5))
        # song_terms depends on the dates only through the business days late, and on the
        # rubric and survey only through their sums: memoise it on exactly those inputs.
        late = None
        if state in delivered_states and delivered_on is not None:
            late = late_cache.get((due, delivered_on))
            if late is None:
                late = late_cache[(due, delivered_on)] = late_business_days(due, delivered_on)
        key = (
            state,
            late,
            pdet,
            category,
            album_id,
            season_id,
            sum(review) if review else None,
            sum(survey) if survey else None,
            carried_to is not None,
        )
        terms = terms_cache.get(key)
        if terms is None:
            t = song_terms(
                state=state,
                due_date=due,
                delivered_on=delivered_on,
                pdet=pdet,
                category=category,
                album_weight=album_weight[album_id],
                review=review,
                survey=survey,
                w=season_by_year[due.year],
                carried_over=carried_to is not None,  # always late in its own season (DESIGN.md §5)
            )
            terms = terms_cache[key] = tuple(t.columns().values())
        created_day = min(planned_start - timedelta(days=randint(1, 20)), today)
        scope = choice(SCOPES)
        product = choice(PRODUCTS) if delivered_on else None
        beneficiaries = randint(3, 60) if delivered_on else None
        song_rows.append(
            (
                next_id,
                season_id,
                label_id,
                artist_id,
                album_id,
                mid,
                dep_id,
                state,
                scope,
                as_date(planned_start),
                as_date(due),
                "Diagnóstico inicial con la alcaldía." if state != "planned" else None,
                "Plan de acción concertado." if state != "planned" else None,
                as_date(delivered_on),
                product,
                beneficiaries,
                "Falta el acta firmada por la alcaldía." if state == "returned" else None,
                cancel_text(state, carried_to, due.year),
                carried_to,
                carried_to is not None,
                hashlib.md5(f"{seed}-{next_id}".encode()).hexdigest() if delivered_on else None,
                stamp(delivered_on, 15) if delivered_on else None,
                None,
                stamp(created_day, 14),
                updated,
                1,
                *terms,
                as_date(due) if state != "planned" else None,
            )
        )
        if review:
            reviewed_day = review_day.get(delivered_on)
            if reviewed_day is None:
                reviewed_day = review_day[delivered_on] = add_business_days(delivered_on, 3)
            reviewed_at = stamp(reviewed_day, 16)
            review_rows.append(
                (
                    review_id,
                    next_id,
                    coordinator_id,
                    *review,
                    "Buen trabajo." if sum(review) >= 14 else "Fortalecer las evidencias.",
                    reviewed_at,
                    reviewed_at,
                )
            )
            review_id += 1
        if survey:
            survey_rows.append(
                (
                    survey_id,
                    next_id,
                    *survey,
                    None,
                    "Persona de ejemplo",
                    "Secretaría de Planeación",
                    True,
                    stamp(delivered_on + timedelta(days=2), 10),
                )
            )
            survey_id += 1
        if delivered_on and with_files:
            stored = f"demo-{seed}-{next_id}.pdf"
            target = upload_dir / stored
            if first_file is None:
                target.write_bytes(PLACEHOLDER_PDF)
                first_file = target
            else:
                try:  # a hard link per file: same bytes, one inode
                    os.link(first_file, target)
                except FileExistsError:
                    pass
                except OSError:
                    target.write_bytes(PLACEHOLDER_PDF)
            evidence_rows.append(
                (
                    evidence_id,
                    next_id,
                    "acta-de-entrega.pdf",
                    stored,
                    "application/pdf",
                    len(PLACEHOLDER_PDF),
                    pdf_sha,
                    None,
                    stamp(delivered_on, 12),
                )
            )
            evidence_id += 1
        if state != "cancelled":
            key = (season_id, label_id)
            per_label_season[key] = per_label_season.get(key, 0) + 1
        if len(song_rows) >= CHUNK:
            flush()
        return next_id + 1

    def due_in(key) -> date:
        first, last = span[key]
        if last <= first:
            last = first + timedelta(days=30)
        raw_due = first + timedelta(days=randrange((last - first).days + 1))
        due = due_cache.get(raw_due)
        if due is None:
            due = raw_due
            while not is_business_day(due):
                due += timedelta(days=1)
            if due.year != raw_due.year:
                due = date(raw_due.year, 12, 28)
            due_cache[raw_due] = due
        return due

    # Whatever the size and the day: a few deliveries of the last days wait in the review
    # queue and a few songs are a couple of weeks late (labels 2, 3, 4 … first).
    quotas = [("recent", max(3, songs // 60)), ("late", max(2, songs // 150)), ("returned", max(1, songs // 300))]
    forced_kinds = [kind for kind, n in quotas for _ in range(n)]
    made = 0
    while made < songs:
        forced = forced_kinds[made] if made < len(forced_kinds) else None
        if forced:
            label_id = label_ids[(made + 1) % len(label_ids)]
        else:
            label_id = label_ids[bisect(cum_weights, rand() * total_weight, 0, last_label)]
        artist_id = choice(artist_ids[label_id])
        album_id = choice(album_ids)
        mid, dep_id, pdet, category = choice(municipalities_by_label[label_id])
        if forced:
            due = due_in(("recent", forced))
            year = due.year
        else:
            year = next_year if next_year and rand() < 0.03 else choice(main_years)
            due = due_in(year if year != next_year else ("early", year))
        planned_start = due - timedelta(days=randint(15, 75))
        if forced == "recent":
            state, delivered_on = "delivered", max(planned_start, min(today, due + timedelta(days=randint(0, 2))))
        elif forced == "late":
            state, delivered_on = "in_progress", None
        elif forced == "returned":  # sent back by the reviewer, to be delivered again
            state, delivered_on = "returned", max(planned_start, due - timedelta(days=randint(0, 3)))
        else:
            state, delivered_on = _pick_state(rng, due, planned_start, today, punctuality[label_id], year < this_year)
        plans = [(due, planned_start, state, delivered_on, None, forced is not None)]
        if state == "carried_over":
            if made + 2 > songs:
                plans = [(due, planned_start, "cancelled", None, None, False)]
            else:  # cancelled here (late in its own season), re-planned early next year
                new_due = due_in(("early", year + 1))
                new_start = min(max(planned_start, date(year + 1, 1, 2)), new_due)
                state2, delivered2 = _pick_state(
                    rng, new_due, new_start, today, punctuality[label_id], year + 1 < this_year, carry=False
                )
                # the new song first: the carried-over one refers to it (foreign key checked per row)
                plans = [
                    (new_due, new_start, state2, delivered2, None, False),
                    (due, planned_start, "cancelled", None, next_id, False),
                ]
        for due, planned_start, state, delivered_on, carried_to, unsurveyed in plans:
            made += 1
            next_id = emit(
                label_id,
                artist_id,
                album_id,
                mid,
                dep_id,
                pdet,
                category,
                due,
                planned_start,
                state,
                delivered_on,
                carried_to,
                unsurveyed,
            )
    flush()
    if rebuild:
        for index in song_indexes:
            writer.connection.execute(CreateIndex(index))
    writer.normal_settings()

    # Playlists: a yearly target per label, a little above what the demo plans.
    for (season_id, label_id), count in sorted(per_label_season.items()):
        exists = db.session.scalar(select(Playlist.id).filter_by(season_id=season_id, label_id=label_id, album_id=None))
        if not exists:
            target = max(1, round(count * rng.uniform(0.8, 1.25)))
            db.session.add(Playlist(season_id=season_id, label_id=label_id, album_id=None, target=target))
    if next_year:  # next year's season opened on 1 October with this year's targets as drafts
        nxt, current = season_by_year[next_year], season_by_year[this_year]
        nxt.drafts_from_year = this_year
        for playlist in list(db.session.scalars(select(Playlist).filter_by(season_id=current.id))):
            if not db.session.scalar(
                select(Playlist.id).filter_by(season_id=nxt.id, label_id=playlist.label_id, album_id=playlist.album_id)
            ):
                db.session.add(
                    Playlist(
                        season_id=nxt.id, label_id=playlist.label_id, album_id=playlist.album_id, target=playlist.target
                    )
                )
    _reset_sequences()
    db.session.commit()
    if songs > REBUILD_INDEXES_ABOVE:
        _analyze()
    _history_and_closing(seasons, today, history_days if songs <= REBUILD_INDEXES_ABOVE else 0)
    return {"songs": songs}


HISTORY_DAYS = 14  # `flask seed demo` default


def _history_and_closing(seasons: list, today: date, history_days: int) -> None:
    """Daily closing snapshots of the last ``history_days`` days of this season and its month
    ends before (and of past seasons), as the scheduler would have written them; then past
    seasons close. Each past day is replayed from the delivery dates (``cutoff``).
    """
    for season in seasons:
        if season.starts_on > today or season.state == "closed":  # a closed season's charts are frozen
            continue
        last = min(today - timedelta(days=1), season.ends_on)
        days: list[date] = []
        if history_days:  # month ends; and every day of the last weeks of the season in course
            recent = history_days if season.ends_on >= today else 0
            month_ends = [date(season.year, m + 1, 1) - timedelta(days=1) for m in range(1, 12)]
            days = [d for d in month_ends if d <= last - timedelta(days=recent)]
            days += [
                last - timedelta(days=n)
                for n in range(recent - 1, -1, -1)
                if last - timedelta(days=n) >= season.starts_on
            ]
        for day in days:
            snapshot = charts.recompute_charts(season, as_of=day, kind="closing", cutoff=day, commit=False)
            _dated(snapshot.id, _bogota(day, 23, 55))
            db.session.commit()
        if state_by_dates(season, today) == "closed":
            moment = min(datetime.now(UTC), _bogota(today, 0, 10))  # when the scheduler's season job ran
            close(season, on=today, at=moment)
            _dated(charts.latest_snapshot(season.id, "final").id, moment)
            db.session.commit()


def _bogota(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), BOGOTA).astimezone(UTC)


def _dated(snapshot_id: int, moment: datetime) -> None:
    """A replayed snapshot carries the time the scheduler would have written it (never the future)."""
    db.session.execute(update(ChartSnapshot).where(ChartSnapshot.id == snapshot_id).values(computed_at=moment))
    db.session.execute(update(BadgeAward).where(BadgeAward.snapshot_id == snapshot_id).values(awarded_at=moment))


def _analyze() -> None:
    """Fresh planner statistics after a bulk load (both databases plan better with them).

    On PostgreSQL, VACUUM also sets the visibility map of the freshly copied pages, so
    counts and the chart/coverage scans can read the covering indexes alone (index-only
    scans) instead of waiting for autovacuum to get round to it.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
        return
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def cancel_text(state: str, carried_to: int | None, year: int) -> str | None:
    if state != "cancelled":
        return None
    if carried_to is not None:
        return f"Trasladada a la temporada {year + 1} (canción {carried_to})."
    return "La alcaldía solicitó aplazar la asistencia."


def _pick_state(
    rng: random.Random, due: date, planned_start: date, today: date, punctual: float, past: bool, carry: bool = True
):
    """A realistic state and delivery date for a song due on ``due``, as it stands ``today``.

    Past seasons are settled: delivered and reviewed, cancelled, or carried over to the
    next season. In this season, a few songs are late (never more than ~30 days), and
    deliveries of the last two weeks wait in the review queue. Nothing is dated after today.
    """
    if due > today:
        roll = rng.random()
        if roll < 0.45 or planned_start > today:
            return "planned", None
        if roll < 0.83:
            return "in_progress", None
        if roll < 0.88:
            return "cancelled", None
        delivered = max(planned_start, min(today, due - timedelta(days=rng.randint(0, 10))))
        return ("delivered" if delivered > today - timedelta(days=14) else "reviewed"), delivered
    roll = rng.random()
    if past:
        if roll < 0.05:
            return "cancelled", None
        if roll < 0.09 and carry:
            return "carried_over", None
    else:
        if roll < 0.04:
            return "cancelled", None
        if roll < 0.16 and due >= today - timedelta(days=30):
            return rng.choice(("planned", "in_progress")), None  # late, undelivered, for a few weeks at most
    if rng.random() < punctual:
        delivered = due - timedelta(days=rng.randint(0, 12))
    else:
        delivered = due + timedelta(days=rng.randint(1, 25))
    delivered = max(planned_start, min(delivered, today))
    roll = rng.random()
    if not past and delivered > today - timedelta(days=40) and roll < 0.06:
        return "returned", delivered
    if delivered > today - timedelta(days=14) and roll < 0.6:
        return "delivered", delivered
    return "reviewed", delivered


def _reset_sequences() -> None:
    """PostgreSQL: explicit ids were inserted, move the sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("songs", "reviews", "surveys", "evidence"):
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))")
        )
