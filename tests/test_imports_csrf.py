"""The import and catalogue forms need the CSRF token (DESIGN.md §7)."""

from __future__ import annotations

import io

import pytest

from tests.test_imports import csv_bytes, row


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_import_and_catalogue_posts_without_token_are_refused(client, auth, world):
    auth.login(world.coordinator)
    preview = client.post(
        "/songs/import/preview",
        data={"file": (io.BytesIO(csv_bytes([row()])), "x.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 400
    assert client.post("/songs/import/confirm").status_code == 400
    assert client.post("/admin/playlists?season=2024", data={f"t_{world.label_a.id}_0": "3"}).status_code == 400
    auth.login(world.admin)
    assert client.post("/admin/albums", data={"code": "X", "name": "X", "weight": "1"}).status_code == 400
