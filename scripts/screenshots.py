"""Screenshots of any checkout of Sinfonía as a territorial user sees it (docs/screenshots/).

    .venv/bin/python scripts/screenshots.py <checkout> <out dir> name:WIDTHxHEIGHT:/path ...

The checkout (this one, or an older commit from ``git worktree add``) runs in this process
on a temporary SQLite database with its own schema, seeded with the reference data and the
demo (300 songs, seed 7), and Debian's Chromium photographs the first screen of each path
after signing in as territorial1@sinfonia.demo.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading


def main(repo: str, out: str, shots: list[str]) -> None:
    sys.path.insert(0, repo)
    os.chdir(repo)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db
    from config import TestingConfig

    base = tempfile.mkdtemp(prefix="sinfonia-shots-")
    app = create_app(
        {
            "CONFIG_CLASS": TestingConfig,
            "TESTING": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base}/shots.db",
            "UPLOAD_FOLDER": f"{base}/uploads",
            "DEMO_PASSWORD": "sinfonia-demo",
        }
    )
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    for args in (["seed", "reference"], ["seed", "demo", "--songs", "300", "--seed", "7"], ["charts", "recompute"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        for spec in shots:
            name, size, path = spec.split(":", 2)
            width, height = map(int, size.split("x"))
            context = browser.new_context(
                base_url=f"http://127.0.0.1:{httpd.server_port}",
                viewport={"width": width, "height": height},
                locale="es-CO",
            )
            page = context.new_page()
            page.goto("/login")
            page.fill("input[name=email]", "territorial1@sinfonia.demo")
            page.fill("input[name=password]", "sinfonia-demo")
            with page.expect_navigation():
                page.locator("form button[type=submit]").last.click()
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=os.path.join(out, f"{name}.png"), full_page=False)
            print(f"{name}.png ← {path} at {width}×{height}")
            context.close()
        browser.close()
    httpd.shutdown()


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:])
