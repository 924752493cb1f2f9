"""Strategy simulation helpers (issue 14; reused by tests/test_strategy_collusion.py).

Two labels do the same real work: HONEST records it as it happened, GAMING uses a
lever (volume of weak songs, an import without evidence, a backdated delivery, a
device clock set back for an offline delivery, a late cancellation, far-off or weekend due dates, a re-delivery dated before its
return …). Everything goes through the public JSON API and the song import, as a
clever team would, with a controllable Bogotá "today" (``Sim.on(day)``). When the
product refuses a gaming action (4xx), the helper records that and the team does
the honest thing instead (``attempt``/``fallback``), so the comparison is always
"the best the gaming team could get" against its honest twin.

Usage::

    sim = Sim(client, auth, monkeypatch)          # fresh twin world, season 2024
    song = sim.plan("gaming", due=date(2024, 5, 15))
    sim.deliver(song, date(2024, 5, 14))          # start, evidence, deliver on that day
    sim.review(song, (4, 4, 4, 4))
    assert sim.index("gaming") <= sim.index("honest") + TOLERANCE

Dates: season 2024; every song starts 01/02/2024; "today" moves forward only.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from app.domain import charts
from app.domain.accounts import hash_password
from app.domain.calendar import BOGOTA
from app.extensions import db
from app.models import Album, Artist, Department, Label, Municipality, Playlist, Season, User

TOLERANCE = 0.5  # index points: a gaming label may never end up further ahead than this
START = date(2024, 2, 1)
DUE = date(2024, 5, 15)  # Wednesday, a business day
PDF = b"%PDF-1.7\n%%EOF\n"
PASSWORD = "clave-segura-2024"
TARGET = 10


@dataclass
class Team:
    key: str
    label: Label
    artist: Artist
    user: User
    municipality: Municipality
    refused: list[str] = field(default_factory=list)  # gaming actions the product refused


class ClockPatch:
    """One controllable Bogotá date for the domain (calendar.today and lifecycle.today)."""

    def __init__(self, monkeypatch, day: date):
        self.day = day
        import app.domain.calendar as calendar
        import app.domain.lifecycle as lifecycle

        monkeypatch.setattr(calendar, "today", lambda: self.day, raising=False)
        monkeypatch.setattr(lifecycle, "today", lambda: self.day, raising=False)


class Sim:
    """A twin world (labels HONEST and GAMING, identical territory and target) and its actions."""

    def __init__(self, client, auth, monkeypatch, *, target: int | None = TARGET):
        self.client, self.auth = client, auth
        self.clock = ClockPatch(monkeypatch, START)
        self.season = Season(year=2024, starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31))
        self.album = Album(code="INN", name="Innovación pública", weight=1.0)
        db.session.add_all([self.season, self.album])
        pw = hash_password(PASSWORD)
        self.teams: dict[str, Team] = {}
        for n, key in enumerate(("honest", "gaming"), start=1):
            label = Label(code=f"DT{n:02d}", name=f"Dirección Territorial {key}", city=key)
            db.session.add(label)
            db.session.flush()
            dep = Department(code=f"{n:02d}", name=f"Departamento {key}", label_id=label.id)
            db.session.add(dep)
            db.session.flush()
            mun = Municipality(code=f"{n:02d}001", name=f"Municipio {key}", department_id=dep.id, category="1")
            artist = Artist(label_id=label.id, name=f"Equipo {key}")
            user = User(
                email=f"{key}@test.co",
                name=f"Territorial {key}",
                role="territorial",
                label_id=label.id,
                password_hash=pw,
            )
            db.session.add_all([mun, artist, user])
            db.session.flush()
            artist.members.append(user)
            if target:
                db.session.add(Playlist(season_id=self.season.id, label_id=label.id, album_id=None, target=target))
            self.teams[key] = Team(key, label, artist, user, mun)
        self.coordinator = User(email="coord@test.co", name="Coordinación", role="coordinator", password_hash=pw)
        self.coordinator2 = User(email="coord2@test.co", name="Coordinación 2", role="coordinator", password_hash=pw)
        db.session.add_all([self.coordinator, self.coordinator2])
        db.session.commit()

    # ------------------------------------------------------------------ clock and actors

    def on(self, day: date) -> Sim:
        """Move "today" (Bogotá) to ``day``; never backwards."""
        assert day >= self.clock.day, f"time runs forward: {day} < {self.clock.day}"
        self.clock.day = day
        return self

    def as_user(self, user: User) -> Any:
        self.auth.login(user)
        return self.client

    def _team_client(self, song: dict) -> Any:
        team = next(t for t in self.teams.values() if t.label.id == song["label_id"])
        return self.as_user(team.user)

    def _ok(self, response, what: str) -> dict:
        assert response.status_code < 300, (what, response.status_code, response.get_json())
        return response.get_json()

    # ------------------------------------------------------------------ song actions (JSON API)

    def plan_response(self, key: str, *, due: date = DUE, start: date = START, scope: str | None = None):
        team = self.teams[key]
        body = {
            "artist_id": team.artist.id,
            "album_id": self.album.id,
            "municipality_id": team.municipality.id,
            "scope": scope or "Acompañamiento a la formulación del plan de desarrollo municipal",
            "planned_start": start.isoformat(),
            "due_date": due.isoformat(),
        }
        return self.as_user(team.user).post("/api/v1/songs", json=body)

    def plan(self, key: str, *, due: date = DUE, start: date = START, scope: str | None = None) -> dict:
        return self._ok(self.plan_response(key, due=due, start=start, scope=scope), "plan")["song"]

    def start(self, song: dict) -> dict:
        client = self._team_client(song)
        return self._ok(
            client.post(
                f"/api/v1/songs/{song['id']}/transitions", json={"to": "in_progress", "diagnosis": "Diagnóstico"}
            ),
            "start",
        )

    def attach_evidence(self, song: dict, content: bytes = PDF) -> None:
        client = self._team_client(song)
        self._ok(
            client.post(
                f"/api/v1/songs/{song['id']}/evidence",
                data={"file": (io.BytesIO(content), "acta.pdf")},
                content_type="multipart/form-data",
            ),
            "evidence",
        )

    def deliver_response(self, song: dict, declared: date, *, product: str = "Plan de acción", beneficiaries: int = 12):
        client = self._team_client(song)
        return client.post(
            f"/api/v1/songs/{song['id']}/transitions",
            json={
                "to": "delivered",
                "delivered_on": declared.isoformat(),
                "product": product,
                "beneficiaries": beneficiaries,
            },
        )

    def deliver(self, song: dict, day: date, *, declared: date | None = None, evidence: bool = True, **kw) -> dict:
        """Record on ``day`` (today) a delivery declared as ``declared`` (default: ``day``).

        A planned song is started first and gets its evidence. When the declared date is
        refused, the team records the true date (and the refusal is noted on the team).
        """
        self.on(day)
        if song["state"] == "planned":
            song = self.start(song)
        if evidence and song["state"] == "in_progress":
            self.attach_evidence(song)
        if declared is not None and declared != day:
            response = self.deliver_response(song, declared, **kw)
            if response.status_code < 300:
                return response.get_json()
            self._refused(song, f"deliver declared {declared} on {day}: {response.status_code}")
        return self._ok(self.deliver_response(song, day, **kw), "deliver")

    def deliver_offline_response(self, song: dict, recorded: date, declared: date):
        """Sync a delivery recorded offline: the device says it was recorded on ``recorded``
        (10:00 in Bogotá, by its clock) and declares ``declared`` (issue 22)."""
        fresh = self.song(song["id"])  # (read as the coordinator: before the team signs in)
        client = self._team_client(song)
        body = {
            "draft_id": str(uuid.uuid4()),
            "recorded_at": datetime.combine(recorded, time(10, 0), tzinfo=BOGOTA).isoformat(),
            "version": str(fresh["version"]),
            "delivered_on": declared.isoformat(),
            "product": "Plan de acción",
            "beneficiaries": "12",
            "file": [(io.BytesIO(PDF), "acta.pdf")],
        }
        return client.post(
            f"/api/v1/songs/{song['id']}/offline-deliveries", data=body, content_type="multipart/form-data"
        )

    def deliver_offline(self, song: dict, synced: date, *, done: date, recorded: date | None = None) -> dict:
        """Work done on ``done``, recorded offline and synced on ``synced``. An honest device
        records ``done``; a gaming one sets its clock back to ``recorded`` and declares that
        day. When the product refuses it, the team syncs the truth (and the refusal is noted)."""
        self.on(synced)
        if song["state"] == "planned":
            song = self.start(song)
        if recorded is not None and recorded != done:
            response = self.deliver_offline_response(song, recorded, recorded)
            if response.status_code < 300:
                return response.get_json()["song"]
            self._refused(song, f"offline delivery recorded {recorded} synced {synced}: {response.status_code}")
        return self._ok(self.deliver_offline_response(song, done, done), "offline delivery")["song"]

    def review(self, song: dict, scores: tuple[int, int, int, int], *, reviewer: User | None = None) -> dict:
        body = dict(zip(("pertinence", "rigour", "usefulness", "evidence"), scores, strict=True))
        client = self.as_user(reviewer or self._assigned_reviewer(song))
        self._ok(client.post(f"/api/v1/songs/{song['id']}/review", json=body), "review")
        return self.song(song["id"])

    def _assigned_reviewer(self, song: dict) -> User:
        """Deliveries are assigned in turn (issue 15): the assigned coordinator reviews."""
        from app.models import Song

        row = db.session.get(Song, song["id"])
        assigned = db.session.get(User, row.assigned_reviewer_id) if row and row.assigned_reviewer_id else None
        return assigned or self.coordinator

    def send_back(self, song: dict, day: date, comment: str = "Falta el acta firmada") -> dict:
        self.on(day)
        client = self.as_user(self._assigned_reviewer(song))
        return self._ok(
            client.post(f"/api/v1/songs/{song['id']}/transitions", json={"to": "returned", "comment": comment}),
            "return",
        )

    def cancel(self, song: dict, day: date, reason: str = "La alcaldía no respondió") -> dict:
        self.on(day)
        client = self._team_client(song)
        return self._ok(
            client.post(f"/api/v1/songs/{song['id']}/transitions", json={"to": "cancelled", "reason": reason}),
            "cancel",
        )

    def song(self, song_id: int) -> dict:
        return self._ok(self.as_user(self.coordinator).get(f"/api/v1/songs/{song_id}"), "get")

    def _refused(self, song: dict, what: str) -> None:
        team = next(t for t in self.teams.values() if t.label.id == song["label_id"])
        team.refused.append(what)

    def attempt_plan(self, key: str, *, due: date, fallback_due: date = DUE, start: date = START) -> dict:
        """Plan with the gaming due date; if refused, with the honest one."""
        response = self.plan_response(key, due=due, start=start)
        if response.status_code < 300:
            return response.get_json()["song"]
        self.teams[key].refused.append(f"plan due {due}: {response.status_code}")
        return self.plan(key, due=fallback_due, start=start)

    # ------------------------------------------------------------------ import (CSV through the domain, as the UI/CLI)

    def import_rows(self, key: str, rows: list[dict[str, Any]], day: date | None = None):
        from app.domain.imports import COLUMNS, import_songs

        if day is not None:
            self.on(day)
        team = self.teams[key]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    "label_code": team.label.code,
                    "artist": team.artist.name,
                    "album_code": self.album.code,
                    "municipality_code": team.municipality.code,
                    "scope": "Asistencia",
                    "planned_start": START.isoformat(),
                    "due_date": DUE.isoformat(),
                    **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()},
                }
            )
        report = import_songs(buffer.getvalue().encode(), "canciones.csv", team.user)
        if not report.ok:
            team.refused.append(f"import: {[str(e) for e in report.errors[:3]]}")
        return report

    # ------------------------------------------------------------------ board (JSON API)

    def board(self, as_of: date | None = None) -> dict[str, dict]:
        """Recompute (as of ``as_of``, default today) and read the label board through the API."""
        as_of = as_of or self.clock.day
        charts.recompute_charts(self.season, as_of=as_of)
        body = self._ok(self.as_user(self.coordinator).get("/api/v1/charts/labels?season=2024"), "board")
        by_code = {item["label"]["code"]: item for item in body["items"]}
        return {key: by_code[team.label.code] for key, team in self.teams.items()}

    def index(self, key: str, as_of: date | None = None) -> float:
        return self.board(as_of)[key]["index"]

    def gap(self, as_of: date | None = None) -> float:
        """GAMING's index minus HONEST's (must stay ≤ TOLERANCE)."""
        board = self.board(as_of)
        return board["gaming"]["index"] - board["honest"]["index"]

    def badges(self, key: str, as_of: date | None = None) -> set[str]:
        return {b["code"] for b in self.board(as_of)[key]["badges"]}

    # ------------------------------------------------------------------ the shared base: the same real work

    def both(self, action, *args, **kwargs) -> dict[str, Any]:
        return {key: action(key, *args, **kwargs) for key in self.teams}


def honest_base(
    sim: Sim, *, on_time: int = 6, late: int = 2, on_due_eve=None, after_late=None
) -> dict[str, list[dict]]:
    """The same real work for both teams: ``on_time + late`` songs planned 01/02 and due Wed 15/05;
    ``on_time`` delivered Tue 14/05, ``late`` delivered Wed 22/05 (5 business days late, T = 0.75);
    all reviewed 4-4-4-4 (R = 0.75) on Fri 24/05.

    ``on_due_eve(sim)`` runs on 14/05 after the on-time deliveries and ``after_late(sim)`` on 22/05
    after the late ones (levers that need those days); the clock only moves forward.
    """
    plans = {key: [sim.plan(key) for _ in range(on_time + late)] for key in sim.teams}
    done: dict[str, list[dict]] = {key: [] for key in sim.teams}
    for key, songs in plans.items():
        done[key] += [sim.deliver(s, date(2024, 5, 14)) for s in songs[:on_time]]
    if on_due_eve:
        on_due_eve(sim)
    for key, songs in plans.items():
        done[key] += [sim.deliver(s, date(2024, 5, 22)) for s in songs[on_time:]]
    if after_late:
        after_late(sim)
    sim.on(date(2024, 5, 24))
    for key in sim.teams:
        done[key] = [sim.review(s, (4, 4, 4, 4)) for s in done[key]]
    return done
