"""Bulk import of songs (DESIGN.md §8) — implemented in issue 4."""

from __future__ import annotations

from app.domain.reference_import import ImportReport, RowError


def import_songs_path(path: str, actor_email: str | None = None) -> ImportReport:
    report = ImportReport()
    report.errors.append(RowError(1, "La importación aún no está disponible."))
    return report
