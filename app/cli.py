"""Operator commands: ``flask --app wsgi seed|import|charts|users|db …`` (DESIGN.md §8)."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.models import Role
from app.transaction import committing, keep_writes


class CommittingGroup(AppGroup):
    """A ``flask`` command group whose every command is one transaction: it commits when
    the command returns and rolls back when it fails (app/transaction.py). Commands call
    the domain and never commit themselves; add new groups with this class."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda fn: register(committing(fn))


seed_cli = CommittingGroup("seed", help="Cargar datos de referencia y de demostración.")
import_cli = CommittingGroup("import", help="Importar canciones, categorías e indicadores.")
charts_cli = CommittingGroup("charts", help="Listas (ranking): recomputar instantáneas.")
users_cli = CommittingGroup("users", help="Gestión de usuarios.")
seasons_cli = CommittingGroup("seasons", help="Temporadas: abrir la siguiente, avanzar estados, cerrar.")


@seed_cli.command("reference")
def seed_reference() -> None:
    """Departments, municipalities, PDET, labels and albums (idempotent)."""
    from seeds.reference import load_reference

    counts = load_reference()
    click.echo("Datos de referencia cargados: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@seed_cli.command("demo")
@click.option("--songs", default=5000, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--seed", "seed_value", default=42, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Only when the database has no songs yet.")
@click.option(
    "--history-days",
    default=14,
    show_default=True,
    type=click.IntRange(0, 366),
    help="Daily closing snapshots replayed for the last days (0: none).",
)
def seed_demo_command(songs: int, seed_value: int, if_empty: bool, history_days: int) -> None:
    """Deterministic demo data for the given seed."""
    from sqlalchemy import func, select

    from app.models import Song
    from seeds.demo import seed_demo

    if if_empty and db.session.scalar(select(func.count(Song.id))):
        click.echo("La base ya tiene canciones: no se cargó la demostración.")
        return
    started = time.perf_counter()
    result = seed_demo(songs=songs, seed=seed_value, history_days=history_days)
    click.echo(f"Demostración cargada: {result['songs']} canciones en {time.perf_counter() - started:.1f} s.")


@import_cli.command("songs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "as_email", default=None, help="E-mail of the user the import is recorded for.")
def import_songs_command(path: str, as_email: str | None) -> None:
    """Import songs from CSV or XLSX: all rows or none; every bad row is reported."""
    from app.domain import imports

    report = imports.import_songs_path(path, actor_email=as_email)
    if report.errors:
        imports.record_failure(report, path, None)
        keep_writes()  # the failed import is recorded although the command exits with 1
        for error in report.errors:
            click.echo(f"línea {error.line}: {error.message}", err=True)
        click.echo(f"{len(report.errors)} fila(s) con errores: no se importó nada.", err=True)
        sys.exit(1)
    click.echo(f"Importadas {report.created} canciones.")


@import_cli.command("categories")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", type=click.IntRange(1990, 2100), default=None, help="Year (vigencia) when the file has none.")
def import_categories_command(path: str, year: int | None) -> None:
    """Official municipal categories by year (Ley 617 de 2000) and DNP capacity groups.

    CSV municipality_code,year,category[,capacity_group,source] or the XLSX exactly as
    DNP or the Contaduría publish it. All rows or none; only the file's years change.
    """
    from app.domain import reference_import

    report = reference_import.import_categories_path(path, year=year)
    if report.errors:
        for error in report.errors:
            click.echo(f"línea {error.line}: {error.message}", err=True)
        click.echo(f"{len(report.errors)} fila(s) con errores: no se importó nada.", err=True)
        sys.exit(1)
    years = ", ".join(str(y) for y in report.years)
    click.echo(
        f"Categorías importadas: {report.created} filas de {years} ({report.changed} cambios, "
        f"{report.skipped} sin categoría); canciones recalculadas: {report.recomputed_songs}."
        + (f" IDF: {report.idf_values} valores ({report.idf_changed} cambios)." if report.idf_values else "")
    )


@import_cli.command("indicators")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_indicators_command(path: str) -> None:
    """Municipal indicators: CSV municipality_code,indicator,year,value (all rows or none)."""
    from app.domain import impact

    report = impact.import_indicators_path(path)
    if report.errors:
        for error in report.errors:
            click.echo(f"línea {error.line}: {error.message}", err=True)
        click.echo(f"{len(report.errors)} fila(s) con errores: no se importó nada.", err=True)
        sys.exit(1)
    click.echo(f"Indicadores importados: {report.created}.")


@charts_cli.command("recompute")
@click.option("--season", "year", default=None, help="Season year (default: every season not closed).")
def charts_recompute(year: str | None) -> None:
    """Write a new chart snapshot (set-based, in one transaction)."""
    from app.domain import charts

    results = charts.recompute_from_cli(year)
    for line in results:
        click.echo(line)


@seasons_cli.command("close")
@click.argument("year")
def seasons_close(year: str) -> None:
    """Close a season whose year has ended: final standings with the cut-off at 31 December, frozen."""
    from app.domain import seasons
    from app.domain.errors import DomainError

    try:
        lines = seasons.close_from_cli(year)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    for line in lines:
        click.echo(line)


@seasons_cli.command("advance")
def seasons_advance() -> None:
    """The daily season job: open next year's season when due, move states on, close past seasons."""
    from app.domain import seasons

    lines = seasons.advance_under_lease()
    if lines is None:
        click.echo("Otro proceso está avanzando las temporadas en este momento.")
        return
    for line in lines or ["Sin cambios en las temporadas."]:
        click.echo(line)


def _label_ids(codes) -> list[int]:
    from sqlalchemy import select

    from app.models import Label

    ids = []
    for code in codes or ():
        label_id = db.session.scalar(select(Label.id).filter_by(code=code.strip().upper()))
        if label_id is None:
            raise click.ClickException(f"No existe la disquera {code}.")
        ids.append(label_id)
    return ids


ROLE_CHOICES = click.Choice([r.value for r in Role])


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=ROLE_CHOICES)
@click.option("--label", "label_code", default=None, help="Label code for territorial users (e.g. DT01).")
@click.option(
    "--home-label", "home_labels", multiple=True, help="A coordinator's home directorate (repeat for several labels)."
)
@click.password_option()
def users_create(email: str, name: str, role: str, label_code: str | None, home_labels, password: str) -> None:
    """Create a user."""
    from app.domain.accounts import create_user
    from app.domain.errors import DomainError

    label_id = _label_ids([label_code])[0] if label_code else None
    try:
        user = create_user(email, name, password, role, label_id, home_label_ids=_label_ids(home_labels))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    home = ", ".join(label.code for label in user.home_labels)
    click.echo(f"Usuario creado: {user.email} ({user.role}{'; origen ' + home if home else ''}).")


@users_cli.command("edit")
@click.argument("email")
@click.option("--name", default=None)
@click.option("--role", default=None, type=ROLE_CHOICES)
@click.option("--label", "label_code", default=None, help="Label code for territorial users.")
@click.option("--home-label", "home_labels", multiple=True, help="Replace the home directorate (repeat for several).")
@click.option("--national", is_flag=True, help="Clear the home directorate (the national office).")
def users_edit(email: str, name, role, label_code, home_labels, national: bool) -> None:
    """Change a user's name, role, label or home directorate (audited)."""
    from sqlalchemy import select

    from app.domain.accounts import normalise_email, update_user
    from app.domain.errors import DomainError
    from app.models import User

    user = db.session.scalar(select(User).filter_by(email=normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No existe el usuario {email}.")
    if national and home_labels:
        raise click.ClickException("Use --home-label o --national, no ambos.")
    home = [] if national else (_label_ids(home_labels) if home_labels else None)
    try:
        changes = update_user(
            user,
            name=name,
            role=role,
            label_id=_label_ids([label_code])[0] if label_code else None,
            home_label_ids=home,
            actor=None,
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Usuario actualizado: {user.email} ({', '.join(sorted(changes)) or 'sin cambios'}).")


privacy_cli = CommittingGroup("privacy", help="Datos personales (Ley 1581 de 2012): retención y anonimización.")


@privacy_cli.command("anonymise")
@click.option(
    "--days", type=click.IntRange(0, 36500), default=None, help="Retention in days (default SURVEY_RETENTION_DAYS)."
)
def privacy_anonymise(days: int | None) -> None:
    """Blank survey respondents' name and position older than the retention period (issue 9)."""
    from app.domain.privacy import anonymise_surveys

    count = anonymise_surveys(days)
    click.echo(f"Encuestas anonimizadas: {count}.")


notifications_cli = CommittingGroup("notifications", help="Avisos en la aplicación y por correo (issue 18).")


@notifications_cli.command("send")
def notifications_send() -> None:
    """Collect new notifications and mail the queued ones (under the database lease)."""
    from app.domain import notifications

    result = notifications.run()
    if result is None:
        click.echo("Otro proceso está enviando las notificaciones; no se hizo nada.")
        return
    if not notifications.mail_configured():
        click.echo(f"Notificaciones nuevas: {result['new']}. Correo sin configurar (MAIL_SERVER): no se envió nada.")
        return
    click.echo(
        f"Notificaciones nuevas: {result['new']}; correos enviados: {result['sent']}, "
        f"fallidos: {result['failed']}, en cola por servidor no disponible: {result['queued']}."
    )
    if result["queued"]:
        keep_writes()  # the retry bookkeeping is kept although the command fails (cron sees it)
        sys.exit(1)


@notifications_cli.command("purge")
@click.option(
    "--days",
    type=click.IntRange(1, 36500),
    default=None,
    help="Retention in days (default NOTIFICATIONS_RETENTION_DAYS).",
)
def notifications_purge(days: int | None) -> None:
    """Delete the notification log older than the retention period (docs/PRIVACY.md)."""
    from app.domain import notifications

    count = notifications.purge(days=days)
    click.echo(f"Notificaciones borradas (más de {max(days or 0, notifications.retention_days())} días): {count}.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def db_backup(path: str, force: bool) -> None:
    """Consistent copy of the SQLite database to PATH (online backup API); PostgreSQL: use pg_dump."""
    from app.domain.backup import BackupError, backup_sqlite

    try:
        counts = backup_sqlite(db.engine.url.render_as_string(hide_password=False), path, overwrite=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Copia escrita en {path}: {len(counts)} tablas, {sum(counts.values())} filas.")


def init_app(app: Flask) -> None:
    for group in (seed_cli, import_cli, charts_cli, users_cli, seasons_cli, privacy_cli, notifications_cli):
        app.cli.add_command(group)
    # `db backup` joins Flask-Migrate's `db` group (db upgrade, db migrate …).
    from flask_migrate.cli import db as migrate_db_group

    migrate_db_group.add_command(db_backup)
