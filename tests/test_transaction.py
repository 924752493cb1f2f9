"""One commit per request and per CLI command (app/transaction.py): the domain flushes,
the end of the request decides. Each case writes an audit event and checks, after a
rollback of the test's own session, whether the request committed it."""

from __future__ import annotations

import sys

import click
from flask import abort
from sqlalchemy import func, select

from app.cli import CommittingGroup
from app.domain import audit
from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.models import AuditEvent
from app.transaction import keep_writes


def _write(action: str) -> None:
    audit.record(action, "test", None, actor_id=None)
    db.session.flush()


def _kept(action: str) -> bool:
    db.session.rollback()  # what is still there was committed
    return bool(db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)))


def _routes(app) -> None:
    @app.get("/_t/ok")
    def ok():
        _write("t_ok")
        return "ok"

    @app.get("/_t/caught")
    def caught():
        _write("t_caught")
        try:
            raise ValidationFailed("no")
        except ValidationFailed:
            return "shown as a flash, status 200"

    @app.get("/_t/refused")
    def refused():
        _write("t_refused")
        raise Conflict("no")

    @app.get("/_t/error-status")
    def error_status():
        _write("t_error_status")
        return "bad", 422

    @app.get("/_t/kept")
    def kept():
        _write("t_kept")
        keep_writes()
        return "counted", 401

    @app.get("/_t/abort")
    def aborted():
        _write("t_abort")
        abort(403)

    @app.get("/_t/crash")
    def crash():
        _write("t_crash")
        raise RuntimeError("boom")


def test_a_request_commits_once_at_its_end(app, client):
    _routes(app)
    assert client.get("/_t/ok").status_code == 200
    assert _kept("t_ok")


def test_a_refused_rule_writes_nothing_even_when_the_view_catches_it(app, client):
    _routes(app)
    assert client.get("/_t/caught").status_code == 200
    assert not _kept("t_caught")
    assert client.get("/_t/refused").status_code == 409
    assert not _kept("t_refused")
    # the flag is per request: the next good request commits again
    assert client.get("/_t/ok").status_code == 200
    assert _kept("t_ok")


def test_error_answers_roll_back_unless_the_view_keeps_its_writes(app, client):
    _routes(app)
    assert client.get("/_t/error-status").status_code == 422
    assert not _kept("t_error_status")
    assert client.get("/_t/abort").status_code == 403
    assert not _kept("t_abort")
    assert client.get("/_t/crash").status_code == 500
    assert not _kept("t_crash")
    assert client.get("/_t/kept").status_code == 401
    assert _kept("t_kept")


def test_a_failed_sign_in_is_audited_although_it_answers_401(app, client, world):
    response = client.post("/login", data={"email": "ta@test.co", "password": "wrong password"})
    assert response.status_code == 401
    assert _kept("login_failed")


def test_a_cli_command_is_one_transaction(app):
    group = CommittingGroup("t", help="test")

    @group.command("good")
    def good():
        _write("t_cli_good")
        click.echo("done")

    @group.command("bad")
    @click.option("--code", type=int, default=1)
    def bad(code: int):
        _write("t_cli_bad")
        sys.exit(code)

    app.cli.add_command(group)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["t", "good"]).exit_code == 0
    assert _kept("t_cli_good")
    assert runner.invoke(args=["t", "bad", "--code", "1"]).exit_code == 1
    assert not _kept("t_cli_bad")
